"""Choose the learned coder's design by a rule whose precision holds: V and the pool counted together, Wilson bound.

Fourth protocol of issue 19 (decided by the lead, 1 December 2026). Why: under the third protocol
(``bench/realtext_choice.py``) the design « apprentissage » was chosen among 984 candidates with a
dimension precision of 0.82 on the validation set V (74 texts) — and made 0.57 on the test set, on 14
proposals. The best of many candidates, judged on a dozen proposals, is an optimistic estimate
(winner's curse). This rule judges each candidate on many more proposals — V and the real-text pool out of
fold counted together — and asks the *lower bound* of the precision's confidence interval, not the point
estimate, to reach the target.

Roles of the sets (unchanged):

* ``tests/data/devset/`` (« V », 74 paragraphs of other towns): VALIDATION set. It never trains and never
  sets a threshold by itself (its labels are read only to count).
* ``training/*/`` (« P », the real-text training pool: ``autres-villes-1`` to ``-3``, 250 texts of 180
  towns; ``-4`` and ``-5`` join when the lead commits them, about 430 texts): TRAINING material, rows of
  the internal cross-validation grouped by town.
* the TEST set: never seen here, never evaluated here; the lead measures it once, after this choice.

This rule was written and committed before any candidate of this protocol was computed.

Candidates
----------
A *design* is fitted once per fold; its *decision settings* are applied to the stored scores
(``SegmentCoder.with_decisions``), never refitted. Every design has the référentiel as rows of the
internal cross-validation (weight 1, grouped by blocks) and the metadata features, as « apprentissage »
has; they differ by (``DESIGN_GRID``, 6 designs, in this order):

* the weight of the real-text pool's rows: 1, 3, 6 (corpus weight 1, C = 10);
* the weight of the corpus's rows relative to the real text (the corpus is synthetic, written to fit
  the codebook: a smaller weight may transfer better): 0.3, with the pool at 1 and at 3 (C = 10);
* the regularisation: C = 3 with the pool at 3 (corpus weight 1).

The first design is the current default's (« apprentissage »); its current decisions (dim +1, codes −1,
rien +1) are among its candidates.

Decision settings (``DECISION_GRID``, the same for every design): ``dimension_shift`` in DIMENSION_SHIFTS
× ``code_shift`` in CODE_SHIFTS × ``abstain_shift`` in ABSTAIN_SHIFTS (thresholds chosen on the training
data's out-of-fold scores, moved on the logit scale); and ``realtext_precision`` in REALTEXT_TARGETS ×
``code_shift`` in REALTEXT_CODE_SHIFTS: the dimension thresholds chosen on the pooled real-text
out-of-fold rows (the pool and the référentiel, never V) for that target precision. ``balise_level``
stays off.

If the run on the full pool (about 430 texts) cannot finish in 20 minutes on this machine (measured on
the current pool first), designs are dropped from the END of ``DESIGN_GRID`` until it fits — decided on
the timing alone, before any figure of the run is read.

Measures of a candidate
-----------------------
* **V**: the model trained as shipped (whole corpus, codebook, référentiel, pool) scores V's 74 texts.
* **P, out of fold**: each pool text scored by the shipped model's internal cross-validation (grouped
  folds: corpus documents, référentiel blocks, pool towns: a model that never saw its town) and decided
  by thresholds chosen again WITHOUT the rows of its inner fold (``SegmentCoder.without_rows``).
* **LOTO**: the corpus, one territory left out (4 fits; the pool and the référentiel join every training
  side, never a test side); only corpus segments are tested.
* **Pooled**: V and P counted together (``analyse.coding.selection``): one count of proposals, hits and
  labels at dimension level over V's and P's texts (a dimension is proposed when one of its codes or its
  dimension head fires: ``union_dimensions``), precision = hits / proposals, recall = hits / labels,
  micro-F1 = 2 hits / (proposals + labels); false alarms = the share of the pooled texts whose reference
  carries no dimension on which a code or a dimension head fires. The same figures are also given for V
  and P separately.
* **Wilson bound**: the lower bound of the one-sided 95 % Wilson score interval of the pooled dimension
  precision (hits out of proposals; 0 when there is no proposal).

Selection rule
--------------
1. Eligible, all of:
   a. Wilson lower bound of the pooled dimension precision >= 0.70;
   b. pooled false-alarm rate (with the dimension heads) <= 0.15;
   c. V dimension precision >= 0.70 AND P (out of fold) dimension precision >= 0.70 (point estimates);
   d. corpus leave-one-territory-out dimension precision >= 0.70.
2. Chosen: the best pooled dimension micro-F1 (rounded to 3 decimals). Ties go to the best P dimension
   micro-F1 (rounded to 3 decimals), then to the smallest total |shift| (an infinite shift counts 10),
   then to the candidate's name.
3. If no candidate is eligible: said so, and the current default (« apprentissage ») stays. No fallback.

The chosen candidate becomes the default design (``analyse.coding.autocode.DESIGNS`` /
``DEFAULT_DESIGN``) if it differs from the current one, the former default kept as a named design.
Every candidate's row is printed and kept (``--json``); the table is ``bench/robust_choice-table.md``.
"""

