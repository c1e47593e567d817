"""Inter-coder agreement: percent agreement, Cohen's kappa, Krippendorff's alpha.

Why this module is long: the statistics, the units they run on (Reliability) and the table and
figure that present them change together whenever the definition of a unit changes; about half the
lines are docstrings that state that definition.

What is compared
----------------
Agreement is measured on the material every compared coder has *covered*
(coverage lines in ``corpus/codings/<coder>.jsonl``, read through
:func:`analyse.model.codings.segment_codes` with ``covered_only=True``): inside a
covered document an uncoded segment means "no code applies", whereas outside
it means "not looked at" and must not count as a disagreement.

The reliability *unit* is a (code, segment) pair at segment level, or a
(code, document) pair at document level: the value a coder gives it is 1 when
the coder applied the code there (anywhere in the document at document level)
and 0 otherwise. Every statistic is therefore about the presence or absence of
one code, which is what a codebook with overlapping codes calls for.

Statistics (all on units that at least two coders have values for)
--------------------------------------------------------------------
* ``percent_agreement``: share (0–1) of units on which all coders gave the
  same value;
* ``kappa``: Cohen's kappa (:func:`sklearn.metrics.cohen_kappa_score`) for two
  coders; with more coders, the mean of the pairwise Cohen's kappas (Light's
  kappa);
* ``alpha``: Krippendorff's alpha, nominal (the ``krippendorff`` package),
  which takes any number of coders and missing values.

For a *group* of codes (a dimension, a territory, the whole codebook) two
summaries are given:

* pooled (``percent_agreement``, ``kappa``, ``alpha`` of the group row): every
  (code, unit) pair of the group's codes in one reliability matrix;
* mean (``kappa_mean``, ``alpha_mean``): the unweighted mean of the per-code
  values that are defined (``n_codes_defined`` of them).

Only codes applied at least once, by some compared coder, on the group's units
enter a group: a code nobody used carries no information about reliability
and would only pad the pooled figures with agreed absences. Such codes still
get their own row (by code), marked undefined.

Undefined values
----------------
When the units show no variation at all (a code nobody applied, or that every
coder applied everywhere), kappa and alpha are 0/0: they are ``NaN`` in the
table with a ``reason`` key and an English ``note``; JSON output turns them
into ``null`` and the text output into ``undefined``, never a number.

Machine suggestions
-------------------
The pseudo-coders ``model`` and ``rule`` are read from a suggestions JSONL
file (same line format as human codings; the ``origin`` field says which
pseudo-coder a line belongs to), so human/machine agreement goes through the
very same code path as human/human agreement. A suggester runs over whole
documents and says nothing where it sees nothing, so by default the machine
is treated as having covered *every* document: compared with a human coder,
that is every document the human covered. Restricting it to the documents it
made a suggestion in (``machine_coverage="suggested"``) would drop exactly the
documents where it missed everything, and flatter it; use that option only
when the suggestions were run on part of the corpus.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import krippendorff
import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score

from analyse.model.codebook import Codebook
from analyse.model.codings import (CODINGS_COLUMNS, COVERAGE_COLUMNS, Codings, CodingStore, json_lines, load_codings, segment_codes,
                      segment_for)
from analyse.model.corpus import Corpus
from analyse.errors import Problems, UsageError
from analyse.messages import msg
from analyse.textutil import check_choice, fr_number, fr_percent
from analyse.fileio import split_lines

PSEUDO_CODERS = ("model", "rule")
LEVELS = ("segment", "document")
BY = ("code", "dimension", "territory")
OVERLAPS = ("all", "pairable")
MACHINE_COVERAGE = ("all", "suggested")
OVERALL = "overall"
# Krippendorff's (2004) guidance: 0.8 to rely on a variable, 0.667 as the
# lowest limit for tentative conclusions.
THRESHOLDS = (0.667, 0.8)

# Why a statistic is undefined: key -> note for readers (the plot has shorter labels).
REASONS = {key: msg(f"agr.reason.{key}") for key in ("never_used", "always_used", "one_value", "no_units", "no_codes")}

TABLE_COLUMNS = ["coders", "level", "by", "group", "label", "n_units", "n_codes", "n_present_any",
                 "n_present_all", "percent_agreement", "kappa", "alpha", "n_codes_defined",
                 "kappa_mean", "alpha_mean", "reason", "note"]


# --------------------------------------------------------------------------- statistics

def _as_matrix(reliability_data) -> np.ndarray:
    """Coders × units float matrix; ``None``/NaN mark missing values (numpy turns None into NaN)."""
    matrix = np.asarray(reliability_data, dtype=float)
    if matrix.ndim != 2:
        raise ValueError("reliability data must be a 2-D coders × units array of numbers")
    return matrix


def _pairable(matrix: np.ndarray) -> np.ndarray:
    """The columns (units) that at least two coders have a value for."""
    return matrix[:, (~np.isnan(matrix)).sum(axis=0) >= 2]


def undefined_reason(reliability_data) -> str | None:
    """Why kappa and alpha cannot be computed on these data, or None if they can.

    Parameters
    ----------
    reliability_data : array-like, coders × units
        Nominal values, NaN/None for missing.

    Returns
    -------
    str or None
        A key of :data:`REASONS`: ``"no_units"`` (no unit with two values),
        ``"never_used"`` / ``"always_used"`` (binary data that are all 0 / all 1),
        ``"one_value"`` (any other single value), or None.

    Examples
    --------
    >>> undefined_reason([[0, 0, 0], [0, 0, 0]])
    'never_used'
    >>> undefined_reason([[0, 1], [0, 1]]) is None
    True
    """
    pairable = _pairable(_as_matrix(reliability_data))
    if pairable.shape[1] == 0:
        return "no_units"
    values = np.unique(pairable[~np.isnan(pairable)])
    if len(values) > 1:
        return None
    return {0.0: "never_used", 1.0: "always_used"}.get(float(values[0]), "one_value")


def percent_agreement(reliability_data) -> float:
    """Share of units on which every coder that gave a value gave the same one.

    Units with fewer than two values are left out; NaN if none is left.

    Examples
    --------
    >>> percent_agreement([[1, 0, 1, 1], [1, 1, 1, None]])
    0.6666666666666666
    """
    pairable = _pairable(_as_matrix(reliability_data))
    if pairable.shape[1] == 0:
        return float("nan")
    lo = np.nanmin(pairable, axis=0)
    hi = np.nanmax(pairable, axis=0)
    return float(np.mean(lo == hi))


def cohen_kappa(rater1, rater2) -> float:
    """Cohen's kappa of two coders (units where either value is missing are dropped).

    A thin wrapper of :func:`sklearn.metrics.cohen_kappa_score` that returns
    NaN, silently, when kappa is 0/0 (both coders gave one and the same value
    everywhere) instead of warning.

    Examples
    --------
    The 2×2 table of Wikipedia's "Cohen's kappa" article (20 yes/yes, 5 yes/no,
    10 no/yes, 15 no/no):

    >>> a = [1] * 20 + [1] * 5 + [0] * 10 + [0] * 15
    >>> b = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15
    >>> round(cohen_kappa(a, b), 3)
    0.4
    """
    pair = _as_matrix([list(rater1), list(rater2)])
    pair = pair[:, ~np.isnan(pair).any(axis=0)]
    if undefined_reason(pair) is not None:
        return float("nan")
    return float(cohen_kappa_score(pair[0], pair[1]))


def light_kappa(reliability_data) -> float:
    """Mean of the pairwise Cohen's kappas (Light's kappa); Cohen's kappa for two coders.

    Pairs whose kappa is undefined are left out of the mean; NaN if all are.

    Examples
    --------
    >>> round(light_kappa([[1, 1, 0, 0], [1, 1, 0, 0], [1, 0, 0, 0]]), 3)
    0.667
    """
    matrix = _as_matrix(reliability_data)
    values = [cohen_kappa(matrix[i], matrix[j]) for i, j in combinations(range(matrix.shape[0]), 2)]
    values = [v for v in values if not math.isnan(v)]
    return float(np.mean(values)) if values else float("nan")


def krippendorff_alpha(reliability_data) -> float:
    """Krippendorff's alpha for nominal data, any number of coders, missing values allowed.

    Uses the ``krippendorff`` package; returns NaN (instead of raising) when
    alpha is undefined (see :func:`undefined_reason`).

    Parameters
    ----------
    reliability_data : array-like, coders × units
        Nominal values, NaN/None where a coder gave no value.

    Examples
    --------
    Krippendorff's (2011) reliability-data example, 4 coders × 12 units:

    >>> nan = None
    >>> data = [[1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
    ...         [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
    ...         [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
    ...         [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan]]
    >>> round(krippendorff_alpha(data), 3)
    0.743
    """
    matrix = _as_matrix(reliability_data)
    if undefined_reason(matrix) is not None:
        return float("nan")
    return float(krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal"))


def agreement_stats(reliability_data) -> dict:
    """Every statistic of one coders × units matrix, with the reason when undefined.

    Returns
    -------
    dict
        ``n_units`` (units with two values or more), ``percent_agreement``,
        ``kappa`` (Cohen's for two coders, Light's beyond), ``alpha``,
        ``reason`` (a :data:`REASONS` key or None).

    Examples
    --------
    >>> agreement_stats([[0, 0, 0], [0, 0, 0]])["reason"]
    'never_used'
    """
    matrix = _as_matrix(reliability_data)
    pairable = _pairable(matrix)
    reason = undefined_reason(matrix)
    return {
        "n_units": int(pairable.shape[1]),
        "percent_agreement": percent_agreement(matrix),
        "kappa": float("nan") if reason else light_kappa(matrix),
        "alpha": float("nan") if reason else krippendorff_alpha(matrix),
        "reason": reason,
    }


# --------------------------------------------------------------------------- reliability data

@dataclass
class Reliability:
    """Presence/absence of every code, per coder, on the units the coders share.

    Attributes
    ----------
    coders : list of str
    level : {"segment", "document"}
    units : list of str
        Segment ids (``<doc>#<n>``) or document ids, in corpus order.
    unit_doc, unit_territory : list of str
        Document and territory of each unit.
    codes : list of str
        The codebook's codes in file order (then any other code used).
    code_dimension : list of str
    code_label : list of str
    values : numpy.ndarray, shape (codes, coders, units)
        1.0 code applied, 0.0 not applied, NaN unit not covered by the coder.
    covered : numpy.ndarray of bool, shape (coders, units)
        Which coder covered which unit (the NaN pattern of ``values``, kept
        apart so that it is known even for a group without codes).
    documents : list of str
        Documents the units belong to.
    """

    coders: list[str]
    level: str
    units: list[str]
    unit_doc: list[str]
    unit_territory: list[str]
    codes: list[str]
    code_dimension: list[str]
    code_label: list[str]
    values: np.ndarray
    covered: np.ndarray
    documents: list[str] = field(default_factory=list)
    dimension_labels: dict[str, str] = field(default_factory=dict)

    def frame(self) -> pd.DataFrame:
        """Tidy view: one row per code, coder and unit (``value`` NaN when not covered)."""
        n_codes, n_coders, n_units = self.values.shape
        idx = np.indices(self.values.shape).reshape(3, -1)
        return pd.DataFrame({
            "code": np.array(self.codes, dtype=object)[idx[0]] if n_codes else [],
            "dimension": np.array(self.code_dimension, dtype=object)[idx[0]] if n_codes else [],
            "coder": np.array(self.coders, dtype=object)[idx[1]],
            "unit": np.array(self.units, dtype=object)[idx[2]] if n_units else [],
            "doc": np.array(self.unit_doc, dtype=object)[idx[2]] if n_units else [],
            "territory": np.array(self.unit_territory, dtype=object)[idx[2]] if n_units else [],
            "value": self.values.reshape(-1),
        })


def _check_coders(codings: Codings, coders) -> list[str]:
    coders = list(dict.fromkeys(coders or []))
    if len(coders) < 2:
        raise UsageError(msg("agr.two_coders", coders=", ".join(coders) or msg("none")),
                         hint=msg("agr.two_coders_hint"))
    known = set(codings.coders)
    unknown = [c for c in coders if c not in known]
    if unknown:
        pseudo = [c for c in unknown if c in PSEUDO_CODERS]
        hint = (msg("agr.known_coders", coders=", ".join(codings.coders) or msg("none"))
                + (msg("agr.pseudo_from_file") if pseudo else ""))
        raise UsageError(msg("unknown_coders", coders=", ".join(unknown)), hint=hint)
    return coders


def _no_overlap_error(codings: Codings, coders: list[str]) -> UsageError:
    parts = []
    for c in coders:
        n_docs = int((codings.coverage["coder"] == c).sum())
        n_codings = int((codings.frame["coder"] == c).sum())
        parts.append(msg("agr.covered_docs", coder=c, n=n_docs)
                     + (msg("agr.codings_without_coverage", n=n_codings) if not n_docs and n_codings else ""))
    return UsageError(msg("agr.no_overlap", coders=", ".join(coders), details="; ".join(parts)),
                      hint=msg("agr.no_overlap_hint"))


def reliability_data(codings: Codings, corpus: Corpus, coders: list[str], *,
                     codebook: Codebook | None = None, level: str = "segment",
                     overlap: str = "all") -> Reliability:
    """Build the code × coder × unit presence matrix on the coders' common material.

    Parameters
    ----------
    codings : Codings
        From :func:`analyse.model.codings.load_codings`, possibly with machine
        suggestions merged in (:func:`with_suggestions`).
    corpus : Corpus
    coders : list of str
        Two coders or more.
    codebook : Codebook, optional
        Gives the list of codes (unused ones included), dimensions and labels;
        without it, the codes used by the coders, dimension = prefix of the id.
    level : {"segment", "document"}
        Unit of comparison: a segment, or a whole document (code present in
        the document or not).
    overlap : {"all", "pairable"}
        ``"all"``: units in documents every coder covered. ``"pairable"``:
        units covered by at least two of the coders, the others missing
        (only differs from ``"all"`` with three coders or more).

    Raises
    ------
    UsageError
        Fewer than two coders, an unknown coder, or no common unit.

    Examples
    --------
    >>> rel = reliability_data(codings, corpus, ["A", "B"], codebook=book)  # doctest: +SKIP
    >>> rel.values.shape                                                    # doctest: +SKIP
    (62, 2, 214)
    """
    check_choice("level", level, LEVELS)
    check_choice("overlap", overlap, OVERLAPS)
    coders = _check_coders(codings, coders)
    per_coder = {c: segment_codes(codings, corpus, c, covered_only=True) for c in coders}
    need = len(coders) if overlap == "all" else 2
    segments = [s for s in corpus.segments
                if sum(s.id in per_coder[c] for c in coders) >= need]
    if not segments:
        raise _no_overlap_error(codings, coders)

    if level == "segment":
        units = [s.id for s in segments]
        unit_doc = [s.doc for s in segments]
        unit_territory = [s.territory for s in segments]
        unit_codes = {c: [per_coder[c].get(s.id) for s in segments] for c in coders}
    else:
        docs = list(dict.fromkeys(s.doc for s in segments))
        units, unit_doc = docs, docs
        unit_territory = [corpus.documents[d].territory for d in docs]
        unit_codes = {}
        for c in coders:
            merged: dict[str, set[str] | None] = {d: None for d in docs}
            for s in segments:
                if s.id in per_coder[c]:
                    merged[s.doc] = (merged[s.doc] or set()) | per_coder[c][s.id]
            unit_codes[c] = [merged[d] for d in docs]

    used = sorted({code for c in coders for codes in unit_codes[c] if codes for code in codes})
    if codebook is not None:
        codes = list(codebook.codes) + [c for c in used if c not in codebook.codes]
        dimension = [codebook.codes[c].dimension if c in codebook.codes else c.split(".")[0] for c in codes]
        label = [codebook.codes[c].label if c in codebook.codes else "" for c in codes]
        dim_labels = dict(codebook.dimensions)
    else:
        codes = used
        dimension = [c.split(".")[0] for c in codes]
        label = [""] * len(codes)
        dim_labels = {}
    position = {code: i for i, code in enumerate(codes)}
    values = np.zeros((len(codes), len(coders), len(units)))
    covered = np.ones((len(coders), len(units)), dtype=bool)
    for j, c in enumerate(coders):
        for u, unit_set in enumerate(unit_codes[c]):
            if unit_set is None:
                values[:, j, u] = np.nan
                covered[j, u] = False
                continue
            for code in unit_set:
                values[position[code], j, u] = 1.0
    return Reliability(coders=coders, level=level, units=units, unit_doc=unit_doc,
                       unit_territory=unit_territory, codes=codes, code_dimension=dimension,
                       code_label=label, values=values, covered=covered,
                       documents=list(dict.fromkeys(unit_doc)), dimension_labels=dim_labels)


# --------------------------------------------------------------------------- tables

def _group_row(rel: Reliability, by: str, group: str, label: str,
               code_idx: list[int], unit_idx: np.ndarray) -> dict:
    """Pooled and mean statistics of some codes over some units."""
    block = rel.values[np.asarray(code_idx, dtype=int)][:, :, unit_idx]     # codes × coders × units
    applied = np.nan_to_num(block, nan=0.0)
    # A code "in play" in this group: applied at least once by some coder on these units.
    in_play = [k for k in range(len(code_idx)) if applied[k].any()]
    covered = rel.covered[:, unit_idx].sum(axis=0) >= 2
    row = {"coders": "+".join(rel.coders), "level": rel.level, "by": by, "group": group, "label": label,
           "n_units": int(covered.sum()), "n_codes": len(in_play)}
    any_ = (applied[in_play].max(axis=1) > 0)[:, covered] if in_play else np.zeros((0, 0), bool)
    all_ = (np.nan_to_num(block[in_play], nan=1.0).min(axis=1) > 0)[:, covered] if in_play else any_
    row["n_present_any"] = int(any_.sum())
    row["n_present_all"] = int(all_.sum())
    if not in_play:
        if not covered.any():
            reason = "no_units"
        else:
            reason = "never_used" if by == "code" else "no_codes"
        # A code nobody applied still has a percent agreement (every unit agrees on "absent");
        # a group with no code in play has no unit at all.
        percent = percent_agreement(block[0]) if by == "code" and covered.any() else float("nan")
        row.update(percent_agreement=percent, kappa=float("nan"), alpha=float("nan"), n_codes_defined=0,
                   kappa_mean=float("nan"), alpha_mean=float("nan"), reason=reason, note=REASONS[reason])
        return row
    pooled = block[in_play].transpose(1, 0, 2).reshape(len(rel.coders), -1)
    stats = agreement_stats(pooled)
    per_code = [agreement_stats(block[k]) for k in in_play]
    kappas = [s["kappa"] for s in per_code if not math.isnan(s["kappa"])]
    alphas = [s["alpha"] for s in per_code if not math.isnan(s["alpha"])]
    row.update(percent_agreement=stats["percent_agreement"], kappa=stats["kappa"], alpha=stats["alpha"],
               n_codes_defined=len(alphas),
               kappa_mean=float(np.mean(kappas)) if kappas else float("nan"),
               alpha_mean=float(np.mean(alphas)) if alphas else float("nan"),
               reason=stats["reason"], note=REASONS.get(stats["reason"], ""))
    return row


def agreement_table(rel: Reliability, by: str = "code") -> pd.DataFrame:
    """Agreement per code, dimension or territory, then an ``overall`` row.

    Parameters
    ----------
    rel : Reliability
        From :func:`reliability_data`.
    by : {"code", "dimension", "territory"}
        ``"code"``: one row per code of the codebook (unused codes included,
        undefined); ``"dimension"``: the codes of each dimension pooled;
        ``"territory"``: all codes pooled over each territory's units.

    Returns
    -------
    pandas.DataFrame
        One row per group, columns :data:`TABLE_COLUMNS`: ``n_units`` units
        compared, ``n_codes`` codes pooled (those applied at least once),
        ``n_present_any`` / ``n_present_all`` (code, unit) pairs where at least
        one / every coder applied the code, pooled ``percent_agreement``,
        ``kappa``, ``alpha``, per-code means ``kappa_mean``, ``alpha_mean``
        over ``n_codes_defined`` codes, ``reason`` and ``note`` when
        undefined (the values are then NaN). The last row (``by`` and
        ``group`` equal to ``"overall"``) pools every code and unit.

    Examples
    --------
    >>> table = agreement_table(reliability_data(codings, corpus, ["A", "B"]))  # doctest: +SKIP
    >>> table.set_index("group").loc["overall", ["kappa", "alpha"]]             # doctest: +SKIP
    """
    check_choice("by", by, BY)
    all_units = np.arange(len(rel.units))
    all_codes = list(range(len(rel.codes)))
    rows = []
    if by == "code":
        for k, code in enumerate(rel.codes):
            rows.append(_group_row(rel, "code", code, rel.code_label[k], [k], all_units))
    elif by == "dimension":
        dims = list(rel.dimension_labels) + sorted(set(rel.code_dimension) - set(rel.dimension_labels))
        for dim in dims:
            idx = [k for k, d in enumerate(rel.code_dimension) if d == dim]
            rows.append(_group_row(rel, "dimension", dim, rel.dimension_labels.get(dim, ""), idx, all_units))
    else:
        territories = np.array(rel.unit_territory, dtype=object)
        # Facilitators of inter-territory documents have no territory: they count in the overall row only.
        for territory in sorted({t for t in rel.unit_territory if t is not None}):
            rows.append(_group_row(rel, "territory", territory, "", all_codes,
                                   np.flatnonzero(territories == territory)))
    rows.append(_group_row(rel, OVERALL, OVERALL, "", all_codes, all_units))
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def agreement(codings: Codings, corpus: Corpus, coders: list[str], *, codebook: Codebook | None = None,
              by: str = "code", level: str = "segment", overlap: str = "all") -> pd.DataFrame:
    """Agreement table of some coders in one call (see :func:`agreement_table`).

    Examples
    --------
    >>> from analyse.model.corpus import load_corpus
    >>> from analyse.model.codebook import load_codebook
    >>> from analyse.model.codings import load_codings
    >>> corpus = load_corpus("corpus")                                        # doctest: +SKIP
    >>> book = load_codebook("codebook/balises.yaml")                         # doctest: +SKIP
    >>> table = agreement(load_codings(corpus, book), corpus, ["A", "B"],
    ...                   codebook=book, by="dimension")                      # doctest: +SKIP
    """
    rel = reliability_data(codings, corpus, coders, codebook=codebook, level=level, overlap=overlap)
    return agreement_table(rel, by=by)


# --------------------------------------------------------------------------- machine suggestions

def load_suggestions(path: str | Path, corpus: Corpus, codebook: Codebook | None = None, *,
                     min_score: float | None = None, coverage: str = "all") -> Codings:
    """Read a suggestions JSONL file as the codings of the pseudo-coders ``model`` and ``rule``.

    Each line is a coding (``doc``, ``start``, ``end``, ``quote``, ``code``,
    ``coder``, ``origin``, ``score``); the pseudo-coder is the line's
    ``origin`` (``model`` or ``rule``), whatever its ``coder`` field says.
    Lines carrying a ``type`` other than ``coding`` (e.g. coverage) are skipped.

    Parameters
    ----------
    path : path
    corpus : Corpus
    codebook : Codebook, optional
        When given, unknown codes are errors.
    min_score : float, optional
        Drop suggestions whose ``score`` is below this (lines without a score,
        such as rule hits, are kept).
    coverage : {"all", "suggested"}
        Documents the machine counts as having covered: ``"all"`` every
        document of the corpus (compared with a human coder: every document
        that coder covered; the default, see the module docstring), or
        ``"suggested"`` only those where it made a suggestion.

    Returns
    -------
    Codings
        Frame and coverage like :func:`analyse.model.codings.load_codings`, with
        every problem (file and line) in ``problems``.

    Examples
    --------
    >>> machine = load_suggestions("outputs/suggestions.jsonl", corpus, book)  # doctest: +SKIP
    >>> table = agreement(with_suggestions(codings, machine), corpus, ["A", "model"])  # doctest: +SKIP
    """
    check_choice("coverage", coverage, MACHINE_COVERAGE)
    path = Path(path)
    rel = str(path)
    if not path.is_file():
        raise UsageError(msg("agr.no_suggestions"), path, hint=msg("agr.no_suggestions_hint"))
    problems = Problems()
    try:
        lines = split_lines(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        problems.add(rel, msg("not_utf8"), hint=msg("resave_utf8"))
        lines = []
    by_doc: dict[str, list] = {}
    for s in corpus.segments:
        by_doc.setdefault(s.doc, []).append(s)
    rows = []
    for lineno, rec in json_lines(lines, rel, problems):
        if rec.get("type", "coding") != "coding":
            continue
        missing = [f for f in ("doc", "start", "end", "code", "origin") if f not in rec]
        if missing:
            problems.add(rel, msg("missing_fields", fields=", ".join(missing)), lineno)
            continue
        origin, doc, code, start, end = rec["origin"], rec["doc"], rec["code"], rec["start"], rec["end"]
        if origin not in PSEUDO_CODERS:
            problems.add(rel, msg("agr.machine_origin", origin=origin, origins=", ".join(PSEUDO_CODERS)), lineno,
                         hint=msg("agr.machine_origin_hint"))
            continue
        if doc not in corpus.documents:
            problems.add(rel, msg("unknown_document", doc=doc), lineno, hint=msg("agr.suggest_again"))
            continue
        if codebook is not None and code not in codebook:
            problems.add(rel, msg("unknown_code", code=code), lineno, hint=msg("cod.code_id_hint"))
            continue
        body = corpus.documents[doc].body
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)) \
                or not 0 <= start < end <= len(body):
            problems.add(rel, msg("agr.bad_offsets", start=repr(start), end=repr(end), doc=doc), lineno,
                         hint=msg("agr.bad_offsets_hint"))
            continue
        if rec.get("quote") is not None and body[start:end] != rec["quote"]:
            problems.add(rel, msg("agr.quote_mismatch", doc=doc), lineno, hint=msg("agr.quote_mismatch_hint"))
            continue
        score = rec.get("score")
        if min_score is not None and score is not None and float(score) < min_score:
            continue
        seg = segment_for(by_doc.get(doc, []), start, end)
        rows.append({
            "coder": origin, "doc": doc, "segment": seg.id if seg else None,
            "territory": corpus.documents[doc].territory, "start": start, "end": end, "code": code,
            "dimension": codebook.dimension_of(code) if codebook is not None and code in codebook
            else code.split(".")[0],
            "origin": origin, "score": score, "memo": rec.get("memo") or "", "at": rec.get("at"),
            "quote": rec.get("quote"), "path": rel, "line": lineno, "moved": False,
        })
    frame = pd.DataFrame(rows, columns=CODINGS_COLUMNS)
    cover = []
    for pseudo in PSEUDO_CODERS:
        mine = frame[frame["coder"] == pseudo]
        if mine.empty:
            continue
        docs = corpus.documents if coverage == "all" else sorted(set(mine["doc"]))
        cover += [{"coder": pseudo, "doc": d, "at": None} for d in docs]
    return Codings(frame=frame, coverage=pd.DataFrame(cover, columns=COVERAGE_COLUMNS), problems=problems)


def with_suggestions(codings: Codings, machine: Codings) -> Codings:
    """Human codings plus the pseudo-coders of :func:`load_suggestions`, as one :class:`Codings`.

    Raises
    ------
    UsageError
        If a human coder is itself called ``model`` or ``rule``.

    Examples
    --------
    >>> both = with_suggestions(load_codings(corpus, book), load_suggestions(path, corpus, book))  # doctest: +SKIP
    """
    clash = sorted(set(codings.coders) & set(machine.coders))
    if clash:
        raise UsageError(msg("agr.pseudo_clash", coders=", ".join(clash)), hint=msg("agr.pseudo_clash_hint"))
    problems = Problems()
    problems.extend(codings.problems)
    problems.extend(machine.problems)
    # Rebuilt from records rather than pd.concat: the all-None columns (score, at) would
    # otherwise trigger pandas' dtype warnings about empty entries.
    frame = pd.DataFrame(codings.frame.to_dict("records") + machine.frame.to_dict("records"),
                         columns=CODINGS_COLUMNS)
    coverage = pd.DataFrame(codings.coverage.to_dict("records") + machine.coverage.to_dict("records"),
                            columns=COVERAGE_COLUMNS)
    return Codings(frame=frame, coverage=coverage, problems=problems)


def machine_gaps(codings: Codings, rel: Reliability) -> dict[str, int]:
    """For each pseudo-coder compared, how many compared documents hold none of its suggestions.

    With the default machine coverage those documents count as "no code
    applies"; many of them suggest the suggestions were run on part of the
    corpus only.

    Examples
    --------
    >>> machine_gaps(both, reliability_data(both, corpus, ["A", "model"]))   # doctest: +SKIP
    {'model': 0}
    """
    gaps = {}
    for coder in rel.coders:
        if coder in PSEUDO_CODERS:
            with_any = set(codings.frame.loc[codings.frame["coder"] == coder, "doc"])
            gaps[coder] = sum(1 for d in rel.documents if d not in with_any)
    return gaps


# --------------------------------------------------------------------------- output

def _json_value(value):
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else round(float(value), 6)
    if isinstance(value, np.integer):
        return int(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def table_records(table: pd.DataFrame) -> list[dict]:
    """Rows of an agreement table as JSON-ready dicts: undefined values are ``None``.

    Examples
    --------
    >>> table_records(agreement_table(rel))[0]["alpha"]   # doctest: +SKIP
    """
    records = []
    for rec in table.to_dict(orient="records"):
        out = {k: _json_value(v) for k, v in rec.items()}
        if out.get("note") == "":
            out["note"] = None
        records.append(out)
    return records


def agreement_json(rel: Reliability, table: pd.DataFrame, warnings_: list[str] | None = None) -> dict:
    """What ``analyse agreement --json`` prints."""
    records = table_records(table)
    return {
        "coders": rel.coders,
        "level": rel.level,
        "by": records[0]["by"] if len(records) > 1 else OVERALL,
        "documents": len(rel.documents),
        "units": len(rel.units),
        "definitions": {
            "unit": msg("agr.def.unit", level=rel.level),
            **{key: msg(f"agr.def.{key}") for key in ("percent_agreement", "kappa", "alpha", "pooled", "mean", "null")},
        },
        "rows": [r for r in records if r["by"] != OVERALL],
        "overall": next(r for r in records if r["by"] == OVERALL),
        "warnings": list(warnings_ or []),
    }


def _fmt(value, percent: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return msg("agr.undefined")
    return fr_percent(value) if percent else fr_number(value, 3)


def format_table(table: pd.DataFrame) -> str:
    """Plain-text rendering of an agreement table (undefined values spelled out).

    Examples
    --------
    >>> print(format_table(agreement_table(rel)))   # doctest: +SKIP
    """
    col = {k: msg(f"agr.col.{k}") for k in ("group", "units", "codes", "any", "both", "all", "agreement",
                                              "kappa_mean", "alpha_mean", "note")}
    show = pd.DataFrame({
        col["group"]: table["group"],
        col["units"]: table["n_units"],
        col["codes"]: table["n_codes"],
        col["any"]: table["n_present_any"],
        col["both"] if table["coders"].iloc[0].count("+") == 1 else col["all"]: table["n_present_all"],
        col["agreement"]: [_fmt(v, percent=True) for v in table["percent_agreement"]],
        "kappa": [_fmt(v) for v in table["kappa"]],
        "alpha": [_fmt(v) for v in table["alpha"]],
        col["kappa_mean"]: [_fmt(v) for v in table["kappa_mean"]],
        col["alpha_mean"]: [_fmt(v) for v in table["alpha_mean"]],
        col["note"]: [n.removeprefix(msg("agr.undefined_prefix")) if isinstance(n, str) else "" for n in table["note"]],
    })
    if (table["by"] == "code").any():
        show = show.drop(columns=[col["codes"], col["kappa_mean"], col["alpha_mean"]])
    with pd.option_context("display.max_rows", 1000, "display.width", 200,
                           "display.max_colwidth", 90):
        return show.to_string(index=False)


# --------------------------------------------------------------------------- plot

_OKABE_ITO = {"high": "#0072B2", "mid": "#E69F00", "low": "#D55E00", "undefined": "#EEEEEE"}
_REASONS_FR = {key: msg(f"agr.plot.reason.{key}") for key in REASONS}


def plot_agreement(table: pd.DataFrame, *, value: str = "alpha", title: str | None = None,
                   show_undefined: bool = True, ax=None):
    """Horizontal bar chart of alpha (or kappa) per code, best first, with the usual thresholds.

    Vertical lines mark Krippendorff's thresholds, labelled « seuil minimal
    0,667 » and « seuil recommandé 0,8 ». Bars take Okabe–Ito colours
    (colour-blind safe) by band; undefined groups get a grey hatched bar and
    the reason in French. The ``overall`` row is left out of the bars and
    given in the title.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`agreement_table` (by code, dimension or territory).
    value : {"alpha", "kappa", "alpha_mean", "kappa_mean"}
    title : str, optional
        Defaults to a French title naming the coders and the level.
    show_undefined : bool
        Also draw the undefined groups (at the bottom).
    ax : matplotlib Axes, optional
        Draw into it; otherwise a new figure is made (without pyplot, so
        batch runs do not accumulate open figures).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = plot_agreement(agreement(codings, corpus, ["A", "B"], codebook=book))  # doctest: +SKIP
    >>> fig.savefig("accord.png")                                                       # doctest: +SKIP
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter

    if value not in ("alpha", "kappa", "alpha_mean", "kappa_mean"):
        raise UsageError(msg("agr.cannot_plot", value=value), hint=msg("agr.cannot_plot_hint"))
    rows = table[table["by"] != OVERALL].reset_index(drop=True)
    overall = table[table["by"] == OVERALL]
    # Ties and undefined rows keep the table's (codebook) order; barh draws bottom-up.
    defined = rows[rows[value].notna()].iloc[::-1].sort_values(value, kind="stable")
    undefined = rows[rows[value].isna()].iloc[::-1] if show_undefined else rows.iloc[0:0]
    ordered = pd.concat([undefined, defined])    # barh draws bottom-up: best ends on top
    n = len(ordered)
    own_figure = ax is None
    if own_figure:
        fig = Figure(figsize=(8, 1.6 + 0.32 * max(n, 1)), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    low = min(0.0, float(defined[value].min()) - 0.05) if len(defined) else 0.0
    ax.set_xlim(low, 1.2)
    ypos = np.arange(n)
    colours, hatches = [], []
    for v in ordered[value]:
        if pd.isna(v):
            colours.append(_OKABE_ITO["undefined"])
            hatches.append("///")
        else:
            band = "high" if v >= THRESHOLDS[1] else "mid" if v >= THRESHOLDS[0] else "low"
            colours.append(_OKABE_ITO[band])
            hatches.append("")
    widths = [1.0 - low if pd.isna(v) else v for v in ordered[value]]
    lefts = [low if pd.isna(v) else 0.0 for v in ordered[value]]
    bars = ax.barh(ypos, widths, left=lefts, color=colours, edgecolor="white", height=0.7)
    for bar, hatch, v, reason, n_any in zip(bars, hatches, ordered[value], ordered["reason"],
                                            ordered["n_present_any"]):
        y = bar.get_y() + bar.get_height() / 2
        if hatch:
            bar.set_hatch(hatch)
            bar.set_edgecolor("#AAAAAA")
            bar.set_linewidth(0)
            ax.text(low + 0.01, y, _REASONS_FR.get(reason, msg("agr.plot.undefined")), va="center", ha="left",
                    fontsize=8, color="black")
        else:
            # Three decimals, so that 0,799 is not read as reaching the 0,8 threshold; n says
            # how many units the value rests on (an alpha of 1 on one unit proves little).
            ax.text(max(v, 0) + 0.01, y, f"{fr_number(v, 3)} (n = {int(n_any)})", va="center",
                    ha="left", fontsize=7, bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5})
    ax.set_yticks(ypos, list(ordered["group"]))
    ax.set_ylim(-0.6, n - 0.4 + 0.8)
    for x, text in zip(THRESHOLDS, (msg("agr.plot.threshold_min"), msg("agr.plot.threshold_good"))):
        ax.axvline(x, color="black", linestyle="--" if x < THRESHOLDS[1] else "-", linewidth=1)
        ax.text(x, n - 0.2, text, rotation=0, ha="right" if x < THRESHOLDS[1] else "left",
                va="bottom", fontsize=8)
    ax.axvline(0, color="#444444", linewidth=0.8)
    ax.set_xticks(np.arange(math.ceil(low * 5) / 5, 1.01, 0.2))     # the margin right of 1 holds labels
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: fr_number(x, 1)))
    names = {key: msg(f"agr.plot.{key}") for key in ("alpha", "kappa", "alpha_mean", "kappa_mean")}
    ax.set_xlabel(msg("agr.plot.xlabel", name=names[value]))
    legend = [Patch(color=_OKABE_ITO["high"], label=msg("agr.plot.band_high")),
              Patch(color=_OKABE_ITO["mid"], label=msg("agr.plot.band_mid")),
              Patch(color=_OKABE_ITO["low"], label=msg("agr.plot.band_low"))]
    if len(undefined):
        legend.append(Patch(facecolor=_OKABE_ITO["undefined"], hatch="///", edgecolor="#AAAAAA",
                            label=msg("agr.plot.undefined")))
    if own_figure:
        fig.legend(handles=legend, loc="outside lower center", ncol=len(legend), fontsize=8, frameon=False)
    else:
        ax.legend(handles=legend, loc="lower right", fontsize=8)
    if title is None:
        coders = " / ".join(str(table["coders"].iloc[0]).split("+")) if len(table) else ""
        level = str(table["level"].iloc[0]) if len(table) else "segment"
        title = msg("agr.plot.title", coders=coders, level=level)
        if len(overall) and pd.notna(overall[value].iloc[0]):
            title += msg("agr.plot.title_overall", name=names[value], value=fr_number(float(overall[value].iloc[0]), 3))
    ax.set_title(title, fontsize=10)
    return fig


# --------------------------------------------------------------------------- loading

def load_reliability_codings(corpus: Corpus, book: Codebook, codings_dir: str | Path, coders: list[str],
                             suggestions: str | Path | None = None, *, min_score: float | None = None,
                             machine_coverage: str = "all") -> Codings:
    """The compared coders' codings, with the pseudo-coders ``model`` / ``rule`` read from a suggestions file.

    Problems are left in ``.problems`` for the caller to report: an agreement
    computed on partly read files would be wrong, so callers stop on errors.
    """
    # Without a suggestions file, 'model' or 'rule' may still be an ordinary coder file.
    from_file = CodingStore(codings_dir).coders() if not suggestions else []
    humans = [c for c in coders if c not in PSEUDO_CODERS or c in from_file]
    pseudo = [c for c in coders if c not in humans]
    if pseudo and not suggestions:
        raise UsageError(msg("agr.needs_suggestions", coders=", ".join(pseudo)), hint=msg("agr.needs_suggestions_hint"))
    if humans:
        codings = load_codings(corpus, book, codings_dir, coders=humans)
    else:
        codings = Codings(pd.DataFrame(columns=CODINGS_COLUMNS), pd.DataFrame(columns=COVERAGE_COLUMNS))
    if suggestions:
        machine = load_suggestions(suggestions, corpus, book, min_score=min_score, coverage=machine_coverage)
        codings = with_suggestions(codings, machine)
    return codings


def agreement_summary(rel: Reliability) -> str:
    """The French lines printed above the agreement table: what was compared, what the columns mean."""
    common = (msg("agr.sum.documents", n=len(rel.documents)) if rel.level == "document"
              else msg("agr.sum.documents_segments", n=len(rel.documents), units=len(rel.units)))
    return "\n".join([
        msg("agr.sum.compared", coders=" / ".join(rel.coders), common=common, level=rel.level),
        msg("agr.sum.columns", pairs=msg("agr.sum.pairs") if len(rel.coders) > 2 else ""),
        msg("agr.sum.groups"),
    ])
