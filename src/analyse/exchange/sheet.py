"""Coding in a spreadsheet: export a coder's sheet, import it back after validation.

``analyse sheet export --coder B --territory le-mene --out sheet.xlsx`` writes
one row per segment (segment id, territory, document, speaker, role, text,
``codes``, ``memo``) with the coder's existing codes prefilled, a ``codebook``
sheet (id, label, dimension, kind, definition) and a hidden ``meta`` sheet
naming the coder and the exported documents.

In the ``codes`` column several codes are typed separated by ``;`` (for
example ``ENG.1; COOP.3``); a valence follows its code after ``!``
(``ENG.2!échec``, ``VAL.1!contestée``; nothing means *à l'œuvre*). The cell offers a drop-down of the codebook ids,
but a drop-down holds one value only: it helps to pick a single code, and
typing is how several go in (the drop-down therefore does not reject typed
text; the import checks every id).

``analyse sheet import sheet.xlsx --coder B`` reads the sheet back (also a
``.csv`` export). Every row is checked before anything is written: unknown
code ids, unknown, duplicated or missing segment ids, edited segment text,
renamed or missing columns, an empty file, a CSV that is not UTF-8. Any
problem: each is reported with file, row (and column), nothing is written and
the command exits 1.

A valid import makes the coder's codings of the exported documents equal to
the sheet (whole-segment codings, origin ``human``, memo from the ``memo``
column) and records the coder's coverage of each document: a row left with no
code then means "no code applies". For a CSV, the exported documents are the
ones present in the file. Codings whose (segment, code) pair is unchanged are
kept as they were (their span, date and origin), so an unchanged sheet writes
nothing but coverage.

The hidden ``meta`` sheet also records the state of the coder's file the
sheet was made from (a digest of each coding of the exported documents). An
import that would remove or overwrite a coding created or changed since the
export (in the panel, by another import) refuses, lists those codings and
asks for ``force=True`` (``--force``): never a silent lost update. A CSV
keeps no such state; its import says so when it removes codings.

Writing goes through :class:`~analyse.model.codings.CodingStore`: the replaced
lines go and the new ones come in with one atomic, locked rewrite
(:meth:`~analyse.model.codings.CodingStore.replace`), so a crash leaves the old
file or the new one. Other coders' files are never opened for writing.

Why this module is long: the export and the import share the sheet's
columns, its hidden ``meta`` sheet (documents, state of the coder's file) and
the rules that read a cell; each half is checked against the other.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from zipfile import BadZipFile

from analyse.model.codebook import Codebook
from analyse.model.codings import (VALENCES, CodingStore, check_coder_id, code_token, coding_record,
                                   coverage_record, load_codings, now_iso, parse_code_token)
from analyse.model.corpus import Corpus, Segment
from analyse.errors import Problems, UsageError
from analyse.messages import msg
from analyse.textutil import normalise_text

COLUMNS = ["segment", "territory", "document", "speaker", "role", "text", "codes", "memo"]
CODEBOOK_COLUMNS = ["id", "label", "dimension", "kind", "definition"]
SHEET_FORMAT = "balises-sheet-1"
WIDTHS = {"segment": 26, "territory": 16, "document": 26, "speaker": 10, "role": 14, "text": 80,
          "codes": 22, "memo": 40}
CODEBOOK_WIDTHS = {"id": 10, "label": 45, "dimension": 11, "kind": 11, "definition": 90}
CODE_SEPARATOR = ";"
FORMULA_START = ("=", "+", "-", "@")


def record_digest(rec: dict) -> str:
    """A short fingerprint of a coding line, to recognise it at import time."""
    return hashlib.sha1(json.dumps(rec, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()[:16]


def base_state(store: CodingStore, coder: str, docs) -> list[str]:
    """Digests of the coder's codings (not coverage) of ``docs``: the state a sheet is made from."""
    wanted = set(docs)
    return sorted({record_digest(r) for r in store.records(coder)
                   if r.get("type") != "coverage" and r.get("doc") in wanted})


