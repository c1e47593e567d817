"""Taguette as a peer: documents in the HTML it stores, highlights back from its project export.

Taguette (https://www.taguette.org) keeps each document as sanitised HTML and
places a highlight by **UTF-8 byte offsets** into the concatenation of that
HTML's text nodes (entities decoded, tags ignored). Its exports hold no
REFI-QDA project: the codebook comes out as a ``.qdc`` (read by
:func:`analyse.exchange.refi.read_project`), the highlights with their offsets only in
the project's SQLite export (``Export project`` → ``.sqlite3``), read here.

Going to Taguette:

1. :func:`document_html` turns a document body into HTML whose text nodes
   are the body exactly (one ``<p>`` per line, the newlines kept between
   them), so a Taguette highlight lands on the same characters as ours.
2. :func:`export_documents` writes those ``.html`` files (Taguette imports
   HTML without Calibre) and the codebook CSV of
   :func:`analyse.exchange.refi.codebook_taguette_csv`.

Coming back: :func:`read_export` reads the ``.sqlite3`` into the same
:class:`~analyse.exchange.refi.RefiProject` a ``.qdpx`` gives, offsets turned into
code points, so ``analyse refi import projet.sqlite3 --coder-map admin=B``
goes through the same mapping, duplicate check and all-or-nothing write.
"""

from __future__ import annotations

import html
import json
import sqlite3
from html.parser import HTMLParser
from pathlib import Path

from analyse.model.corpus import Corpus
from analyse.errors import AnalyseError, Problems, UsageError
from analyse.messages import msg
from analyse.fileio import atomic_write

SQLITE_MAGIC = b"SQLite format 3\x00"
# Taguette's single-user export names every member "admin": it does not keep
# who made a highlight, so the import needs --coder-map admin=CODER.
TAGUETTE_USER = "admin"
NAME_MAX = 50  # Taguette refuses longer document names


