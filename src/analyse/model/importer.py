"""Turn a transcript (docx, odt, txt, md, rtf, vtt, srt) into a corpus document.

:func:`import_file` reads the file with the reader registered for its suffix
(:mod:`analyse.model.readers`), finds speakers, turns and timecodes
(:mod:`analyse.model.speakers`), makes participants (``P1``, ``P2``… in order of first
appearance, role ``autre``, unless a speakers CSV says otherwise), renders
``corpus/<territory>/<id>.md``, validates it with the corpus loader and only then writes it,
atomically. Every refusal is a :class:`~analyse.errors.CorpusError` or
:class:`~analyse.errors.UsageError` in French naming the file and what to do; nothing is
written then, nor with ``dry_run``.

Timecodes are written as an inline mark opening the paragraph (``[00:03:12]``, or
``[00:03:12-00:03:20]`` for a caption), which the segmenter reads into
``Segment.start_time``/``end_time``; the mark stays in the text so offsets stay plain.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from analyse.errors import CorpusError, UsageError
from analyse.fileio import atomic_write_across
from analyse.model.corpus import (ATELIERS, INTER_TERRITORIES, KINDS, NARRATIVE_KINDS, ROLES, TERRITORY_SLUG,
                                  Document, Segment, count_words, parse_document)
from analyse.model.readers import decode, read_source
from analyse.model.speakers import Layout, find_turns, speaker_key

DOC_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
PARTICIPANT_ID = re.compile(r"^[A-Z][A-Za-z0-9_-]*$")
PRIVATE_DIR = ".balises-prive"


@dataclass(frozen=True)
class SpeakerInfo:
    """A line of the speakers CSV: how a name found in transcripts becomes a participant."""

    name: str
    id: str | None = None
    role: str | None = None
    territory: str | None = None


@dataclass
class ImportResult:
    """What an import found and (unless a dry run) wrote."""

    source: Path
    format: str
    target: Path
    text: str
    document: Document
    segments: list[Segment]
    participants: list[dict]          # id, name (the real one), role, territory
    layout: Layout
    date_note: str = ""
    written: bool = False
    private_path: Path | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def turns(self) -> int:
        return max((s.turn for s in self.segments), default=0)

    @property
    def words(self) -> int:
        return sum(count_words(s.text) for s in self.segments)

    @property
    def timed(self) -> int:
        return sum(1 for s in self.segments if s.start_time)


def read_speakers_csv(path: str | Path) -> dict[str, SpeakerInfo]:
    """Read ``name,id,role,territory`` lines (only ``name`` is required) keyed by normalised name.

    Raises
    ------
    UsageError
        Missing ``name`` column, unknown role, bad id or territory (with the line).
    """
    path = Path(path)
    if not path.is_file():
        raise UsageError("fichier des locuteurs introuvable", path, hint="vérifier le chemin donné à --speakers")
    text, _ = decode(path.read_bytes(), path)
    reader = csv.DictReader(io.StringIO(text))
    fields = [f.strip().lower() for f in reader.fieldnames or []]
    if "name" not in fields:
        raise UsageError("la colonne « name » manque", path, 1, hint="première ligne : name,id,role,territory")
    out: dict[str, SpeakerInfo] = {}
    for lineno, row in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        name = row.get("name", "")
        if not name:
            continue
        pid, role, territory = row.get("id") or None, row.get("role") or None, row.get("territory") or None
        if pid and not PARTICIPANT_ID.match(pid):
            raise UsageError(f"identifiant « {pid} » invalide", path, lineno,
                             hint="une majuscule puis lettres, chiffres, - ou _ (ex. P3, ANIM)")
        if role and role not in ROLES:
            raise UsageError(f"rôle « {role} » inconnu", path, lineno, hint="rôles : " + ", ".join(ROLES))
        if territory and not TERRITORY_SLUG.match(territory):
            raise UsageError(f"territoire « {territory} » n'est pas un identifiant simple", path, lineno,
                             hint="minuscules, chiffres et tirets, ex. grande-synthe")
        out[speaker_key(name)] = SpeakerInfo(name, pid, role, territory)
    return out


def slugify(text: str) -> str:
    """``Atelier Mars_2024 (v2)`` → ``atelier-mars-2024-v2``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def default_id(path: Path, territory: str) -> str:
    stem = slugify(path.stem) or "document"
    prefix = "inter" if territory == INTER_TERRITORIES else territory
    return stem if stem.startswith(prefix) else f"{prefix}-{stem}"