def csv_safe(value):
    """A cell that a spreadsheet will not run as a formula (``=``, ``+``, ``-``, ``@`` first).

    Examples
    --------
    >>> csv_safe("=HYPERLINK(1)"), csv_safe("texte")
    ("'=HYPERLINK(1)", 'texte')
    """
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def safe_csv_text(frame) -> str:
    """``frame`` as CSV text for people who open it in a spreadsheet: no cell runs as a formula.

    Quotes and memos come from the corpus and the coders; one starting with ``=`` (or ``+ - @``)
    would be evaluated by Excel or LibreOffice on opening.
    """
    text_columns = [c for c in frame.columns if frame[c].dtype == object]
    safe = frame.assign(**{c: frame[c].map(csv_safe) for c in text_columns})
    return safe.to_csv(index=False, lineterminator="\n")


# --------------------------------------------------------------------------- shared with the panel

def segment_of_record(rec: dict, corpus: Corpus) -> Segment | None:
    """The segment a coding record belongs to (by offsets, else by its quote)."""
    from analyse.model.codings import _reanchor, segment_for
    doc = corpus.documents.get(rec.get("doc"))
    if doc is None or not isinstance(rec.get("start"), int) or not isinstance(rec.get("end"), int):
        return None
    start, end = rec["start"], rec["end"]
    if doc.body[start:end] != rec.get("quote"):
        moved = _reanchor(doc.body, rec.get("quote") or "", start)
        if moved is None:
            return None
        start, end = moved, moved + len(rec["quote"])
    return segment_for(corpus.segments_of(doc.id), start, end)


# --------------------------------------------------------------------------- export

def _ordered_codes(codes, book: Codebook) -> list[str]:
    order = {cid: i for i, cid in enumerate(book.codes)}
    return sorted(codes, key=lambda c: (order.get(c, len(order)), c))


def select_documents(corpus: Corpus, docs: list[str] | None = None, territory: str | None = None) -> list[str]:
    """Document ids to export: the given ones, a territory's, or all (sorted)."""
    if docs:
        unknown = [d for d in docs if d not in corpus.documents]
        if unknown:
            raise UsageError(msg("sheet.unknown_documents", docs=", ".join(unknown)),
                             hint=msg("sheet.unknown_documents_hint"))
        return list(dict.fromkeys(docs))
    if territory:
        found = sorted(d.id for d in corpus.documents.values() if d.territory == territory)
        if not found:
            raise UsageError(msg("sheet.no_document", territory=territory),
                             hint=msg("sheet.territories_hint", territories=", ".join(corpus.territories)))
        return found
    return sorted(corpus.documents)


def sheet_rows(corpus: Corpus, book: Codebook, store: CodingStore, coder: str, docs: list[str]) -> list[dict]:
    """One row per segment of ``docs`` with the coder's current codes and memo prefilled.

    A segment with several codings whose memos differ gets the distinct memos
    joined by `` | ``.
    """
    codes: dict[str, list[str]] = {}
    memos: dict[str, list[str]] = {}
    wanted = set(docs)
    for rec in store.records(coder):
        if rec.get("type") == "coverage" or rec.get("doc") not in wanted:
            continue
        seg = segment_of_record(rec, corpus)
        if seg is None:
            continue
        codes.setdefault(seg.id, []).append(code_token(rec.get("code"), rec.get("valence")))
        memo = (rec.get("memo") or "").strip()
        if memo and memo not in memos.setdefault(seg.id, []):
            memos[seg.id].append(memo)
    rows = []
    for doc in docs:
        for s in corpus.segments_of(doc):
            rows.append({"segment": s.id, "territory": s.territory, "document": s.doc,
                         "speaker": s.speaker_label or s.speaker or "", "role": s.role or "", "text": s.text,
                         "codes": f"{CODE_SEPARATOR} ".join(_ordered_tokens(codes.get(s.id, []), book)),
                         "memo": " | ".join(memos.get(s.id, []))})
    return rows


def _set(ws, row: int, col: int, value):
    cell = ws.cell(row=row, column=col, value=value)
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"   # a memo starting with '=' is text, not a formula
    return cell


