"""Reconciliation: list the coders' disagreements, settle them in a meeting, record a consensus.

1. :func:`disagreements` lists every (segment, code) on which the coders'
   codes differ, with what the team needs to decide without opening the
   transcript: segment text, territory, speaker and role, each coder's codes.
2. :func:`export_disagreements` writes it as CSV (for a spreadsheet: the team
   fills in the « décision » column) or Markdown (to read in the meeting),
   with French column headers.
3. :func:`record_consensus` reads the filled-in CSV back, checks every row,
   and writes the result as a *new* coder (``consensus`` by default) through
   :class:`~analyse.model.codings.CodingStore`. The compared coders' files are
   never touched.

The consensus of a document is written only when every disagreement in it has
a decision, and then as a complete coding of the document: the codes all
coders agreed on, plus the disputed codes decided « oui », plus a coverage
line, so the consensus coder can itself be compared or used for training.
"""

from __future__ import annotations

import csv
import html
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analyse.reliability.agreement import PSEUDO_CODERS, reliability_data
from analyse.model.codebook import Codebook
from analyse.model.codings import event_record, CodingStore, Codings, check_coder_id, coding_record, coverage_record
from analyse.model.corpus import Corpus
from analyse.errors import Problems, UsageError
from analyse.messages import msg
from analyse.textutil import fold

# Internal column -> French header of the exported files. The coders' columns
# are "codes <coder>" in both.
HEADERS_FR = {
    "code": "code",
    "label": "libellé",
    "segment": "segment",
    "doc": "document",
    "territory": "territoire",
    "role": "rôle",
    "speaker": "locuteur",
    "text": "texte",
    "applied_by": "appliqué par",
    "not_applied_by": "non appliqué par",
    "decision": "décision",
    "comment": "commentaire",
}
CODES_PREFIX = "codes "
YES = frozenset({"oui", "o", "yes", "y", "1", "x", "vrai", "true"})
NO = frozenset({"non", "n", "no", "0", "faux", "false"})
# Written with ';' (what a French-locale spreadsheet expects) and a BOM (so
# Excel reads UTF-8); read back with whichever of ';', ',' or tab it holds.
CSV_SEPARATOR = ";"


def disagreements(codings: Codings, corpus: Corpus, coders: list[str], *,
                  codebook: Codebook | None = None) -> pd.DataFrame:
    """Every (segment, code) on which the coders disagree, sorted by code then segment.

    Only segments of documents every coder has covered are compared (as for
    agreement). Codes come in codebook order, segments in corpus order.

    Parameters
    ----------
    codings : Codings
        Human codings, possibly with machine suggestions merged in
        (:func:`analyse.reliability.agreement.with_suggestions`).
    corpus : Corpus
    coders : list of str
        Two coders or more.
    codebook : Codebook, optional
        Gives code order and labels.

    Returns
    -------
    pandas.DataFrame
        Columns ``code``, ``label``, ``segment``, ``doc``, ``territory``,
        ``role``, ``speaker``, ``text``, ``applied_by``, ``not_applied_by``
        (coders, comma-separated), ``codes <coder>`` for each coder (all the
        codes that coder gave the segment, comma-separated), and empty
        ``decision`` and ``comment`` columns for the team to fill in.

    Raises
    ------
    UsageError
        Fewer than two coders, an unknown coder or no common segment.

    Examples
    --------
    >>> table = disagreements(codings, corpus, ["A", "B"], codebook=book)  # doctest: +SKIP
    >>> export_disagreements(table, "outputs/desaccords.csv")                # doctest: +SKIP
    """
    rel = reliability_data(codings, corpus, coders, codebook=codebook, level="segment", overlap="all")
    segments = {s.id: s for s in corpus.segments}
    code_rank = {c: i for i, c in enumerate(rel.codes)}
    present = rel.values == 1.0                                  # codes × coders × units
    differ = present.any(axis=1) & ~present.all(axis=1)          # codes × units
    coder_codes = {
        c: [", ".join(sorted((rel.codes[k] for k in np.flatnonzero(present[:, j, u])), key=code_rank.get))
            for u in range(len(rel.units))]
        for j, c in enumerate(rel.coders)}
    rows = []
    for k, u in zip(*np.nonzero(differ)):                        # row-major: code, then unit order
        seg = segments[rel.units[u]]
        speaker = seg.speaker or ""
        if seg.speaker_label:
            speaker = f"{speaker} ({seg.speaker_label})"
        row = {
            "code": rel.codes[k], "label": rel.code_label[k], "segment": seg.id, "doc": seg.doc,
            "territory": seg.territory, "role": seg.role or "", "speaker": speaker, "text": seg.text,
            "applied_by": ", ".join(c for j, c in enumerate(rel.coders) if present[k, j, u]),
            "not_applied_by": ", ".join(c for j, c in enumerate(rel.coders) if not present[k, j, u]),
        }
        for c in rel.coders:
            row[CODES_PREFIX + c] = coder_codes[c][u]
        row["decision"] = ""
        row["comment"] = ""
        rows.append(row)
    columns = (["code", "label", "segment", "doc", "territory", "role", "speaker", "text",
                "applied_by", "not_applied_by"] + [CODES_PREFIX + c for c in rel.coders]
               + ["decision", "comment"])
    table = pd.DataFrame(rows, columns=columns)
    table.attrs.update(coders=list(rel.coders), documents=len(rel.documents), segments=len(rel.units))
    return table