from __future__ import annotations

import math

RULE = {"min_pooled_precision_bound": 0.70, "confidence": 0.95, "max_pooled_false_alarm": 0.15,
        "min_precision": 0.70, "min_loto_precision": 0.70, "decimals": 3, "infinite_shift": 10.0}
# (corpus weight, pool weight, C), in the order designs would be dropped from the end (see the docstring)
DESIGN_GRID = [{"corpus_weight": 1.0, "weight": 1.0, "C": 10.0},
               {"corpus_weight": 1.0, "weight": 3.0, "C": 10.0},
               {"corpus_weight": 1.0, "weight": 6.0, "C": 10.0},
               {"corpus_weight": 0.3, "weight": 1.0, "C": 10.0},
               {"corpus_weight": 0.3, "weight": 3.0, "C": 10.0},
               {"corpus_weight": 1.0, "weight": 3.0, "C": 3.0}]
DIMENSION_SHIFTS = (-2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0)
CODE_SHIFTS = (-1.0, 0.0, 1.0, 2.0)
ABSTAIN_SHIFTS = (0.0, 1.0, float("inf"))
REALTEXT_TARGETS = (0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)
REALTEXT_CODE_SHIFTS = (-1.0, 0.0, 1.0)


def eligible(r: dict) -> bool:
    """Step 1 of the rule (module docstring). ``r`` holds the pooled, V, P and LOTO figures of a candidate."""
    fa = r["pooled_false_alarm"]
    return (r["pooled_precision_bound"] >= RULE["min_pooled_precision_bound"]
            and fa is not None and fa <= RULE["max_pooled_false_alarm"]
            and r["v_dim_precision"] >= RULE["min_precision"] and r["p_dim_precision"] >= RULE["min_precision"]
            and r["loto_dim_precision"] >= RULE["min_loto_precision"])


def total_shift(r: dict) -> float:
    """Sum of |shift| of a candidate's decision settings (an infinite shift counts RULE["infinite_shift"])."""
    return sum(RULE["infinite_shift"] if math.isinf(v) else abs(v)
               for k, v in r["settings"].items() if k.endswith("shift") and v is not None)


def choose(rows: list[dict]) -> dict | None:
    """Steps 1 to 3 of the rule: the chosen row, or None (no candidate eligible: the default stays)."""
    ok = [r for r in rows if eligible(r)]
    if not ok:
        return None
    d = RULE["decimals"]
    return min(ok, key=lambda r: (-round(r["pooled_dim_f1"], d), -round(r["p_dim_f1"], d), total_shift(r),
                                  r["candidate"]))
