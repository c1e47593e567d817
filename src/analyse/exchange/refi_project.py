"""Whole projects from other QDA tools: sources, codes, codings and memos.

``analyse refi import PROJECT.qdpx --territory T`` (or ``--territory-map``)
brings in what :func:`analyse.exchange.refi.import_project` leaves behind
because it only maps codings onto documents and codes that already exist:

- each *text* source becomes ``corpus/<territory>/<id>.md``. Its plain text
  (``sources/`` entry or ``PlainTextContent``) becomes a body of speaker turns
  (:func:`analyse.exchange.plaintext.text_to_body`). The front matter records
  ``source_guid``, so a second import recognises the document;
- the codes that are not ours are appended to the codebook as *candidate*
  codes (``status: emergent``, id ``EMG.<slug>``, original name as label,
  description as definition). They are never merged into the balises;
- the codings go to each coder's file, with positions mapped from the
  source text (UTF-16 for NVivo, see :class:`~analyse.exchange.refi.OffsetConverter`)
  to the written body;
- the memos (selection descriptions, ``Notes`` reached by ``NoteRef``) become
  coding memos when they belong to a coding that is imported. All other memos
  (notes of the project, of a source, of a code, or of a selection that could
  not be placed) go to ``corpus/memos.jsonl``, one JSON object per line.

Each document is validated by loading it before anything is written. Then the
documents, the codebook, the memos and the coder files are replaced in one
all-or-nothing write (:func:`analyse.fileio.atomic_write_across`, under the
coders' locks of :class:`~analyse.model.codings.CodingStore`): a crash at any
point leaves the project as it was or fully imported once it is opened again.
Importing the same file again adds nothing.

Why this module is long: documents, candidate codes, codings and memos are
planned together because they depend on each other (a coding needs its
document's position map and its code's new id; a memo goes to a coding only if
that coding is imported). Split apart, each part would need the others'
intermediate tables.
"""

from __future__ import annotations

import csv
import datetime as _dt
import re
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from lxml import etree

from analyse.errors import AnalyseError, CodebookError, Problems, UsageError
from analyse.exchange.refi import (ATLAS_PSEUDO_USER, RefiProject, _entry_index, _existing_keys, _open_zip,
                                   _our_guids, _p, _parse_xml, _source_text, match_code, match_source,
                                   guid_for, norm_guid, read_project)
from analyse.fileio import dumps_line
from analyse.model.codebook import EMERGENT, EMERGENT_PREFIX, Codebook, _bump_patch, validate_codebook
from analyse.model.codings import CODER_ID, CodingStore, check_coder_id, now_iso
from analyse.model.corpus import KINDS, TERRITORY_SLUG, Corpus, load_document
from analyse.model.memos import MemoStore, parse_target
from analyse.project import data_root
from analyse.exchange.plaintext import UNKNOWN_SPEAKER, BodyMap, slugify, text_to_body, unique

MEMOS_FILE = "memos.jsonl"
BALISES_ORIGIN = "Balises analyse"   # start of refi.ORIGIN: notes this origin wrote name their memo's target


# ---------------------------------------------------------------- extra reading

@dataclass
class Note:
    guid: str
    name: str
    text: str
    user: str
    at: str


@dataclass
class ProjectExtras:
    """What :func:`read_project` does not keep: dates, descriptions, notes and where they hang."""

    created: str
    description: str
    source_dates: dict[str, str]  # source GUID -> creationDateTime
    source_descriptions: dict[str, str]
    notes: dict[str, Note]
    # NoteRef owners: note GUID -> [(kind, guid, code guid)]; kind is "project", "source", "code",
    # "selection" or "coding" (then guid is the selection's and code guid the coding's code).
    note_refs: dict[str, list[tuple[str, str, str]]]
    # source GUID -> [(selection GUID, name, description, codings, user, at)], for what read_project drops
    selections: dict[str, list[tuple[str, str, str, int, str, str]]] = field(default_factory=dict)
    media_codings: int = 0  # codings on pictures, PDF, audio, video (not text sources)


def _text_of(el) -> str:
    return (el.text or "").strip() if el is not None else ""