def export_sheet(corpus: Corpus, book: Codebook, store: CodingStore, coder: str, out: str | Path,
                 docs: list[str] | None = None, territory: str | None = None) -> int:
    """Write the coding sheet of ``coder`` to ``out`` (``.xlsx`` or ``.csv``); return the number of rows.

    Examples
    --------
    >>> export_sheet(load_corpus("corpus"), load_codebook(), CodingStore("corpus/codings"),
    ...              "B", "b-le-mene.xlsx", territory="le-mene")           # doctest: +SKIP
    96
    """
    check_coder_id(coder)
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise UsageError(msg("sheet.cannot_write", name=out.name), hint=msg("sheet.cannot_write_hint"))
    chosen = select_documents(corpus, docs, territory)
    rows = sheet_rows(corpus, book, store, coder, chosen)
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        # utf-8-sig: Excel recognises the encoding of the accents by the BOM;
        # a memo or text starting with = + - @ would be run as a formula: quote it
        with open(out, "w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows({k: csv_safe(v) for k, v in row.items()} for row in rows)
        return len(rows)
    _write_xlsx(out, rows, book, coder, chosen, base_state(store, coder, chosen))
    return len(rows)


def _write_xlsx(out: Path, rows: list[dict], book: Codebook, coder: str, docs: list[str],
                base: list[str] = ()) -> None:
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = "segments"
    bold = Font(bold=True)
    for j, name in enumerate(COLUMNS, start=1):
        _set(ws, 1, j, name).font = bold
        ws.column_dimensions[chr(64 + j)].width = WIDTHS[name]
    wrap = Alignment(wrap_text=True, vertical="top")
    top = Alignment(vertical="top")
    for i, row in enumerate(rows, start=2):
        for j, name in enumerate(COLUMNS, start=1):
            cell = _set(ws, i, j, row[name])
            cell.alignment = wrap if name in ("text", "memo") else top
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{chr(64 + len(COLUMNS))}{max(len(rows) + 1, 2)}"
    codes_col = chr(64 + COLUMNS.index("codes") + 1)
    ws[f"{codes_col}1"].comment = Comment(
        "Plusieurs codes : les taper séparés par « ; » (ex. ENG.1; COOP.3). "
        "La liste déroulante aide à en choisir un seul. Une ligne sans code = aucun code ne s'applique.",
        "Balises")

    cb = wb.create_sheet("codebook")
    for j, name in enumerate(CODEBOOK_COLUMNS, start=1):
        _set(cb, 1, j, name).font = bold
        cb.column_dimensions[chr(64 + j)].width = CODEBOOK_WIDTHS[name]
    for i, code in enumerate(book.codes.values(), start=2):
        values = {"id": code.id, "label": code.label, "dimension": code.dimension, "kind": code.kind,
                  "definition": code.definition}
        for j, name in enumerate(CODEBOOK_COLUMNS, start=1):
            _set(cb, i, j, values[name]).alignment = wrap if name == "definition" else top
    cb.freeze_panes = "A2"
    # The list of ids, too long for an inline formula, sits in a hidden column
    # of the codebook sheet; the drop-down points at that range.
    hidden = chr(64 + len(CODEBOOK_COLUMNS) + 2)
    for i, cid in enumerate(book.codes, start=1):
        _set(cb, i, len(CODEBOOK_COLUMNS) + 2, cid)
    cb.column_dimensions[hidden].hidden = True
    n = max(len(book.codes), 1)
    dv = DataValidation(type="list", formula1=f"codebook!${hidden}$1:${hidden}${n}", allow_blank=True,
                        showErrorMessage=False, showInputMessage=True,
                        promptTitle="Codes", prompt="Un code de la liste, ou plusieurs ids tapés séparés par « ; »")
    ws.add_data_validation(dv)
    if rows:
        dv.add(f"{codes_col}2:{codes_col}{len(rows) + 1}")

    meta = wb.create_sheet("meta")
    meta.append(["format", SHEET_FORMAT])
    meta.append(["coder", coder])
    meta.append(["exported", now_iso()])
    meta.append(["codebook", book.version])
    for doc in docs:
        meta.append(["document", doc])
    meta.append(["base-count", len(base)])
    for digest in base:
        meta.append(["base", digest])
    meta.sheet_state = "hidden"
    wb.save(out)


# --------------------------------------------------------------------------- import

@dataclass
class SheetImport:
    """What a sheet holds once read and checked."""

    path: Path
    coder: str
    docs: list[str] = field(default_factory=list)
    codes: dict[str, list[str]] = field(default_factory=dict)   # segment id -> codes, sheet order
    memos: dict[str, str] = field(default_factory=dict)
    valences: dict[tuple[str, str], str] = field(default_factory=dict)   # (segment, code) -> valence
    base: set[str] | None = None       # digests of the coder's codings at export (None: unknown)
    conflicts: list[dict] = field(default_factory=list)   # codings changed since export the import removes
    problems: Problems = field(default_factory=Problems)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _read_xlsx(path: Path, problems: Problems) -> tuple[list[list[str]], dict | None]:
    from openpyxl import load_workbook
    try:
        wb = load_workbook(path, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        error = msg("zip.not_zip") if isinstance(exc, BadZipFile) else exc
        problems.add(path, msg("sheet.bad_workbook", error=error), hint=msg("sheet.bad_workbook_hint"))
        return [], None
    ws = wb["segments"] if "segments" in wb.sheetnames else wb.worksheets[0]
    table = [[_cell(v) for v in row] for row in ws.iter_rows(values_only=True)]
    _check_formulas(path, ws.title, problems)
    meta = None
    if "meta" in wb.sheetnames:
        meta = {"document": [], "base": []}
        for row in wb["meta"].iter_rows(values_only=True):
            if not row or row[0] is None:
                continue
            key, value = _cell(row[0]), _cell(row[1] if len(row) > 1 else None)
            if key in ("document", "base"):
                meta[key].append(value)
            else:
                meta[key] = value
    return table, meta


def _check_formulas(path: Path, sheet: str, problems: Problems) -> None:
    """A formula whose result the program that saved the file did not store reads as empty:
    an empty ``codes`` cell means « no code », so such a cell must stop the import."""
    from openpyxl import load_workbook
    try:
        ws = load_workbook(path, data_only=False, read_only=True)[sheet]
        cached = load_workbook(path, data_only=True, read_only=True)[sheet]
    except Exception:  # already read once: a failure here changes nothing
        return
    for row_f, row_v in zip(ws.iter_rows(), cached.iter_rows()):
        for cell_f, cell_v in zip(row_f, row_v):
            if cell_f.data_type == "f" and cell_v.value is None:
                problems.add(path, f"la cellule {cell_f.coordinate} contient une formule sans valeur calculée",
                             cell_f.row, hint="ouvrir la feuille dans le tableur, l'enregistrer (les formules sont "
                                              "alors calculées) ou remplacer la formule par sa valeur")


def _read_csv(path: Path, problems: Problems) -> list[list[str]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        problems.add(path, msg("not_utf8"), line, hint=msg("sheet.csv_utf8_hint"))
        return []
    first = text.splitlines()[0] if text.strip() else ""
    # French-locale spreadsheets save CSV with ';' (codes inside are quoted)
    delimiter = max(",;\t", key=first.count) if first else ","
    return [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]


def read_sheet(path: str | Path, coder: str, corpus: Corpus, book: Codebook) -> SheetImport:
    """Read and check a coding sheet; every problem is collected (nothing is written).

    Row numbers are those the spreadsheet shows (the header is row 1).

    Examples
    --------
    >>> result = read_sheet("b-le-mene.xlsx", "B", corpus, book)   # doctest: +SKIP
    >>> [str(p) for p in result.problems]                           # doctest: +SKIP
    ['b-le-mene.xlsx:5: erreur: colonne « codes » : code inconnu « ENG.9 » ...']
    """
    check_coder_id(coder)
    path = Path(path)
    if not path.is_file():
        raise UsageError(msg("sheet.no_such_file", path=path))
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise UsageError(msg("sheet.cannot_read", name=path.name), hint=msg("sheet.cannot_read_hint"))
    result = SheetImport(path=path, coder=coder)
    problems = result.problems
    meta = None
    if suffix == ".xlsx":
        table, meta = _read_xlsx(path, problems)
    else:
        table = _read_csv(path, problems)
    if problems:
        return result
    if not any(any(v.strip() for v in row) for row in table):
        problems.add(path, msg("sheet.empty"), hint=msg("sheet.empty_hint"))
        return result
    # the header is the first non-blank row; row numbers stay those of the file
    first = next(i for i, row in enumerate(table) if any(v.strip() for v in row))
    header = [h.strip() for h in table[first]]
    while header and not header[-1]:
        header.pop()
    missing = [c for c in COLUMNS if c not in header]
    extra = [h for h in header if h not in COLUMNS]
    for c in missing:
        found = msg("sheet.found_columns", found=", ".join(repr(e) for e in extra)) if extra else ""
        problems.add(path, msg("sheet.missing_column", column=c) + found,
                     first + 1, hint=msg("sheet.header_hint", columns=", ".join(COLUMNS)))
    if missing:
        return result
    if meta is not None and meta.get("coder") and meta["coder"] != coder:
        problems.add(path, msg("sheet.other_coder", exported=meta["coder"], coder=coder),
                     hint=msg("sheet.other_coder_hint", exported=meta["coder"], coder=coder))
    col = {c: header.index(c) for c in COLUMNS}
    segments = {s.id: s for s in corpus.segments}
    exported = list(meta["document"]) if meta and meta.get("document") else None
    if meta is not None and "base-count" in meta:
        result.base = set(meta.get("base", []))
    if exported:
        for doc in exported:
            if doc not in corpus.documents:
                problems.add(path, msg("sheet.doc_not_in_corpus", doc=doc))
    seen: dict[str, int] = {}
    docs_in_file: list[str] = []
    for rowno, row in enumerate(table[first + 1:], start=first + 2):
        if not any(v.strip() for v in row):
            continue
        get = lambda name: row[col[name]] if col[name] < len(row) else ""  # noqa: E731
        sid = get("segment").strip()
        seg = segments.get(sid)
        if seg is None:
            problems.add(path, msg("sheet.unknown_segment", segment=sid), rowno, hint=msg("sheet.unknown_segment_hint"))
            continue
        if sid in seen:
            problems.add(path, msg("sheet.segment_twice", segment=sid, row=seen[sid]), rowno,
                         hint=msg("sheet.segment_twice_hint"))
            continue
        seen[sid] = rowno
        if exported is not None and seg.doc not in exported:
            problems.add(path, msg("sheet.segment_other_doc", segment=sid), rowno)
            continue
        if seg.doc not in docs_in_file:
            docs_in_file.append(seg.doc)
        if normalise_text(get("text")) != normalise_text(seg.text):
            problems.add(path, msg("sheet.text_changed", segment=sid), rowno, hint=msg("sheet.text_changed_hint"))
        codes = []
        for token in (c.strip() for c in get("codes").split(CODE_SEPARATOR)):
            if not token:
                continue
            cid, valence = parse_code_token(token)
            if valence is None:
                problems.add(path, f"colonne 'codes' : valence inconnue dans « {token} »", rowno,
                             hint="après le code : !échec ou !contestée (rien : à l'œuvre)")
                continue
            if cid not in book:
                close = [k for k in book.codes if k.lower() == cid.lower()]
                problems.add(path, msg("sheet.unknown_code", code=cid), rowno,
                             hint=msg("sheet.did_you_mean", code=close[0]) if close else msg("sheet.codes_hint"))
            elif cid not in codes:
                codes.append(cid)
                result.valences[(sid, cid)] = valence
        result.codes[sid] = codes
        result.memos[sid] = get("memo").strip()
        if result.memos[sid] and not codes:
            problems.add(path, msg("sheet.memo_dropped", segment=sid), rowno, hint=msg("sheet.memo_dropped_hint"),
                         severity="warning")
    result.docs = [d for d in exported if d in corpus.documents] if exported is not None else docs_in_file
    for doc in result.docs:
        for s in corpus.segments_of(doc):
            if s.id not in seen:
                problems.add(path, msg("sheet.missing_segment", segment=s.id, doc=doc),
                             hint=msg("sheet.missing_segment_hint"))
    return result


def _with_valence(rec: dict, valence: str | None) -> dict:
    """The record with the sheet's valence (the default valence is written as no field)."""
    if valence is None or (rec.get("valence") or VALENCES[0]) == valence:
        return rec
    out = {k: v for k, v in rec.items() if k != "valence"}
    if valence != VALENCES[0]:
        out["valence"] = valence
    return out


def _ordered_tokens(tokens: list[str], book: Codebook) -> list[str]:
    """Sheet tokens (code with its valence mark) in codebook order."""
    by_code = {parse_code_token(tok)[0]: tok for tok in tokens}
    return [by_code[c] for c in _ordered_codes(set(by_code), book)]


def import_sheet(path: str | Path, coder: str, corpus: Corpus, book: Codebook, store: CodingStore,
                 dry_run: bool = False, force: bool = False) -> tuple[SheetImport, dict]:
    """Check a sheet and, if it has no problem, make the coder's codings of its documents equal to it.

    Returns the :class:`SheetImport` and counts ``{"added", "removed", "kept", "documents"}``;
    when ``result.problems.errors`` is not empty nothing was written (warnings, such as a memo on
    a row without code, do not stop the import).

    Codings created or changed since the sheet was exported that the import
    would remove or overwrite are errors (one per coding) unless ``force``.

    Examples
    --------
    >>> result, counts = import_sheet("b-le-mene.xlsx", "B", corpus, book,
    ...                               CodingStore("corpus/codings"))  # doctest: +SKIP
    >>> counts                                                         # doctest: +SKIP
    {'added': 3, 'removed': 1, 'kept': 40, 'documents': 7}
    """
    result = read_sheet(path, coder, corpus, book)
    counts = {"added": 0, "removed": 0, "kept": 0, "documents": len(result.docs)}
    if store.path(coder).exists() and not result.problems.errors:
        # a line the store cannot check would be silently replaced: refuse instead
        errors = load_codings(corpus, book, store.folder, coders=[coder]).problems.errors
        for p in errors:
            result.problems.add(path, msg("sheet.codings_problem", problem=p), hint=msg("sheet.codings_problem_hint"))
    if result.problems.errors:
        return result, counts
    docs = set(result.docs)
    old_by_pair: dict[tuple[str, str], list[dict]] = {}
    old: list[dict] = []
    for rec in store.records(coder):
        if rec.get("doc") not in docs:
            continue
        if rec.get("type") == "coverage":
            old.append(rec)
            continue
        seg = segment_of_record(rec, corpus)
        old.append(rec)
        if seg is not None:
            old_by_pair.setdefault((seg.id, rec.get("code")), []).append(rec)
    current_memo = {}
    for (sid, _), recs in old_by_pair.items():
        for r in recs:
            memo = (r.get("memo") or "").strip()
            if memo and memo not in current_memo.setdefault(sid, []):
                current_memo[sid].append(memo)
    segments = {s.id: s for s in corpus.segments}
    at = now_iso()
    new: list[dict] = []
    for sid, codes in result.codes.items():
        memo = result.memos.get(sid, "")
        memo_changed = memo != " | ".join(current_memo.get(sid, []))
        for code in codes:
            recs = old_by_pair.get((sid, code))
            valence = result.valences.get((sid, code))
            if recs:
                counts["kept"] += 1
                new.extend(_with_valence(dict(r, memo=memo) if memo_changed else r, valence) for r in recs)
            else:
                counts["added"] += 1
                new.append(coding_record(segments[sid], code, coder, memo=memo, at=at, valence=valence,
                                         codebook_version=book.version))
    kept_pairs = {(sid, c) for sid, codes in result.codes.items() for c in codes}
    counts["removed"] = sum(1 for pair in old_by_pair if pair not in kept_pairs)
    new += [coverage_record(doc, coder, at=at) for doc in result.docs]
    new_keys = {record_digest(r) for r in new}
    lost = [r for r in old if r.get("type") != "coverage" and record_digest(r) not in new_keys]
    if result.base is not None:
        newer = [r for r in lost if record_digest(r) not in result.base]
        result.conflicts = newer
        for r in newer if not force else []:
            seg = segment_of_record(r, corpus)
            memo = (r.get("memo") or "").strip()
            result.problems.add(
                path, f"le codage {r.get('code')} de {seg.id if seg else r.get('doc')} (enregistré le "
                      f"{r.get('at')}{', mémo « ' + memo[:40] + ' »' if memo else ''}) a été ajouté ou modifié "
                      f"dans {store.path(coder).name} après l'export de cette feuille : l'import l'effacerait",
                hint="exporter une nouvelle feuille et y reporter les changements, ou relancer avec --force "
                     "pour l'effacer quand même")
        if newer and not force:
            return result, counts
    elif lost and suffix_of(path) == ".csv":
        result.problems.add(path, f"{len(lost)} codage(s) retiré(s) : une feuille CSV ne garde pas l'état du fichier "
                                  "au moment de l'export, les codages ajoutés depuis ne peuvent pas être protégés",
                            hint="préférer une feuille .xlsx, ou relire les retraits avec --dry-run",
                            severity="warning")
    if not dry_run:
        store.replace(coder, old, new, origin="sheet", reason=f"import de la feuille {Path(path).name}")
    return result, counts


def suffix_of(path) -> str:
    return Path(path).suffix.lower()
