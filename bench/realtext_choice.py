"""Choose the learned coder's design with a real-text training pool: validation set V, pool, corpus.

Third protocol of issue 19 (decided by the lead, 1 December 2026). Roles of the real-text sets:

* ``tests/data/devset/`` (« V », 74 paragraphs of other towns): VALIDATION set. It chooses settings,
  never trains, and never chooses a threshold (its labels are read only to measure).
* ``training/*/`` (« P », the real-text training pool: ``training/autres-villes-1/`` is the former
  test set devset-2, retired on 2026-12-01; more folders may join): TRAINING material, read by
  :func:`analyse.coding.realtext.read_training_pool`, joined to the fit as rows of the internal
  cross-validation grouped by town, with a design weight.
* a fresh TEST set (devset-3): never seen here; the lead measures it once, after this choice is final.

This rule was written and committed before any candidate of this protocol was computed.

Candidates
----------
A *design* is fitted once per fold; its *decision settings* are applied to the stored scores
(``SegmentCoder.with_decisions``), never refitted. Designs (``DESIGN_GRID``, 12):

* weight of the real-text pool's rows ``w`` in {0, 1, 3} (0: the pool is not joined at all — the
  designs of main);
* metadata features (atelier, role, document kind) on / off;
* the référentiel as in the two existing designs: down-weighted extra documents (weight 0.5,
  « corpus ») or rows of the internal cross-validation grouped by blocks (weight 1, « texte-reel »).

Decision settings (``DECISION_GRID``): ``dimension_shift`` in DIMENSION_SHIFTS × ``code_shift`` in
CODE_SHIFTS × ``abstain_shift`` in ABSTAIN_SHIFTS; and ``realtext_precision`` in REALTEXT_TARGETS ×
``code_shift`` in REALTEXT_CODE_SHIFTS (dimension thresholds chosen on the out-of-fold scores of the
design's real-text rows — the pool and, in "cv" mode, the référentiel — never on V; only for designs
that have such rows). ``balise_level`` stays off (no level held 0.5 balise precision last time).

Measures of a candidate
-----------------------
* **V**: the model trained as shipped (whole corpus, codebook, référentiel, pool) scores V.
* **P, out of fold**: each pool text is scored by a model that did not see its town: the shipped
  model's internal cross-validation (grouped folds: corpus documents, référentiel blocks, pool towns)
  gives its out-of-fold score, and it is decided by thresholds chosen again WITHOUT the rows of its
  inner fold (``SegmentCoder.without_rows``: every threshold — codes, dimensions, « rien à coder »,
  real-text dimension thresholds — is cross-fitted). With w = 0 the shipped model never saw P and
  scores it directly.
* **LOTO**: the corpus, one territory left out (4 fits; the pool and the référentiel join every
  training side, never a test side); only corpus segments are tested.

Dimension figures count a dimension as suggested when one of its codes or its dimension head fires
(``union_dimensions``); false alarms are the share of the texts carrying no code on which a code or
a dimension head fires (``false_alarm_rate_with_dimensions``).

Selection rule
--------------
1. Eligible: dimension micro-precision >= 0.75 on V AND on P (out of fold); false-alarm rate <= 0.2
   on V's uncoded texts AND on P's uncoded texts; corpus leave-one-territory-out dimension
   micro-precision >= 0.7.
2. Chosen: the best dimension micro-F1 on V. Ties (equal V F1 rounded to 3 decimals) go to the best
   P dimension micro-F1 (rounded to 3 decimals), then the best LOTO dimension micro-F1, then the
   smallest total |shift| (closest to the thresholds chosen on the training data), then the name.
3. If no candidate is eligible: said so, and the current default (« corpus ») stays.
   No fallback floor.

Every candidate's row is printed and kept (``--json``); the table is ``bench/realtext_choice-table.md``.
"""

from __future__ import annotations

RULE = {"min_precision": 0.75, "max_false_alarm": 0.2, "min_loto_precision": 0.7, "decimals": 3}
WEIGHTS = (0.0, 1.0, 3.0)
REFERENTIEL_DESIGNS = {"extra": ("extra", 0.5), "cv": ("cv", 1.0)}
DIMENSION_SHIFTS = (-1.0, -0.5, -0.25, 0.0, 0.5, 1.0, 1.5, 2.0)
CODE_SHIFTS = (0.0, 1.0, 2.0)
ABSTAIN_SHIFTS = (0.0, 1.0, float("inf"))
REALTEXT_TARGETS = (0.6, 0.65, 0.7, 0.75, 0.8, 0.85)
REALTEXT_CODE_SHIFTS = (0.0, 1.0)


def eligible(r: dict) -> bool:
    """Step 1 of the rule (module docstring)."""
    fa = (r["v_false_alarm"], r["p_false_alarm"])
    return (r["v_dim_precision"] >= RULE["min_precision"] and r["p_dim_precision"] >= RULE["min_precision"]
            and all(v is not None and v <= RULE["max_false_alarm"] for v in fa)
            and r["loto_dim_precision"] >= RULE["min_loto_precision"])


def total_shift(r: dict) -> float:
    return sum(min(abs(v), 10.0) for k, v in r["settings"].items() if k.endswith("shift"))


def choose(rows: list[dict]) -> dict | None:
    """Steps 1 to 3 of the rule: the chosen row, or None (no candidate eligible: the default stays)."""
    ok = [r for r in rows if eligible(r)]
    if not ok:
        return None
    d = RULE["decimals"]
    return min(ok, key=lambda r: (-round(r["v_dim_f1"], d), -round(r["p_dim_f1"], d), -r["loto_dim_f1"],
                                  total_shift(r), r["candidate"]))