def read_extras(path: str | Path) -> ProjectExtras:
    """Read the parts of ``project.qde`` the codings import does not need."""
    zf, qde = _open_zip(path, str(path))
    where = f"{path}:{qde}"
    root = _parse_xml(zf.read(qde), where)
    entries = _entry_index(zf)
    dates, descs, sels = {}, {}, {}
    text_codings = 0
    for src in root.iter(_p("TextSource")):
        g = norm_guid(src.get("guid"))
        dates[g] = src.get("creationDateTime") or ""
        descs[g] = _text_of(src.find(_p("Description")))
        sels[g] = [(norm_guid(sel.get("guid")), sel.get("name") or "", _text_of(sel.find(_p("Description"))),
                    len(sel.findall(_p("Coding"))), norm_guid(sel.get("creatingUser")),
                    sel.get("creationDateTime") or "") for sel in src.findall(_p("PlainTextSelection"))]
        text_codings += sum(x[3] for x in sels[g])
    media = sum(1 for c in root.iter(_p("Coding")) if etree.QName(c.getparent()).localname.endswith("Selection")) \
        - text_codings
    notes = {}
    for n in root.iter(_p("Note")):
        # A Note is a TextSourceType: its text is read like a source's (content, or an entry of the archive).
        text = (_source_text(zf, entries, n, where, Problems()) or "").strip()
        desc = _text_of(n.find(_p("Description")))
        text = "\n\n".join(t for t in (desc, text) if t)
        notes[norm_guid(n.get("guid"))] = Note(norm_guid(n.get("guid")), n.get("name") or "", text,
                                               norm_guid(n.get("creatingUser")), n.get("creationDateTime") or "")
    refs: dict[str, list[tuple[str, str, str]]] = {}
    for ref in root.iter(_p("NoteRef")):
        owner = ref.getparent()
        kind = etree.QName(owner).localname
        code = ""
        if kind == "Coding":
            cref = owner.find(_p("CodeRef"))
            code = norm_guid(cref.get("targetGUID")) if cref is not None else ""
            owner, kind = owner.getparent(), "coding"
        elif kind == "PlainTextSelection":
            kind = "selection"
        elif kind == "TextSource":
            kind = "source"
        elif kind == "Code":
            kind = "code"
        else:
            kind = "project"
        refs.setdefault(norm_guid(ref.get("targetGUID")), []).append((kind, norm_guid(owner.get("guid")), code))
    return ProjectExtras(root.get("creationDateTime") or "", _text_of(root.find(_p("Description"))),
                         dates, descs, notes, refs, sels, media)