def _french(table: pd.DataFrame) -> pd.DataFrame:
    return table.rename(columns=HEADERS_FR)


def to_csv(table: pd.DataFrame) -> str:
    """The disagreements as CSV text with French headers (``;``-separated).

    Examples
    --------
    >>> to_csv(table).splitlines()[0]          # doctest: +SKIP
    'code;libellé;segment;document;territoire;rôle;locuteur;texte;appliqué par;...'
    """
    buf = io.StringIO()
    _french(table).to_csv(buf, index=False, sep=CSV_SEPARATOR, quoting=csv.QUOTE_MINIMAL,
                          lineterminator="\n")
    return buf.getvalue()


def _cell(value) -> str:
    """Document text made safe for a Markdown table cell (markup shown as text, quotes kept readable)."""
    return html.escape(str(value), quote=False).replace("|", "\\|").replace("\n", "<br>")


def to_markdown(table: pd.DataFrame) -> str:
    """The disagreements as Markdown: one section per code, one table row per segment.

    Examples
    --------
    >>> print(to_markdown(table))              # doctest: +SKIP
    # Désaccords entre codeurs : A / B
    """
    coders = table.attrs.get("coders") or [c[len(CODES_PREFIX):] for c in table.columns
                                           if c.startswith(CODES_PREFIX)]
    n_segments = table["segment"].nunique()
    lines = [msg("rec.md.title", coders=" / ".join(coders)), ""]
    common = ""
    if "documents" in table.attrs:
        common = msg("rec.md.compared", segments=table.attrs["segments"], documents=table.attrs["documents"])
    lines += [msg("rec.md.counts", n=len(table), segments=n_segments, codes=table["code"].nunique(),
                  compared=common), ""]
    lines += [msg("rec.md.how"), ""]
    if table.empty:
        lines += [msg("rec.md.none"), ""]
        return "\n".join(lines)
    shown = (["segment", "territory", "role", "speaker", "text", "applied_by", "not_applied_by"]
             + [CODES_PREFIX + c for c in coders] + ["decision"])
    for code, group in table.groupby("code", sort=False):
        label = group["label"].iloc[0]
        lines += [msg("rec.md.code", code=code, label=" — " + label if label else "", n=len(group)), ""]
        lines.append("| " + " | ".join(HEADERS_FR.get(c, c) for c in shown) + " |")
        lines.append("|" + "---|" * len(shown))
        for _, row in group.iterrows():
            lines.append("| " + " | ".join(_cell(row[c]) for c in shown) + " |")
        lines.append("")
    return "\n".join(lines)