def _participants(speakers: list[str], mapping: dict[str, SpeakerInfo], inter: bool) -> tuple[list[dict], dict[str, str]]:
    """Participants in order of first appearance, and ``speaker name → id``."""
    taken = {info.id for info in mapping.values() if info.id}
    by_id: dict[str, dict] = {}
    name_to_id: dict[str, str] = {}
    n = 0
    for name in speakers:
        info = mapping.get(speaker_key(name))
        pid = info.id if info and info.id else None
        if pid is None:
            n += 1
            while f"P{n}" in taken:
                n += 1
            pid = f"P{n}"
            taken.add(pid)
        name_to_id[name] = pid
        if pid not in by_id:
            p = {"id": pid, "name": info.name if info else name, "role": (info.role if info else None) or "autre"}
            if info and info.territory:
                p["territory"] = info.territory
            by_id[pid] = p
    return list(by_id.values()), name_to_id


def pseudonymise_text(text: str, participants: list[dict]) -> str:
    """Replace each participant's name (whole, then each part of 3+ letters) by their id."""
    pairs: list[tuple[str, str]] = []
    for p in participants:
        name = " ".join(p["name"].split())
        parts = [w for w in re.split(r"[\s]+", name) if len(w) >= 3 and w[0].isupper()]
        for form in [name] + parts:
            for variant in {form, form.upper()}:
                pairs.append((variant, p["id"]))
    for form, pid in sorted(set(pairs), key=lambda fp: (-len(fp[0]), fp[0])):
        text = re.sub(rf"(?<![\w-]){re.escape(form)}(?![\w-])", pid, text)
    return text


def render(meta: dict, layout: Layout, name_to_id: dict[str, str]) -> str:
    """The document text: YAML front matter, then turns ``**P1** : …`` with blank lines between paragraphs."""
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=1000)
    parts = []
    for turn in layout.turns:
        for i, para in enumerate(turn.paragraphs):
            text = para.mark() + para.text
            if i == 0 and turn.speaker is not None:
                text = f"**{name_to_id[turn.speaker]}** : {text}"
            parts.append(text)
    return f"---\n{front}---\n" + "\n\n".join(parts) + "\n"


def _check_choice(value: str, allowed: tuple[str, ...], option: str) -> None:
    if value not in allowed:
        raise UsageError(f"{option} « {value} » inconnu", hint="valeurs possibles : " + ", ".join(allowed))


def _first_lines(source, limit: int = 3) -> str:
    lines = []
    for block in source.blocks:
        for line in block.text.split("\n"):
            if line.strip():
                lines.append(f"« {line.strip()[:70]} »")
            if len(lines) >= limit:
                return " ; ".join(lines)
    return " ; ".join(lines)