def read_territory_map(path: str | Path) -> dict[str, str]:
    """``source name -> territory slug`` from a two-column CSV (header ``source,territory`` optional)."""
    path = Path(path)
    if not path.is_file():
        raise UsageError("fichier de correspondance des territoires introuvable", str(path))
    text = path.read_text(encoding="utf-8-sig")
    try:
        dialect = csv.Sniffer().sniff(text.splitlines()[0] if text.strip() else ",", delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    result = {}
    for i, row in enumerate(csv.reader(text.splitlines(), dialect), start=1):
        if not row or not any(c.strip() for c in row):
            continue
        if len(row) < 2:
            raise UsageError("ligne sans deux colonnes (source, territoire)", str(path), i)
        name, slug = row[0].strip(), row[1].strip()
        if i == 1 and (name.lower(), slug.lower()) in (("source", "territory"), ("source", "territoire")):
            continue
        result[name] = check_territory(slug, f"{path}:{i}")
    return result


def check_territory(slug: str, where: str = "--territory") -> str:
    if not TERRITORY_SLUG.match(slug or ""):
        raise UsageError(f"territoire '{slug}' : pas un identifiant de territoire", where,
                         hint="minuscules, chiffres et tirets, p. ex. grande-synthe")
    return slug


# ---------------------------------------------------------------- plan

@dataclass
class ProjectImport:
    """What a whole-project import found and (unless dry-run) wrote."""

    path: str
    origin: str
    documents: dict[str, str] = field(default_factory=dict)  # new doc id -> file text
    document_paths: dict[str, Path] = field(default_factory=dict)
    bodies: dict[str, str] = field(default_factory=dict)  # new doc id -> body (offsets point into it)
    documents_present: list[str] = field(default_factory=list)
    sources_skipped: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)
    codes_new: list[dict] = field(default_factory=list)
    codes_present: int = 0
    codes_ours: dict[str, str] = field(default_factory=dict)  # foreign name -> our id
    codings: dict[str, list[dict]] = field(default_factory=dict)
    duplicates: dict[str, int] = field(default_factory=dict)
    unplaced: int = 0
    skipped_users: dict[str, int] = field(default_factory=dict)
    coding_memos: int = 0
    memos: list[dict] = field(default_factory=list)  # new lines of memos.jsonl
    memos_present: int = 0
    media_codings: int = 0
    codebook_text: str | None = None
    problems: Problems = field(default_factory=Problems)
    written: dict[str, int] = field(default_factory=dict)

    @property
    def n_codings(self) -> int:
        return sum(len(v) for v in self.codings.values())

    def summary(self) -> str:
        lines = [f"{Path(self.path).name} ({self.origin or 'origine inconnue'})",
                 f"documents : {len(self.documents)} nouveau(x), {len(self.documents_present)} déjà présent(s)"]
        for doc_id, path in self.document_paths.items():
            lines.append(f"  + {path}")
        for name, why in self.sources_skipped:
            lines.append(f"  source « {name} » non importée : {why}")
        lines.append(f"codes candidats : {len(self.codes_new)} nouveau(x), {self.codes_present} déjà présent(s)"
                     + (f" ; {len(self.codes_ours)} code(s) reconnu(s) dans la grille" if self.codes_ours else ""))
        lines.append(f"codages : {self.n_codings} nouveau(x), {sum(self.duplicates.values())} déjà présent(s)")
        for coder in sorted(set(self.codings) | set(self.duplicates)):
            lines.append(f"  {coder} : {len(self.codings.get(coder, []))} nouveau(x), "
                         f"{self.duplicates.get(coder, 0)} déjà présent(s)")
        if self.unplaced:
            lines.append(f"  {self.unplaced} codage(s) non placé(s) (source sans texte ou position hors du texte)")
        if self.media_codings:
            lines.append(f"  {self.media_codings} codage(s) sur image, PDF, audio ou vidéo non importé(s)")
        for name, n in sorted(self.skipped_users.items()):
            lines.append(f"  utilisateur « {name} » ignoré : {n} codage(s) (voir --coder-map)")
        lines.append(f"mémos : {self.coding_memos} sur des codages, {len(self.memos)} nouveau(x) dans "
                     f"{MEMOS_FILE}, {self.memos_present} déjà présent(s)")
        return "\n".join(lines)


def _coder(user_guid: str, users: dict[str, dict], coder_map: dict[str, str]) -> str | None:
    """Coder id of a REFI user: --coder-map (then only mapped users), else the user name when it is
    a valid coder id (as the codings-only import does, so both give the same coder), else its slug."""
    user = users.get(user_guid, {"name": "", "id": ""})
    if coder_map:
        for k in (user["name"], user["id"], user_guid):
            if k and k in coder_map:
                return coder_map[k]
        return None
    if user_guid == ATLAS_PSEUDO_USER:
        return None
    name = user["name"] or user["id"]
    if CODER_ID.match(name):
        return name
    slug = slugify(name)
    return check_coder_id(slug) if slug else UNKNOWN_SPEAKER


def _date(value: str, *fallbacks: str) -> str:
    for v in (value, *fallbacks):
        try:
            return _dt.datetime.fromisoformat((v or "").replace("Z", "+00:00")).date().isoformat()
        except ValueError:
            continue
    return _dt.date.today().isoformat()


def _front_matter(meta: dict) -> str:
    return "---\n" + yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=10**6) + "---\n"