def export_disagreements(table: pd.DataFrame, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write the disagreements to ``path``: CSV (``.csv``) or Markdown (``.md``).

    Raises
    ------
    UsageError
        Another extension, or the file exists and ``overwrite`` is false (it
        may already hold the team's decisions).

    Examples
    --------
    >>> export_disagreements(disagreements(codings, corpus, ["A", "B"]), "desaccords.csv")  # doctest: +SKIP
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".md"):
        raise UsageError(msg("rec.cannot_write", name=path.name), path, hint=msg("rec.cannot_write_hint"))
    if path.exists() and not overwrite:
        raise UsageError(msg("rec.file_exists"), path, hint=msg("rec.file_exists_hint"))
    from analyse.fileio import atomic_write, clean_temps

    # atomic: with --force this replaces a decisions file the team may have filled in; the temporary
    # file of an earlier run killed while writing it goes first
    clean_temps(path)
    if suffix == ".csv":
        atomic_write(path, "\ufeff" + to_csv(table))        # UTF-8 with BOM, for spreadsheets
    else:
        atomic_write(path, to_markdown(table))
    return path


# --------------------------------------------------------------------------- decisions

def read_decisions(source) -> tuple[pd.DataFrame, str]:
    """The decisions table (a filled-in export) with internal column names, and its name.

    Parameters
    ----------
    source : path or pandas.DataFrame
        A CSV written by :func:`export_disagreements` (French or internal
        headers; ``;``, ``,`` or tab separated; UTF-8), or a DataFrame.

    Raises
    ------
    UsageError
        Missing file, not UTF-8, or required columns (segment, code,
        décision, codes <coder>) absent.
    """
    if isinstance(source, pd.DataFrame):
        frame, name = source.copy(), "<decisions>"
        frame = frame.astype(object).where(frame.notna(), "")
    else:
        path = Path(source)
        name = str(path)
        if not path.is_file():
            raise UsageError(msg("rec.no_decisions"), path, hint=msg("rec.no_decisions_hint"))
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise UsageError(msg("not_utf8"), path, hint=msg("rec.csv_utf8_hint")) from None
        header = text.split("\n", 1)[0]
        sep = max((";", ",", "\t"), key=header.count)
        try:
            frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise UsageError(msg("rec.bad_csv", error=str(exc).splitlines()[0]), path,
                             hint=msg("rec.bad_csv_hint")) from None
    reverse = {v: k for k, v in HEADERS_FR.items()}
    frame.columns = [reverse.get(str(c).strip(), str(c).strip()) for c in frame.columns]
    missing = [HEADERS_FR[c] for c in ("segment", "code", "decision") if c not in frame.columns]
    if missing:
        raise UsageError(msg("rec.missing_columns", columns=", ".join(missing)), name,
                         hint=msg("rec.missing_columns_hint"))
    return frame, name


def coders_of(frame: pd.DataFrame) -> list[str]:
    """The compared coders named by a decisions table's ``codes <coder>`` columns.

    Examples
    --------
    >>> coders_of(pd.DataFrame(columns=["code", "codes A", "codes B", "decision"]))
    ['A', 'B']
    """
    return [c[len(CODES_PREFIX):] for c in frame.columns if c.startswith(CODES_PREFIX)]


def parse_decision(value, coders: list[str]):
    """``True`` (apply the code), ``False`` (do not), a coder's name (follow that coder),
    ``None`` (not decided yet) or ``ValueError`` for anything else.

    Yes/no words are recognised first (oui/non, o/n, yes/no, 1/0, x, vrai/faux),
    case and accents ignored; then a coder's name.

    Examples
    --------
    >>> parse_decision(" Oui ", ["A", "B"]), parse_decision("", ["A", "B"]), parse_decision("b", ["A", "B"])
    (True, None, 'B')
    """
    folded = fold(value)
    if not folded:
        return None
    if folded in YES:
        return True
    if folded in NO:
        return False
    for c in coders:
        if fold(c) == folded:
            return c
    raise ValueError(value)


@dataclass
class ConsensusResult:
    """What :func:`record_consensus` did.

    Attributes
    ----------
    coder : str
    documents : list of str
        Documents whose consensus was written.
    skipped : dict
        Document -> why it was not written (undecided rows, already recorded).
    codings : int
        Coding lines written.
    decisions : int
        Decided rows used.
    problems : Problems
        Rows in error. When there is any error, nothing is written.
    """

    coder: str
    documents: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    codings: int = 0
    decisions: int = 0
    problems: Problems = field(default_factory=Problems)

    @property
    def ok(self) -> bool:
        return not self.problems.errors


def _recorded_docs(store: CodingStore, coder: str) -> set[str]:
    """Documents the consensus coder's current state (codings, coverage) already has."""
    return {rec["doc"] for rec in store.records(coder) if rec.get("doc")}


def _changed_since_recorded(store: CodingStore, coder: str, docs: set[str], new: list[dict]) -> list[dict]:
    """Codings of ``docs`` dated after the document's last coverage line and not written again by ``new``."""
    records = store.records(coder)
    covered: dict[str, str] = {}
    for rec in records:
        if rec.get("type") == "coverage" and rec.get("doc") in docs:
            covered[rec["doc"]] = max(covered.get(rec["doc"], ""), str(rec.get("at", "")))
    again = {(r.get("doc"), r.get("start"), r.get("end"), r.get("code"), r.get("memo") or "") for r in new}
    return [r for r in records
            if r.get("type") != "coverage" and r.get("doc") in docs
            and str(r.get("at", "")) > covered.get(r.get("doc"), "")
            and (r.get("doc"), r.get("start"), r.get("end"), r.get("code"), r.get("memo") or "") not in again]


def record_consensus(decisions, codings: Codings, corpus: Corpus, store: CodingStore, *,
                     coders: list[str] | None = None, as_coder: str = "consensus",
                     codebook: Codebook | None = None, replace: bool = False,
                     at: str | None = None, force: bool = False) -> ConsensusResult:
    """Record the team's decisions as the codings of a new coder.

    Every row is checked first: the segment must exist, the (segment, code)
    must still be a disagreement between the coders (their files may have
    changed since the export), the decision must be readable, and a row given
    twice must not contradict itself. If any row is in error nothing is
    written and the problems (file, spreadsheet row) are returned.

    Then, for every document the coders have in common whose disagreements
    are all decided, the consensus coder gets: each segment's agreed codes,
    each disputed code decided « oui » (with the « commentaire » as memo) and a
    coverage line. A document with undecided rows is skipped (decide them and
    apply again); one already in the consensus file is skipped unless
    ``replace``, which rewrites that document's consensus lines in one atomic
    write. A consensus coding added or changed after the document's consensus
    was recorded (dated after its coverage line, e.g. in the panel) that the
    replacement would drop is an error (nothing written) unless ``force``.

    Parameters
    ----------
    decisions : path or pandas.DataFrame
        The filled-in CSV of :func:`export_disagreements` (or its frame).
    codings : Codings
        Current codings of the compared coders.
    corpus : Corpus
    store : CodingStore
        Where the consensus coder's file is written (atomically, under a lock).
    coders : list of str, optional
        Defaults to the coders named in the ``codes <coder>`` columns.
    as_coder : str
        Name of the consensus coder; neither a compared coder nor model/rule.
    codebook : Codebook, optional
    replace : bool
    at : str, optional
        Timestamp of the written lines (default: now).

    Returns
    -------
    ConsensusResult

    Examples
    --------
    >>> result = record_consensus("desaccords.csv", codings, corpus, CodingStore("corpus/codings"))  # doctest: +SKIP
    >>> result.documents, result.skipped                                                             # doctest: +SKIP
    """
    frame, name = read_decisions(decisions)
    coders = list(coders or coders_of(frame))
    if len(coders) < 2:
        raise UsageError(msg("rec.no_coders"), name, hint=msg("rec.no_coders_hint"))
    check_coder_id(as_coder)
    if as_coder in coders or as_coder in PSEUDO_CODERS:
        raise UsageError(msg("rec.bad_consensus_name", coder=as_coder), hint=msg("rec.bad_consensus_name_hint"))
    rel = reliability_data(codings, corpus, coders, codebook=codebook, level="segment", overlap="all")
    present = rel.values == 1.0
    differ = present.any(axis=1) & ~present.all(axis=1)
    agreed = present.all(axis=1)
    unit_index = {u: i for i, u in enumerate(rel.units)}
    code_index = {c: k for k, c in enumerate(rel.codes)}
    open_keys = {(rel.units[u], rel.codes[k]) for k, u in zip(*np.nonzero(differ))}

    result = ConsensusResult(coder=as_coder)
    problems = result.problems
    segments = {s.id: s for s in corpus.segments}
    decided: dict[tuple[str, str], bool] = {}
    memo: dict[tuple[str, str], str] = {}
    for i, row in enumerate(frame.to_dict(orient="records")):
        line = i + 2                       # spreadsheet row: the header is row 1
        seg, code = str(row["segment"]).strip(), str(row["code"]).strip()
        if not seg and not code and not str(row["decision"]).strip():
            continue
        if seg not in segments:
            problems.add(name, msg("rec.unknown_segment", segment=seg), line, hint=msg("rec.unknown_segment_hint"))
            continue
        key = (seg, code)
        if key not in open_keys:
            problems.add(name, msg("rec.not_disagreement", code=code, segment=seg, coders=", ".join(coders)),
                         line, hint=msg("rec.not_disagreement_hint"))
            continue
        try:
            value = parse_decision(row["decision"], coders)
        except ValueError:
            problems.add(name, msg("rec.bad_decision", decision=row["decision"], code=code, segment=seg), line,
                         hint=msg("rec.bad_decision_hint", coders=", ".join(coders)))
            continue
        if value is None:
            continue
        if isinstance(value, str):
            value = bool(present[code_index[code], coders.index(value), unit_index[seg]])
        if key in decided and decided[key] != value:
            problems.add(name, msg("rec.decided_twice", code=code, segment=seg), line, hint=msg("rec.decided_twice_hint"))
            continue
        decided[key] = value
        comment = str(row.get("comment", "") or "").strip()
        if comment:
            memo[key] = comment
    if problems.errors:
        return result
    result.decisions = len(decided)

    already = _recorded_docs(store, as_coder)
    undecided: dict[str, int] = {}
    for seg, _code in open_keys - set(decided):
        doc = segments[seg].doc
        undecided[doc] = undecided.get(doc, 0) + 1
    for doc in rel.documents:
        if undecided.get(doc):
            result.skipped[doc] = f"{undecided[doc]} undecided disagreement(s)"
        elif doc in already and not replace:
            result.skipped[doc] = f"already recorded in {store.path(as_coder).name}"
        else:
            result.documents.append(doc)

    records = []
    chosen = set(result.documents)
    for u, unit in enumerate(rel.units):
        if rel.unit_doc[u] not in chosen:
            continue
        seg = segments[unit]
        for k, code in enumerate(rel.codes):
            key = (unit, code)
            if agreed[k, u] or decided.get(key):
                records.append(coding_record(seg, code, as_coder, memo=memo.get(key, ""), at=at,
                                             codebook_version=codebook.version if codebook else None))
    records += [coverage_record(doc, as_coder, at=at) for doc in result.documents]
    if replace and chosen & already and not force:
        newer = _changed_since_recorded(store, as_coder, chosen, records)
        for rec in newer:
            problems.add(store.path(as_coder), f"le codage {rec.get('code')} de « {rec.get('doc')} » "
                         f"({rec.get('start')}–{rec.get('end')}, {rec.get('at')}) a été ajouté ou modifié après "
                         "l'enregistrement du consensus : --replace l'effacerait",
                         hint="le reporter dans le fichier de décisions, ou relancer avec --force pour l'effacer")
        if newer:
            result.documents = []
            return result
    # Every decision is kept in the log with its reason, rejected codes included: an event that
    # changes no coding, shown by `analyse history` (the accepted ones are also codings, memo = reason).
    decisions = []
    for (unit, code), value in sorted(decided.items()):
        seg = segments[unit]
        if seg.doc not in chosen:
            continue
        decisions.append(event_record(
            "decision", {"doc": seg.doc, "start": seg.start, "end": seg.end, "code": code, "coder": as_coder},
            origin="reconcile", reason=memo.get((unit, code), ""), at=at, decision="oui" if value else "non",
            coders={c: bool(present[code_index[code], i, unit_index[unit]]) for i, c in enumerate(coders)}))
    # One atomic write: the replaced documents' codings are withdrawn (events) and the new come in
    # together; a line written meanwhile (the panel, between this check and the write) is kept.
    replaced = [r for r in store.records(as_coder) if r.get("doc") in chosen] if replace and chosen & already else []
    store.rewrite_and_append(as_coder, records=decisions + records, old=replaced, origin="reconcile",
                             reason=f"réconciliation de {' et '.join(coders)}")
    result.codings = len(records) - len(result.documents)
    return result