def import_file(path: str | Path, corpus_dir: str | Path, territory: str, *, kind: str = "transcript",
                atelier: str = "none", date: str | None = None, doc_id: str | None = None,
                title: str | None = None, speakers: str | Path | dict | None = None,
                encoding: str | None = None, pseudonymise: bool = False,
                private_dir: str | Path | None = None, replace: bool = False,
                dry_run: bool = False) -> ImportResult:
    """Import one transcript as ``<corpus_dir>/<territory>/<id>.md``.

    Parameters
    ----------
    path : file to import (.docx, .odt, .txt, .md, .rtf, .vtt, .srt).
    corpus_dir : the corpus folder.
    territory : territory slug, or ``inter-territoires`` (participants then need a territory,
        given by the speakers CSV).
    speakers : path of a ``name,id,role,territory`` CSV, or its parsed mapping.
    pseudonymise : store ids instead of names (front matter and text); the correspondence goes to
        ``private_dir`` (default ``<corpus_dir>/../.balises-prive``), mode 0600.
    replace : overwrite an existing document of that id (never done otherwise).
    dry_run : do everything but write.

    Examples
    --------
    >>> r = import_file("atelier.docx", "corpus", "le-mene", date="2024-03-01", dry_run=True)  # doctest: +SKIP
    >>> r.layout.speakers, r.turns, len(r.segments)                                          # doctest: +SKIP
    """
    path, corpus_dir = Path(path), Path(corpus_dir)
    if not TERRITORY_SLUG.match(territory or ""):
        raise UsageError(f"territoire « {territory} » n'est pas un identifiant simple",
                         hint="minuscules, chiffres et tirets sans accents ni espaces, ex. grande-synthe")
    _check_choice(kind, KINDS, "--kind")
    _check_choice(atelier, ATELIERS, "--atelier")
    if date is not None:
        try:
            _dt.date.fromisoformat(date)
        except ValueError:
            raise UsageError(f"date « {date} » invalide", hint="format AAAA-MM-JJ, ex. 2024-03-01") from None
    doc_id = doc_id or default_id(path, territory)
    if not DOC_ID.match(doc_id):
        raise UsageError(f"identifiant de document « {doc_id} » invalide",
                         hint="minuscules, chiffres et tirets, ex. le-mene-atelier-mars")
    mapping = read_speakers_csv(speakers) if isinstance(speakers, (str, Path)) else dict(speakers or {})

    source = read_source(path, encoding)
    if not any(b.text.strip() for b in source.blocks):
        if source.format in ("vtt", "srt"):
            raise CorpusError("le fichier de sous-titres ne contient aucun texte", path,
                              hint="exporter les sous-titres avec leur texte (transcription), pas seulement les temps")
        raise CorpusError("le fichier ne contient aucun texte", path, hint="vérifier qu'il s'agit du bon fichier")
    layout = find_turns(source.blocks, narrative=kind in NARRATIVE_KINDS)
    if not layout.speakers:
        raise CorpusError(f"aucun locuteur reconnu ; premières lignes : {_first_lines(source)}", path,
                          hint="écrire « Nom : texte » en début de tour (ou « [00:03:12] Nom : », « Nom 00:03 » "
                               "seul sur sa ligne, nom en gras dans Word, <v Nom> en WebVTT)")

    target = corpus_dir / territory / f"{doc_id}.md"
    existing = sorted(corpus_dir.glob(f"*/{doc_id}.md")) if corpus_dir.is_dir() else []
    for other in existing:
        if other.resolve() != target.resolve():
            raise CorpusError(f"l'identifiant « {doc_id} » est déjà pris par {other}", path,
                              hint="choisir un autre identifiant avec --id")
    if target.exists() and not replace:
        raise CorpusError(f"{target} existe déjà", path,
                          hint="--replace pour le remplacer, ou --id pour un autre identifiant")

    participants, name_to_id = _participants(layout.speakers, mapping, territory == INTER_TERRITORIES)
    date_note = ""
    if date is None:
        if source.date:
            date, date_note = source.date, "date de création du fichier"
        else:
            date = _dt.date.fromtimestamp(path.stat().st_mtime).isoformat()
            date_note = "date de modification du fichier"
        date_note += " ; --date pour la fixer"
    title = title or " ".join(re.split(r"[_\s]+", path.stem)).strip() or doc_id
    stored = [dict(p) for p in participants]
    if pseudonymise:
        for p in stored:
            p["name"] = p["id"]
    meta = {"id": doc_id, "title": title, "territory": territory, "kind": kind, "atelier": atelier,
            "date": date, "language": "fr", "synthetic": False, "participants": stored}
    if not pseudonymise:  # a file name often holds the interviewee's name: then it stays in the private table
        meta["source"] = path.name
    text = render(meta, layout, name_to_id)
    if pseudonymise:
        text = pseudonymise_text(text, participants)

    rel = f"{territory}/{doc_id}.md"
    document, segments, problems = parse_document(text, rel, territory, doc_id)
    if problems.errors or document is None:
        first = problems.errors[0]
        raise CorpusError(f"le document produit ne passe pas la validation : {first.message}", path,
                          hint=first.hint or "voir `analyse validate`")

    result = ImportResult(path, source.format, target, text, document, segments, participants, layout,
                          date_note=date_note, notes=list(source.notes))
    if pseudonymise:
        parts = {slugify(w) for p in participants for w in p["name"].split() if len(w) >= 3}
        named = sorted(w for w in parts if w and w in doc_id.split("-"))
        if named:
            result.notes.append(f"l'identifiant « {doc_id} » contient un nom ({', '.join(named)}) : "
                                "choisir un autre identifiant avec --id")
    contents: dict[Path, str] = {target: text}
    if pseudonymise:
        private = Path(private_dir) if private_dir is not None else corpus_dir.resolve().parent / PRIVATE_DIR
        result.private_path = private / f"pseudonymes-{doc_id}.json"
        contents[result.private_path] = json.dumps(
            {"document": doc_id, "source": path.name, "participants": participants},
            ensure_ascii=False, indent=2) + "\n"
    if dry_run:
        return result
    if result.private_path is not None:
        result.private_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(result.private_path.parent, 0o700)
    # the document and its pseudonym table together (a journal beside the corpus folder, replayed or
    # undone at the next open of the project): never a pseudonymised document whose table is missing
    atomic_write_across(contents, corpus_dir.resolve().parent)
    if result.private_path is not None:
        os.chmod(result.private_path, 0o600)  # the temporary file already was; say it for clarity
    result.written = True
    return result