def _memo_target(target: str) -> dict:
    """The memos file's ``target_type`` / ``target`` (analyse.model.memos) for an imported note's target.

    A note on a source that was not imported, or on a selection that could not be placed, hangs on the
    project, the original target kept in ``source``: nothing the other tool wrote is dropped.
    """
    kind, _, value = target.partition(":")
    if kind in ("document", "code", "segment"):
        return {"id": f"m-{uuid.uuid4().hex[:12]}", "target_type": kind, "target": value}
    if kind == "project":
        return {"id": f"m-{uuid.uuid4().hex[:12]}", "target_type": "project", "target": ""}
    return {"id": f"m-{uuid.uuid4().hex[:12]}", "target_type": "project", "target": "", "source": target}


def _balises_target(name: str) -> tuple[str, str] | None:
    """``(target_type, target)`` of a note Balises exported (named ``segment:ID``, ``project``…), else None."""
    try:
        kind, target = parse_target(name)
    except UsageError:
        return None
    if kind == "coding" and len(target.split(":")) != 3:
        return None
    return kind, target


def _memo_key(rec: dict) -> tuple:
    return (rec.get("source") or f"{rec.get('target_type')}:{rec.get('target')}", rec.get("start"),
            rec.get("end"), rec.get("text"))


def plan_project(project: RefiProject, extras: ProjectExtras, corpus: Corpus, book: Codebook,
                 territory_of, coder_map: dict[str, str] | None = None, store: CodingStore | None = None,
                 kind: str = "entretien", language: str = "fr") -> ProjectImport:
    """Map a read project onto new documents, candidate codes, codings and memos; write nothing.

    ``territory_of(source_name)`` gives the territory slug of a new document.
    """
    coder_map = coder_map or {}
    if kind not in KINDS:
        raise UsageError(f"type de document '{kind}' inconnu", hint=f"parmi : {', '.join(KINDS)}")
    known_users = {k for u in project.users.values() for k in (u["name"], u["id"]) if k} | set(project.users)
    for other in coder_map:
        if other not in known_users:
            names = ", ".join(sorted(u["name"] for u in project.users.values())) or "aucun"
            raise UsageError(f"--coder-map : pas d'utilisateur '{other}' dans {project.path}",
                             hint=f"utilisateurs : {names}")
    plan = ProjectImport(project.path, project.origin)
    plan.problems.extend(project.problems)
    label = Path(project.path).name

    # Codes: ours (by GUID or name), candidates already appended (by GUID), new candidates.
    by_guid = _our_guids(book)
    emergent_by_guid = {norm_guid(c.source_guid): c.id for c in book.emergent.values() if c.source_guid}
    taken = set(book.codes) | set(book.emergent)
    by_name: dict[str, str] = {}
    code_id: dict[str, str] = {}
    for g, code in project.codes.items():
        ours = emergent_by_guid.get(g) or match_code(code, book, by_guid)
        if ours and ours in book.emergent:  # a candidate already in the codebook (same GUID or name)
            code_id[g] = ours
            plan.codes_present += 1
        elif ours:
            code_id[g] = ours
            plan.codes_ours[code.name] = ours
        elif g in by_guid:  # one of our dimensions, exported as a non-codable parent: not a candidate
            continue
        else:
            cid = unique(EMERGENT_PREFIX + (slugify(code.name) or "code"), taken)
            parent = code_id.get(_parent_guid(project, code), None)
            entry = {"id": cid, "label": code.name, "status": EMERGENT, "parent": parent,
                     "definition": code.description.strip(), "source_guid": code.guid,
                     "imported_from": f"{label} ({project.origin})" if project.origin else label}
            if not code.codable:
                entry["codable"] = False
            plan.codes_new.append(entry)
            code_id[g] = cid
        by_name[code.name] = code_id[g]
    # ATLAS.ti writes hierarchy in names (« Parent::enfant », parents often after), Taguette « parent.enfant ».
    sep = "." if project.origin.startswith("Taguette") else "::"
    for entry in plan.codes_new:
        if entry["parent"] is None and sep in entry["label"]:
            entry["parent"] = by_name.get(entry["label"].rsplit(sep, 1)[0])

    # Documents: already imported (source_guid), already in the corpus (name or text), or new.
    by_source_guid = {norm_guid(str(d.meta.get("source_guid"))): d.id for d in corpus.documents.values()
                      if d.meta.get("source_guid")}
    doc_ids = set(corpus.documents)
    placed: dict[str, tuple[str, str, BodyMap | None]] = {}  # source GUID -> (doc id, body, map)
    for src in project.sources:
        if src.text is None:
            plan.sources_skipped.append((src.name, "pas de texte brut dans l'archive"))
            continue
        if not src.text.strip():
            plan.sources_skipped.append((src.name, "texte vide"))
            continue
        body, participants, bmap = text_to_body(src.text)
        doc_id = by_source_guid.get(src.guid) or match_source(src, corpus)
        if doc_id:
            plan.documents_present.append(doc_id)
            existing = corpus.documents[doc_id].body
            if existing == body:
                placed[src.guid] = (doc_id, existing, bmap)
            elif existing == src.text:
                placed[src.guid] = (doc_id, existing, None)  # our own export: same offsets
            else:
                placed[src.guid] = (doc_id, existing, ("requote", body, bmap))
            continue
        territory = territory_of(src.name)
        doc_id = unique(slugify(re.sub(r"\.(txt|docx?|rtf|odt|pdf)$", "", src.name, flags=re.I)) or "document",
                         doc_ids)
        meta = {"id": doc_id, "title": src.name or doc_id, "territory": territory, "kind": kind,
                "atelier": "none", "date": _date(extras.source_dates.get(src.guid, ""), extras.created),
                "language": language, "synthetic": False, "participants": participants,
                "source_guid": src.guid, "imported_from": label}
        plan.documents[doc_id] = _front_matter(meta) + body
        plan.document_paths[doc_id] = Path(territory) / f"{doc_id}.md"
        plan.bodies[doc_id] = body
        placed[src.guid] = (doc_id, body, bmap)
    _check_documents(plan)

    # Codings and the memos hanging on selections.
    memos_path = Path(corpus.root) / MEMOS_FILE
    known_memos = {_memo_key(r) for r in MemoStore(memos_path).records()}
    notes_on: dict[tuple[str, str], list[str]] = {}
    used_notes: set[str] = set()
    # Notes Balises wrote (refi.export_project) name their memo's exact target: restored as they were.
    ours = {ng: target for ng, note in extras.notes.items()
            if project.origin.startswith(BALISES_ORIGIN) and (target := _balises_target(note.name))}
    used_notes.update(ours)
    for ng, owners in extras.note_refs.items():
        for kind_, owner, code in owners:
            if kind_ in ("selection", "coding") and ng in extras.notes:
                notes_on.setdefault((owner, code), []).append(ng)
    existing: dict[str, set] = {}
    sel_info = {x[0]: (x[4], x[5]) for sels in extras.selections.values() for x in sels}

    def add_memo(target: str, text: str, user: str = "", at: str = "", **extra) -> None:
        if not text.strip():
            return
        author = (_coder(user, project.users, {}) if user else "") or ""
        rec = {**_memo_target(target), "text": text.strip(), "author": author or label, "at": at or now_iso(),
               **extra, "from": label}
        if _memo_key(rec) in known_memos:
            plan.memos_present += 1
            return
        known_memos.add(_memo_key(rec))
        plan.memos.append(rec)

    doc_of = {src.name: placed[src.guid][0] for src in project.sources if src.guid in placed}

    def code_of(code: str) -> str:        # a code the codebook lacked came in as a candidate (EMG.…)
        return code_id.get(norm_guid(guid_for("code", code)), code)

    for ng, (kind_, target) in ours.items():
        note = extras.notes[ng]
        if kind_ in ("document", "segment"):
            doc, sep, n = target.partition("#")
            target = doc_of.get(doc, doc) + sep + n
        elif kind_ == "coding":
            coder, segment, code = target.split(":")
            doc, _, n = segment.partition("#")
            target = f"{(coder_map or {}).get(coder, coder)}:{doc_of.get(doc, doc)}#{n}:{code_of(code)}"
        elif kind_ == "code":
            target = code_of(target)
        author = project.users.get(note.user, {}).get("name") or label
        rec = {"id": f"m-{uuid.uuid4().hex[:12]}", "target_type": kind_, "target": target, "text": note.text,
               "author": author, "at": note.at or now_iso(), "from": label}
        if not note.text.strip():
            continue
        if _memo_key(rec) in known_memos:
            plan.memos_present += 1
            continue
        known_memos.add(_memo_key(rec))
        plan.memos.append(rec)

    for src in project.sources:
        where = placed.get(src.guid)
        for sel in src.selections:
            sel_notes = [extras.notes[n] for n in notes_on.get((sel.guid, ""), [])]
            imported, kept = False, False
            if where is not None:
                doc_id, body, how = where
                s, e = _place(sel.start, sel.end, src.text, body, how)
            else:
                doc_id, s, e = None, None, None
            for c in sel.codings:
                cid = code_id.get(c.code)
                if where is None or s is None or cid is None:
                    plan.unplaced += 1
                    continue
                coder = _coder(c.user, project.users, coder_map)
                if coder is None:
                    uname = project.users.get(c.user, {}).get("name") or c.user or "(sans utilisateur)"
                    plan.skipped_users[uname] = plan.skipped_users.get(uname, 0) + 1
                    continue
                if coder not in existing:
                    existing[coder] = _existing_keys(store, coder)
                coding_notes = [n for n in notes_on.get((sel.guid, c.code), []) if extras.notes[n].text]
                memo = "\n\n".join(t for t in [sel.memo] + [n.text for n in sel_notes] +
                                   [extras.notes[n].text for n in coding_notes] if t)
                key = (doc_id, s, e, cid)
                if key in existing[coder]:
                    plan.duplicates[coder] = plan.duplicates.get(coder, 0) + 1
                    plan.memos_present += len(set(coding_notes) - used_notes)
                    used_notes.update(coding_notes)
                    kept = True
                    continue
                existing[coder].add(key)
                imported = True
                plan.coding_memos += len(set(coding_notes) - used_notes)
                used_notes.update(coding_notes)
                plan.codings.setdefault(coder, []).append({
                    "doc": doc_id, "start": s, "end": e, "quote": body[s:e], "code": cid, "coder": coder,
                    "at": c.at or now_iso(), "origin": "human", "score": None, "memo": memo})
            memo_texts = [sel.memo] + [n.text for n in sel_notes]
            if imported or kept:
                n_memos = sum(1 for t in memo_texts if t)
                if imported:
                    plan.coding_memos += n_memos
                else:
                    plan.memos_present += n_memos
                used_notes.update(n.guid for n in sel_notes)
                continue
            # No coding of this selection came in: its memos are kept beside the corpus.
            target = f"document:{doc_id}" if doc_id and s is not None else f"source:{src.name}"
            extra = {"start": s, "end": e, "quote": body[s:e]} if doc_id and s is not None else \
                {"quote": sel.name} if sel.name else {}
            user, at = sel_info.get(sel.guid, ("", ""))
            for t in memo_texts:
                add_memo(target, t, user, at, **extra)
            used_notes.update(n.guid for n in sel_notes)
        # Selections read_project could not place (no text, positions outside it): count and keep memos.
        seen = {sel.guid for sel in src.selections}
        for guid, name, desc, n, user, at in extras.selections.get(src.guid, []):
            if guid in seen:
                continue
            plan.unplaced += n
            target = f"document:{where[0]}" if where else f"source:{src.name}"
            add_memo(target, desc, user, at, **({"quote": name} if name else {}))
            for ng in notes_on.get((guid, ""), []):
                note = extras.notes[ng]
                add_memo(target, note.text, note.user, note.at, **({"quote": name} if name else {}))
                used_notes.add(ng)
    plan.media_codings = extras.media_codings

    # Other memos: project, sources, codes, notes not attached to an imported coding.
    add_memo("project", extras.description)
    for src in project.sources:
        doc = placed.get(src.guid)
        desc = extras.source_descriptions.get(src.guid, "")
        if doc and doc[0] in corpus.documents and desc == corpus.documents[doc[0]].title:
            continue  # our own export describes each source by its title: not a memo
        add_memo(f"document:{doc[0]}" if doc else f"source:{src.name}", desc)
    for ng, note in extras.notes.items():
        if ng in ours:
            continue                      # restored above, with its exact target
        owners = extras.note_refs.get(ng) or [("project", "", "")]
        for kind_, owner, code in owners:
            if kind_ in ("selection", "coding") and ng in used_notes:
                continue
            if kind_ == "source":
                doc = placed.get(owner)
                src_name = next((s.name for s in project.sources if s.guid == owner), owner)
                target = f"document:{doc[0]}" if doc else f"source:{src_name}"
            elif kind_ == "code":
                target = f"code:{code_id.get(owner, owner)}"
            elif kind_ in ("selection", "coding"):
                target = f"selection:{owner}"
            else:
                target = "project"
            add_memo(target, note.text, note.user, note.at, **({"title": note.name} if note.name else {}))

    if plan.codes_new:
        plan.codebook_text = _codebook_with(Path(book.path), plan.codes_new, label)
    return plan