def document_html(text: str, title: str = "") -> str:
    """A body as an HTML page whose text nodes, concatenated, are ``text`` exactly.

    Examples
    --------
    >>> page = document_html("« Bonjour » 🌱\\n\\nSuite & fin")
    >>> html_text(page.split("<body>")[1].split("</body>")[0])
    '« Bonjour » 🌱\\n\\nSuite & fin'
    """
    # One <p> per line keeps the document readable in Taguette; the newline
    # between paragraphs is a text node there too, so the offsets stay ours.
    paragraphs = "\n".join(f"<p>{html.escape(line, quote=False)}</p>" for line in text.split("\n"))
    return (f'<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title></head><body>{paragraphs}</body></html>\n")


class _TextNodes(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_text(fragment: str) -> str:
    """The text Taguette counts its offsets in: every text node of ``fragment``, in order.

    The standard library's tokenizer is used rather than lxml's HTML parser,
    which drops whitespace-only text nodes between blocks that Taguette
    (html5lib) keeps and counts.

    Examples
    --------
    >>> html_text("<p>L&#x27;été</p>\\n<p>a &amp; b</p>")
    "L'été\\na & b"
    """
    parser = _TextNodes()
    parser.feed(fragment)
    parser.close()
    return "".join(parser.parts)


def byte_offsets(text: str, start: int, end: int) -> tuple[int, int]:
    """Code-point offsets ``[start, end)`` of ``text`` as Taguette's UTF-8 byte offsets.

    >>> byte_offsets("été 🌱 ok", 6, 8)
    (11, 13)
    """
    head = len(text[:start].encode("utf-8"))
    return head, head + len(text[start:end].encode("utf-8"))


class ByteToChar:
    """Turn UTF-8 byte offsets into code points of one text.

    An offset inside a multi-byte character moves to the end of that
    character, as Taguette does when it cuts a snippet.

    >>> conv = ByteToChar("été 🌱 ok")
    >>> conv(11), conv(13), conv(7)  # 7 falls inside 🌱 (bytes 6-9)
    (6, 8, 5)
    """

    def __init__(self, text: str):
        self.text = text
        self.data = text.encode("utf-8")
        self.length = len(self.data)

    def __call__(self, pos: int) -> int:
        if not 0 <= pos <= self.length:
            raise IndexError(pos)
        while pos < self.length and 0x80 <= self.data[pos] <= 0xBF:
            pos += 1
        return len(self.data[:pos].decode("utf-8"))


def is_taguette_export(path: str | Path) -> bool:
    """Whether ``path`` starts like an SQLite database (Taguette's project export)."""
    with open(path, "rb") as fh:
        return fh.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC


def _query(db: sqlite3.Connection, sql: str, label: str) -> list[sqlite3.Row]:
    try:
        return db.execute(sql).fetchall()
    except sqlite3.DatabaseError as exc:
        raise AnalyseError(msg("tag.not_export", error=exc), label, hint=msg("tag.not_export_hint")) from None


def _highlight_dates(db: sqlite3.Connection, label: str) -> dict[int, str]:
    """``{highlight id: ISO date}`` from Taguette's command log (the export keeps it)."""
    dates: dict[int, str] = {}
    for row in _query(db, "SELECT date, payload FROM commands ORDER BY id", label):
        try:
            payload = json.loads(row["payload"])
        except (TypeError, ValueError):
            continue
        if isinstance(payload, dict) and payload.get("type") == "highlight_add":
            hid = payload.get("highlight_id")
            if isinstance(hid, int) and row["date"]:
                # Taguette stores naive UTC times.
                dates[hid] = str(row["date"]).replace(" ", "T").split(".")[0] + "+00:00"
    return dates


def read_export(path: str | Path):
    """Read a Taguette project export (``.sqlite3``) as a :class:`~analyse.exchange.refi.RefiProject`.

    Tags become codes (named by their path), documents become sources whose
    text is their HTML's text nodes, highlights become selections with
    code-point offsets, all made by the user ``admin`` (Taguette's export
    keeps no author). A highlight whose offsets fall outside its document is
    an error; one whose snippet (cut by Taguette from the same offsets) is
    not the text found there is a warning.

    Examples
    --------
    >>> p = read_export("2026-11-26_balises.sqlite3")  # doctest: +SKIP
    >>> p.origin, p.unit  # doctest: +SKIP
    ('Taguette', 'utf8')
    """
    from analyse.exchange.refi import RefiCode, RefiCoding, RefiProject, RefiSelection, RefiSource

    path = Path(path)
    label = str(path)
    if not path.is_file():
        raise UsageError(msg("no_such_file"), label)
    # Read-only, so a file the user opened by mistake is never modified.
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise AnalyseError(msg("tag.cannot_open", error=exc), label) from None
    db.row_factory = sqlite3.Row
    problems = Problems()
    try:
        projects = _query(db, "SELECT id, name FROM projects ORDER BY id", label)
        if len(projects) != 1:
            raise AnalyseError(msg("tag.projects", n=len(projects)), label, hint=msg("tag.projects_hint"))
        codes = {f"taguette-tag-{r['id']}": RefiCode(f"taguette-tag-{r['id']}", r["path"], (r["path"],),
                                                    r["description"] or "")
                 for r in _query(db, "SELECT id, path, description FROM tags ORDER BY id", label)}
        tags_of: dict[int, list[str]] = {}
        for r in _query(db, "SELECT highlight_id, tag_id FROM highlight_tags ORDER BY tag_id", label):
            tags_of.setdefault(r["highlight_id"], []).append(f"taguette-tag-{r['tag_id']}")
        dates = _highlight_dates(db, label)
        highlights: dict[int, list[sqlite3.Row]] = {}
        for r in _query(db, "SELECT id, document_id, start_offset, end_offset, snippet FROM highlights "
                            "ORDER BY document_id, start_offset, id", label):
            highlights.setdefault(r["document_id"], []).append(r)
        sources = []
        for doc in _query(db, "SELECT id, name, contents FROM documents ORDER BY id", label):
            text = html_text(doc["contents"] or "")
            conv = ByteToChar(text)
            source = RefiSource(f"taguette-doc-{doc['id']}", doc["name"] or "", text)
            for hl in highlights.get(doc["id"], []):
                where = msg("tag.where", id=hl["id"], doc=source.name)
                try:
                    s, e = conv(hl["start_offset"]), conv(hl["end_offset"])
                except IndexError:
                    problems.add(label, msg("tag.beyond", where=where, start=hl["start_offset"], end=hl["end_offset"],
                                             n=conv.length), hint=msg("tag.beyond_hint"))
                    continue
                if e <= s:
                    problems.add(label, msg("tag.empty", where=where), severity="warning")
                    continue
                snippet = html_text(hl["snippet"] or "")
                if snippet and snippet != text[s:e]:
                    problems.add(label, msg("tag.snippet", where=where, snippet=snippet[:40], text=text[s:e][:40]),
                                 severity="warning")
                codings = [RefiCoding(tag, TAGUETTE_USER, dates.get(hl["id"], ""))
                           for tag in tags_of.get(hl["id"], [])]
                source.selections.append(RefiSelection(f"taguette-highlight-{hl['id']}", s, e, "", "",
                                                       codings, None))
            sources.append(source)
    finally:
        db.close()
    users = {TAGUETTE_USER: {"name": TAGUETTE_USER, "id": TAGUETTE_USER}}
    return RefiProject(label, "project", "Taguette", users, codes, sources, {}, "utf8", problems)


def export_documents(corpus: Corpus, book, out: str | Path, doc_ids: list[str] | None = None) -> list[Path]:
    """Write ``<doc>.html`` per document and ``codebook.csv`` into ``out``, ready for Taguette.

    In Taguette, import each ``.html`` as a document (keep its name: it is the
    document id the import matches on) and ``codebook.csv`` with *Import
    codebook*. Returns the files written.
    """
    from analyse.exchange.refi import codebook_taguette_csv

    from analyse.exchange.sheet import select_documents

    ids = select_documents(corpus, doc_ids)
    too_long = [d for d in ids if len(d) > NAME_MAX]
    if too_long:
        raise UsageError(msg("tag.id_too_long", n=NAME_MAX, ids=", ".join(too_long)))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for doc_id in ids:
        doc = corpus.documents[doc_id]
        written.append(atomic_write(out / f"{doc_id}.html", document_html(doc.body, doc.title).encode("utf-8")))
    written.append(atomic_write(out / "codebook.csv", codebook_taguette_csv(book).encode("utf-8")))
    return written