def _parent_guid(project: RefiProject, code) -> str:
    if len(code.path) < 2:
        return ""
    for g, other in project.codes.items():
        if other.path == code.path[:-1]:
            return g
    return ""


def _place(start: int, end: int, text: str, body: str, how) -> tuple[int | None, int | None]:
    """Body offsets of a selection of the source text, or ``(None, None)``."""
    if how is None:
        return (start, end) if 0 <= start < end <= len(body) else (None, None)
    if isinstance(how, BodyMap):
        s, e = how.start(start), how.end(end)
        return (s, e) if e > s else (None, None)
    _, rebuilt, bmap = how  # the document changed since: find the quote again
    s, e = bmap.start(start), bmap.end(end)
    if e <= s:
        return None, None
    quote = rebuilt[s:e]
    hits = [m.start() for m in re.finditer(re.escape(quote), body)]
    if not hits:
        return None, None
    s = min(hits, key=lambda h: abs(h - s))
    return s, s + len(quote)


def _check_documents(plan: ProjectImport) -> None:
    """Load every new document from a scratch folder: what is written must validate."""
    with tempfile.TemporaryDirectory(prefix="balises-refi-") as tmp:
        for doc_id, text in plan.documents.items():
            path = Path(tmp) / plan.document_paths[doc_id]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            doc, _, problems = load_document(path, tmp)
            for p in problems.errors[:3]:
                plan.problems.add(f"{plan.path} → {plan.document_paths[doc_id]}", p.message, p.line, p.hint)
            if doc is not None and doc.body != plan.bodies[doc_id]:
                plan.problems.add(plan.path, f"le document {doc_id} ne se relit pas à l'identique")


def _codebook_with(path: Path, entries: list[dict], label: str) -> str:
    """The codebook file text with ``entries`` appended to its ``codes`` list (comments kept) and its
    patch version bumped, as :func:`analyse.model.codebook.append_code` does for one code."""
    text = path.read_text(encoding="utf-8-sig")
    root = yaml.compose(text)
    keys = [k.value for k, _ in root.value] if isinstance(root, yaml.MappingNode) else []
    if not keys or keys[-1] != "codes" or root.value[-1][1].flow_style:
        raise CodebookError("impossible d'ajouter les codes candidats : la liste « codes » doit être "
                            "la dernière clé du fichier, en style bloc", str(path),
                            hint="déplacer « codes: » à la fin du codebook")
    seq = root.value[-1][1]
    indent = " " * (seq.start_mark.column if seq.value else 2)  # the column of the items' dashes
    dumped = yaml.safe_dump(entries, allow_unicode=True, sort_keys=False, width=10**6)
    block = "".join(indent + line + "\n" for line in dumped.splitlines())
    comment = (f"{indent}# Codes candidats importés de {label} le {_dt.date.today().isoformat()} : "
               "à examiner, hors des balises.\n")
    new = text.rstrip("\n") + "\n\n" + comment + block
    version = str(yaml.safe_load(text).get("version") or "")
    if version:
        new = re.sub(r'^(version:\s*)(["\']?)' + re.escape(version) + r'\2\s*$',
                     lambda m: f"{m.group(1)}{m.group(2)}{_bump_patch(version)}{m.group(2)}", new, count=1,
                     flags=re.M)
    return new


def import_whole_project(path: str | Path, corpus: Corpus, book: Codebook, codings_folder: str | Path,
                         territory: str | None = None, territory_map: dict[str, str] | None = None,
                         coder_map: dict[str, str] | None = None, dry_run: bool = False,
                         offsets: str = "auto", kind: str = "entretien",
                         language: str = "fr") -> ProjectImport:
    """Import a whole REFI-QDA project: documents, candidate codes, codings and memos.

    Nothing is written when an error is found (a document that would not
    validate, a selection beyond its text...) or with ``dry_run``.

    Examples
    --------
    >>> r = import_whole_project("projet.qdpx", corpus, book, "corpus/codings",
    ...                          territory="le-mene", dry_run=True)  # doctest: +SKIP
    >>> len(r.documents), len(r.codes_new)  # doctest: +SKIP
    (2, 152)
    """
    if territory is None and not territory_map:
        raise UsageError("indiquer le territoire des documents importés",
                         hint="--territory SLUG ou --territory-map FICHIER.csv")
    if territory is not None:
        check_territory(territory)
    territory_map = territory_map or {}
    project = read_project(path, offsets)
    if project.origin == "Taguette":
        raise UsageError("un export Taguette reprend des documents du corpus : il ne s'importe pas en entier",
                         str(path), hint="sans --territory, l'import prend ses surlignages")
    missing = [s.name for s in project.sources if s.text and s.text.strip()
               and s.name not in territory_map and _stem(s.name) not in territory_map]
    if missing and territory is None:
        raise UsageError(f"{len(missing)} source(s) sans territoire dans --territory-map : "
                         + ", ".join(missing[:5]), hint="ajouter une ligne « source,territoire » ou --territory")

    def territory_of(name: str) -> str:
        return territory_map.get(name) or territory_map.get(_stem(name)) or territory

    store = CodingStore(codings_folder)
    # A codebook (.qdc) brings candidate codes only.
    extras = read_extras(path) if project.kind == "project" else ProjectExtras("", "", {}, {}, {}, {})
    plan = plan_project(project, extras, corpus, book, territory_of, coder_map, store, kind, language)
    errors = plan.problems.errors
    if errors:
        first = errors[0]
        more = f" ; {len(errors) - 1} autre(s) erreur(s)" if len(errors) > 1 else ""
        raise AnalyseError(first.message, first.path, first.line,
                           hint=(first.hint + " ; " if first.hint else "") + f"rien n'a été importé{more}")
    if plan.codebook_text is not None:
        with tempfile.TemporaryDirectory(prefix="balises-refi-") as tmp:
            scratch = Path(tmp) / "codebook.yaml"
            scratch.write_text(plan.codebook_text, encoding="utf-8")
            checked, problems = validate_codebook(scratch)
            if checked is None:
                first = problems.errors[0]
                raise CodebookError(f"codes candidats refusés : {first.message}", book.path, first.line,
                                    hint="rien n'a été importé")
    if dry_run:
        return plan
    root = Path(corpus.root)
    contents: dict[Path, str] = {root / p: plan.documents[d] for d, p in plan.document_paths.items()}
    if plan.codebook_text is not None:
        contents[Path(book.path)] = plan.codebook_text
    if plan.memos:
        memos_path = root / MEMOS_FILE
        old = memos_path.read_text(encoding="utf-8") if memos_path.is_file() else ""
        if old and not old.endswith("\n"):
            old += "\n"
        contents[memos_path] = old + "".join(dumps_line(m) + "\n" for m in plan.memos)
    # Documents, codebook, memos and codings in one all-or-nothing write (journalled in the folder that
    # holds them all, replayed or undone at the next open of the project: analyse.project.Project.recover).
    root = data_root(corpus.root, book.path, codings_folder)
    plan.written = store.append_many(plan.codings, also=contents, root=root)
    return plan


def _stem(name: str) -> str:
    return re.sub(r"\.[A-Za-z0-9]{1,5}$", "", name)
