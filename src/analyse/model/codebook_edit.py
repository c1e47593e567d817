"""An evolving codebook: add, rename, merge, split and retire codes without losing a coding.

Each action edits ``codebook/balises.yaml``, bumps its ``version``, appends an
entry to ``codebook/CHANGELOG.md`` and migrates every coder's codings through
:class:`~analyse.model.codings.CodingStore` (locked, atomic writes). Nothing is
written unless the whole change is valid:

- the edited codebook must pass :func:`~analyse.model.codebook.validate_codebook`;
- no coding may be left on a code that no longer exists (a retired code that
  is still used needs ``into``; a split needs a rule saying which child gets
  which coding);
- canonical ids (ENG.1–6, SYS.1–5, COOP.1–6, VAL.1–6, MGT, ECH) are never
  renamed, merged away or retired; a removed id stays reserved in the
  codebook's ``retired`` list and is never reused.

How the YAML is edited: ruamel.yaml is not a dependency, and a PyYAML
load/dump round trip would drop the file's comments and layout. So the text is
edited in place instead: PyYAML's node positions (``yaml.compose``) locate the
scalar or the code's block to change, and only those characters are replaced;
new codes are dumped by PyYAML and inserted as a block with the file's
indentation. Comments and order elsewhere are kept byte for byte.

All or nothing: the codebook, its changelog and every coder file switch
together. Under the codebook's lock and every coder's lock, each new file is
written beside the old one under a two-phase journal in the folder that holds
them all, the project's (:func:`analyse.fileio.atomic_write_across`): a crash
before it says « commit » is undone, a crash after it is finished, at the next
open of the project or of the editor (:func:`recover`). The coder files gain events (a
removal of the old coding, the coding on its new code: see
:mod:`analyse.model.codings`), never lose a line.

Why this module is long: the five actions, the in-place YAML editing they
share and the all-or-nothing commit (with its recovery) are one unit; split,
each part would have to know the others' invariants.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

import os

from filelock import FileLock

from analyse import fileio
from analyse.errors import CodebookError, UsageError
from analyse.model.codebook import CANONICAL_IDS, KINDS, Codebook, validate_codebook
from analyse.model.codings import CODER_ID, CodingStore, now_iso

CHANGELOG_NAME = "CHANGELOG.md"
ACTIONS = ("add", "rename", "merge", "split", "retire")
MAJOR_ACTIONS = ("merge", "retire")       # the meaning of a code that stays changes, or a code goes
ACTION_LABELS = {"add": "ajout", "rename": "renommage", "merge": "fusion", "split": "scission",
                 "retire": "retrait"}
CODE_ID = re.compile(r"^[A-Z][A-Z0-9]*(\.[A-Z]?[0-9]+)*$")


@dataclass
class EditReport:
    """What an action did (or would do, with ``dry_run``)."""

    action: str
    summary: str
    version_before: str
    version_after: str
    counts_before: dict[str, int] = field(default_factory=dict)   # codings per coder
    counts_after: dict[str, int] = field(default_factory=dict)
    migrated: dict[str, int] = field(default_factory=dict)        # codings whose code changed, per coder
    merged_duplicates: dict[str, int] = field(default_factory=dict)
    to_review: list[str] = field(default_factory=list)            # lines of the YAML still naming an old id
    written: bool = False

    def lines(self) -> list[str]:
        """The report in French, one line per fact."""
        out = [f"{self.summary} — grille {self.version_before} → {self.version_after}"]
        if self.migrated:
            out.append("codages migrés : " + ", ".join(f"{c} {n}" for c, n in sorted(self.migrated.items())))
        if any(self.merged_duplicates.values()):
            out.append("doublons fusionnés (même passage, même code, même codeur ; mémos conservés) : "
                       + ", ".join(f"{c} {n}" for c, n in sorted(self.merged_duplicates.items()) if n))
        out.append(f"codages avant : {sum(self.counts_before.values())}, après : {sum(self.counts_after.values())}")
        out += [f"à revoir (mentionne encore l'ancien identifiant) : {line}" for line in self.to_review]
        if not self.written:
            out.append("essai à blanc : rien n'a été écrit")
        return out


# ---------------------------------------------------------------------------- text editing helpers
def _line_starts(text: str) -> list[int]:
    starts = [0]
    starts += [m.end() for m in re.finditer("\n", text)]
    return starts


def _mapping_value(node: yaml.MappingNode, key: str):
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            return v
    return None


def _render_scalar(node: yaml.ScalarNode, value: str) -> str:
    """``value`` written in the style of the scalar it replaces."""
    if node.style == "'":
        return "'" + value.replace("'", "''") + "'"
    if node.style == '"' or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", value):
        return json.dumps(value, ensure_ascii=False)
    return value


class _Text:
    """The codebook text with replacements queued by position, applied from the end."""

    def __init__(self, text: str):
        self.text = text
        self.root = yaml.compose(text)
        self.codes = _mapping_value(self.root, "codes")
        self.edits: list[tuple[int, int, str]] = []

    def item(self, code_id: str) -> tuple[int, yaml.MappingNode]:
        for i, item in enumerate(self.codes.value):
            v = _mapping_value(item, "id")
            if v is not None and str(v.value) == code_id:
                return i, item
        raise KeyError(code_id)

    def block(self, index: int) -> tuple[int, int]:
        """Character range of the ``index``-th code: from its line to the next code's line."""
        starts = _line_starts(self.text)
        items = self.codes.value
        begin = starts[items[index].start_mark.line]
        end = starts[items[index + 1].start_mark.line] if index + 1 < len(items) else self.codes.end_mark.index
        return begin, end

    def replace_scalar(self, node, value: str) -> None:
        self.edits.append((node.start_mark.index, node.end_mark.index, _render_scalar(node, value)))

    def remove_block(self, index: int) -> None:
        begin, end = self.block(index)
        self.edits.append((begin, end, ""))

    def insert_after(self, index: int, codes: list[dict]) -> None:
        _, end = self.block(index)
        item = self.codes.value[index]
        dash = " " * max(item.start_mark.column - 2, 0)
        first_begin, first_end = self.block(0)
        gap = "\n" if self.text[first_begin:first_end].endswith("\n\n") else ""   # blank line between codes?
        blocks = []
        for code in codes:
            dumped = yaml.safe_dump([code], allow_unicode=True, sort_keys=False, width=110, default_flow_style=False)
            blocks.append("".join(dash + line + "\n" for line in dumped.splitlines()))
        block = gap.join(blocks)
        if index + 1 == len(self.codes.value):
            prefix = "" if self.text[:end].endswith("\n") else "\n"
            self.edits.append((end, end, prefix + gap + block))
        else:
            self.edits.append((end, end, block + gap))

    def add_retired(self, entry: dict) -> None:
        line = "  - " + json.dumps(entry, ensure_ascii=False) + "\n"
        retired = _mapping_value(self.root, "retired")
        if isinstance(retired, yaml.SequenceNode) and retired.value:
            at = retired.end_mark.index
            if not self.text[:at].endswith("\n"):
                line = "\n" + line
            self.edits.append((at, at, line))
            return
        if retired is not None:
            raise CodebookError("la clé « retired » de la grille doit être une liste", hint="la corriger à la main")
        key = next(k for k, v in self.root.value if v is self.codes)
        at = _line_starts(self.text)[key.start_mark.line]
        self.edits.append((at, at, "# Identifiants retirés : réservés, jamais réutilisés (analyse codebook).\n"
                                   "retired:\n" + line))

    def result(self) -> str:
        text = self.text
        for begin, end, new in sorted(self.edits, key=lambda e: (e[0], e[1]), reverse=True):
            text = text[:begin] + new + text[end:]
        return text


def bump(version: str, major: bool) -> str:
    """``1.2.3`` → ``1.3.0`` (or ``2.0.0`` when ``major``).

    Examples
    --------
    >>> bump("1.0.0", False), bump("1.4.2", True), bump("0.3", False)
    ('1.1.0', '2.0.0', '0.4.0')
    """
    m = re.fullmatch(r"(\d+)\.(\d+)(?:\.(\d+))?", str(version).strip())
    if not m:
        raise CodebookError(f"version de grille « {version} » illisible",
                            hint='écrire version: "1.0.0" (majeure.mineure.correctif)')
    a, b = int(m.group(1)), int(m.group(2))
    return f"{a + 1}.0.0" if major else f"{a}.{b + 1}.0"


# ---------------------------------------------------------------------------- the editor
class CodebookEditor:
    """Edit a codebook file and migrate the codings of every coder with it.

    Parameters
    ----------
    codebook_path : path
        The YAML codebook (must be valid before the change).
    codings : CodingStore or path
        The coder files to migrate.
    changelog : path, optional
        Defaults to ``CHANGELOG.md`` beside the codebook.

    Examples
    --------
    >>> ed = CodebookEditor("codebook/balises.yaml", "corpus/codings")     # doctest: +SKIP
    >>> ed.rename("ENG.M1", "ENG.M9", author="Claire").lines()              # doctest: +SKIP
    """

    def __init__(self, codebook_path: str | Path, codings: CodingStore | str | Path,
                 changelog: str | Path | None = None):
        self.path = Path(codebook_path)
        self.store = codings if isinstance(codings, CodingStore) else CodingStore(codings)
        self.changelog = Path(changelog) if changelog else self.path.parent / CHANGELOG_NAME

    # ------------------------------------------------------------------ reading
    def _load(self) -> tuple[Codebook, _Text, dict]:
        recover(self.path, self.store, self.changelog)
        if not self.path.is_file():
            raise UsageError("fichier de grille introuvable", self.path, hint="indiquer --codebook CHEMIN")
        book, problems = validate_codebook(self.path)
        if book is None:
            first = problems.errors[0]
            raise CodebookError(f"la grille doit être valide avant d'être modifiée : {first.message}",
                                first.path, first.line, hint="lancer `analyse validate` et corriger")
        text = _Text(self.path.read_text(encoding="utf-8-sig"))
        data = yaml.safe_load(text.text)
        return book, text, data

    def _retired_ids(self, data: dict) -> set[str]:
        return {str(r.get("id")) for r in data.get("retired") or [] if isinstance(r, dict)}

    def _records(self) -> dict[str, list[dict]]:
        return {c: [r for r in self.store.records(c) if r.get("type") != "coverage"] for c in self.store.coders()}

    def usage(self, codes: set[str] | None = None) -> dict[str, dict[str, int]]:
        """``{code: {coder: number of codings}}`` over every coder file (all codes, or ``codes``)."""
        out: dict[str, dict[str, int]] = {}
        for coder, recs in self._records().items():
            for r in recs:
                code = r.get("code")
                if codes is None or code in codes:
                    out.setdefault(code, {}).setdefault(coder, 0)
                    out[code][coder] += 1
        return out

    # ------------------------------------------------------------------ checks
    @staticmethod
    def _not_canonical(code: str, action: str) -> None:
        if code in CANONICAL_IDS:
            raise UsageError(f"{code} est une balise canonique : on ne peut pas la {action}",
                             hint="rapports, imports et modèles en dépendent ; préciser sa définition à la place")

    @staticmethod
    def _exists(book: Codebook, code: str) -> None:
        if code not in book:
            raise UsageError(f"code inconnu « {code} »", hint="voir `analyse codebook`")

    def _new_id(self, book: Codebook, data: dict, code: str) -> None:
        if not CODE_ID.match(code or ""):
            raise UsageError(f"identifiant de code invalide « {code} »",
                             hint="lettres majuscules, chiffres et points, comme ENG.M7 ou CON.9")
        if code in book:
            raise UsageError(f"le code {code} existe déjà", hint="choisir un identifiant neuf")
        if code in self._retired_ids(data):
            raise UsageError(f"l'identifiant {code} a été retiré : il reste réservé",
                             hint="un identifiant n'est jamais réutilisé ; en choisir un neuf")

    # ------------------------------------------------------------------ the actions
    def add(self, code: dict, *, after: str | None = None, author: str = "", dry_run: bool = False) -> EditReport:
        """Add a code (a dict with id, label, dimension, kind, parent, definition, include, exclude,
        examples, keywords), after the last code of its dimension (or after ``after``)."""
        book, text, data = self._load()
        cid = str(code.get("id") or "")
        self._new_id(book, data, cid)
        if code.get("parent"):
            self._exists(book, code["parent"])
        entry = {k: code.get(k) for k in ("id", "label", "dimension", "kind", "parent", "definition",
                                          "include", "exclude", "examples", "keywords")}
        entry.update({k: v for k, v in code.items() if k not in entry})
        anchor = after or next((c.id for c in reversed(list(book.codes.values()))
                                if c.dimension == code.get("dimension")), list(book.codes)[-1])
        self._exists(book, anchor)
        text.insert_after(text.item(anchor)[0], [entry])
        return self._commit(book, text, "add", f"ajout du code {cid} ({code.get('label', '')})", {},
                            author=author, dry_run=dry_run)

    def rename(self, old: str, new: str, *, author: str = "", dry_run: bool = False) -> EditReport:
        """Give a code a new id; its children and every coding follow."""
        book, text, data = self._load()
        self._exists(book, old)
        self._not_canonical(old, "renommer")
        self._new_id(book, data, new)
        _, item = text.item(old)
        text.replace_scalar(_mapping_value(item, "id"), new)
        self._reparent(book, text, old, new)
        text.add_retired({"id": old, "renamed_to": new, "date": _dt.date.today().isoformat()})
        return self._commit(book, text, "rename", f"renommage {old} → {new}", {old: new},
                            author=author, dry_run=dry_run, review=[old])

    def merge(self, source: str, into: str, *, author: str = "", dry_run: bool = False,
              _as: str = "merge") -> EditReport:
        """Fold ``source`` into ``into``: its codings and children go to ``into``; its id is retired."""
        book, text, data = self._load()
        self._exists(book, source)
        self._exists(book, into)
        if source == into:
            raise UsageError("on ne fusionne pas un code avec lui-même")
        self._not_canonical(source, "fusionner dans un autre code")
        parent = book[into].parent
        while parent:
            if parent == source:
                raise UsageError(f"{into} est un sous-code de {source}",
                                 hint=f"fusionner plutôt {into} dans {source}, ou retirer {source} --into {into}")
            parent = book[parent].parent if parent in book else None
        self._reparent(book, text, source, into)
        text.remove_block(text.item(source)[0])
        text.add_retired({"id": source, "merged_into": into, "date": _dt.date.today().isoformat()})
        summary = (f"fusion de {source} dans {into}" if _as == "merge"
                   else f"retrait de {source} (ses codages et sous-codes vont à {into})")
        return self._commit(book, text, _as, summary, {source: into}, author=author, dry_run=dry_run,
                            review=[source])

    def retire(self, code: str, *, into: str | None = None, author: str = "",
               dry_run: bool = False) -> EditReport:
        """Take a code out of the codebook; refused while codings use it, unless they go ``into`` another."""
        book, text, data = self._load()
        self._exists(book, code)
        self._not_canonical(code, "retirer")
        if into is not None:
            return self.merge(code, into, author=author, dry_run=dry_run, _as="retire")
        used = self.usage({code}).get(code, {})
        if used:
            raise UsageError(f"{code} est utilisé par {sum(used.values())} codage(s) ("
                             + ", ".join(f"{c} {n}" for c, n in sorted(used.items())) + ") : le retirer les orphelinerait",
                             hint=f"ajouter --into AUTRE_CODE pour les y reporter, ou `analyse codebook merge {code} --into …`")
        children = [c.id for c in book.children(code)]
        if children:
            raise UsageError(f"{code} a des sous-codes : {', '.join(children)}",
                             hint="les renommer, les fusionner ou les retirer d'abord, ou utiliser --into")
        text.remove_block(text.item(code)[0])
        text.add_retired({"id": code, "date": _dt.date.today().isoformat()})
        return self._commit(book, text, "retire", f"retrait de {code}", {}, author=author, dry_run=dry_run,
                            review=[code])

    def split(self, source: str, rules: dict[str, str], *, children: list[str] | None = None,
              labels: dict[str, str] | None = None, kind: str | None = None, author: str = "",
              dry_run: bool = False) -> EditReport:
        """Create sub-codes of ``source`` and move each of its codings to the first child whose rule
        (a regular expression, case ignored) matches the coding's quote.

        Codings that no rule matches stay on ``source``, which remains as the
        parent code: nothing is orphaned. ``children`` lists the new ids in
        order (default: the keys of ``rules``); every child needs a rule.
        """
        book, text, data = self._load()
        self._exists(book, source)
        if not rules:
            raise UsageError("une scission a besoin d'une règle par sous-code",
                             hint="--rule NOUVEAU=EXPRESSION (mots-clés ou expression régulière) pour chacun")
        children = list(children or rules)
        missing = [c for c in children if c not in rules]
        extra = [c for c in rules if c not in children]
        if missing or extra:
            raise UsageError("chaque sous-code a exactement une règle : "
                             + ", ".join(f"sans règle : {c}" for c in missing)
                             + ", ".join(f"règle pour un code absent : {c}" for c in extra),
                             hint="--rule NOUVEAU=EXPRESSION")
        compiled = {}
        for child in children:
            self._new_id(book, data, child)
            try:
                compiled[child] = re.compile(rules[child], re.IGNORECASE)
            except re.error as exc:
                raise UsageError(f"règle de {child} invalide : {exc}", hint="une expression régulière") from None
        src = book[source]
        child_kind = kind or src.kind
        if child_kind == "balise":
            raise UsageError(f"{source} est une balise : préciser le type des sous-codes",
                             hint=f"--kind parmi {', '.join(k for k in KINDS if k != 'balise')}")
        if child_kind not in KINDS:
            raise UsageError(f"type « {child_kind} » inconnu", hint=", ".join(KINDS))
        today = _dt.date.today().isoformat()
        entries = [{
            "id": child, "label": (labels or {}).get(child) or f"{src.label} — {child}",
            "dimension": src.dimension, "kind": child_kind, "parent": source,
            "definition": f"Sous-code de {source} (scission du {today}, règle : {rules[child]}). {src.definition}",
            "include": list(src.include), "exclude": list(src.exclude), "examples": list(src.examples),
            "keywords": list(src.keywords) or [rules[child]],
        } for child in children]
        text.insert_after(text.item(source)[0], entries)

        def decide(rec: dict) -> str | None:
            if rec.get("code") != source:
                return None
            return next((c for c in children if compiled[c].search(str(rec.get("quote") or ""))), None)

        return self._commit(book, text, "split", f"scission de {source} en {', '.join(children)}", decide,
                            author=author, dry_run=dry_run)

    # ------------------------------------------------------------------ shared steps
    def _reparent(self, book: Codebook, text: _Text, old: str, new: str) -> None:
        for child in book.children(old):
            _, item = text.item(child.id)
            text.replace_scalar(_mapping_value(item, "parent"), new)

    def _commit(self, book: Codebook, text: _Text, action: str, summary: str, mapping, *,
                author: str, dry_run: bool, review: list[str] = ()) -> EditReport:
        new_version = bump(book.version, action in MAJOR_ACTIONS)
        text.replace_scalar(_mapping_value(text.root, "version"), new_version)
        new_text = text.result()
        new_book = self._validate(new_text)

        decide = mapping if callable(mapping) else (lambda r: mapping.get(r.get("code")))
        records = self._records()
        moved_at = now_iso()
        report = EditReport(action, summary, book.version, new_version,
                            counts_before={c: len(r) for c, r in records.items()})
        plans: dict[str, tuple[list[dict], list[dict]]] = {}
        for coder, recs in records.items():
            old, new, dupes, moved = self._migrate(recs, decide, new_version, moved_at)
            if old:
                plans[coder] = (old, new)
                report.migrated[coder] = moved
                report.merged_duplicates[coder] = dupes
        orphans = {}
        for coder, recs in records.items():
            old, new = plans.get(coder, ([], []))
            old_keys = {_key(r) for r in old}
            after = [r for r in recs if _key(r) not in old_keys] + new
            report.counts_after[coder] = len(after)
            for r in after:
                if r.get("code") in book and r.get("code") not in new_book:
                    orphans.setdefault(r["code"], 0)
                    orphans[r["code"]] += 1
        if orphans:
            raise UsageError("la modification laisserait des codages sans code : "
                             + ", ".join(f"{c} ({n})" for c, n in sorted(orphans.items())),
                             hint="donner une règle (scission) ou --into (retrait)")
        report.to_review = [f"{self.path.name}:{n}: {line.strip()[:90]}"
                            for n, line in enumerate(new_text.splitlines(), start=1)
                            for old in review if re.search(rf"(?<![\w.]){re.escape(old)}(?![\w]|\.\w)", line)
                            and not line.lstrip().startswith(("- {\"id\"", "retired"))]
        if dry_run:
            return report

        def unchanged():
            # under every lock: the codings must still be those the plan was made from
            if self._records() != records:
                raise UsageError("des codages ont changé pendant la modification de la grille : rien n'a été écrit",
                                 hint="relancer la commande")

        root = _root(self.path, self.changelog, self.store.folder)
        reason = f"{summary} (grille {book.version} → {new_version})"
        with _codebook_lock(self.path):
            if self.path.read_text(encoding="utf-8-sig") != text.text:
                raise UsageError("la grille a changé pendant sa modification : rien n'a été écrit",
                                 hint="relancer la commande")
            # the codebook, its changelog and every coder file: one journal, all or nothing
            self.store.replace_many(plans, origin="codebook", reason=reason, by=author,
                                    also={self.path: new_text, self.changelog: self._changelog_text(report, author)},
                                    root=root, prepare=unchanged)
        report.written = True
        return report

    @staticmethod
    def _migrate(recs: list[dict], decide, version: str = "", at: str = "") -> tuple[list[dict], list[dict], int, int]:
        """The records to replace, their replacements, the duplicates folded and the codings moved.

        A moved coding is a new coding on the new code, dated ``at`` and made
        against ``version``, keeping when it was first coded (``coded_at``). A
        record that would duplicate another (same document, span and code) is
        folded into it, memo kept."""
        old, new, dupes, moved_n = [], [], 0, 0
        present = {(r.get("doc"), r.get("start"), r.get("end"), r.get("code")): r
                   for r in recs if decide(r) is None}
        for r in recs:
            target = decide(r)
            if target is None:
                continue
            old.append(r)
            moved_n += 1
            moved = dict(r, code=target)
            if at:
                moved.update(at=at, coded_at=r.get("coded_at") or r.get("at"))
            if version:
                moved["codebook_version"] = version
            span = (r.get("doc"), r.get("start"), r.get("end"), target)
            kept = present.get(span)
            if kept is None:
                present[span] = moved
                new.append(moved)
                continue
            dupes += 1
            memo = str(r.get("memo") or "").strip()
            if memo and memo not in str(kept.get("memo") or ""):
                updated = dict(kept, memo=" | ".join(m for m in (str(kept.get("memo") or "").strip(), memo) if m))
                if kept in new:
                    new[new.index(kept)] = updated
                else:
                    old.append(kept)
                    new.append(updated)
                present[span] = updated
        return old, new, dupes, moved_n

    def _validate(self, new_text: str) -> Codebook:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / self.path.name
            path.write_text(new_text, encoding="utf-8")
            new_book, problems = validate_codebook(path)
        if new_book is None:
            first = problems.errors[0]
            raise CodebookError(f"la grille modifiée serait invalide : {first.message}", self.path,
                                hint=first.hint or "compléter les champs demandés")
        return new_book

    def _changelog_text(self, report: EditReport, author: str) -> str:
        if self.changelog.exists():
            text = self.changelog.read_text(encoding="utf-8")
            text = text if text.endswith("\n") else text + "\n"
        else:
            text = ("# Journal de la grille de codage\n\n"
                    "Chaque modification faite par `analyse codebook add | rename | merge | split | retire` "
                    "ajoute une entrée ici (la plus récente en bas).\n\n"
                    f"## {report.version_before}\n\nVersion de départ (avant ce journal).\n")
        entry = [f"\n## {report.version_after} — {_dt.date.today().isoformat()} — "
                 f"{ACTION_LABELS[report.action]}", "", f"- {report.summary}"]
        if author:
            entry.append(f"- par {author}")
        entry += [f"- {line}" for line in report.lines()[1:] if not line.startswith("essai")]
        return text + "\n".join(entry) + "\n"


def _codebook_lock(path: Path) -> FileLock:
    return FileLock(str(path) + ".lock", timeout=120)


def _root(*paths) -> Path:
    """The folder holding the codebook, its changelog and the coder files: where their journal goes."""
    return Path(os.path.commonpath([Path(p).resolve().parent if Path(p).suffix else Path(p).resolve()
                                    for p in paths]))


def recover(codebook_path: str | Path, store: CodingStore | str | Path,
            changelog: str | Path | None = None) -> list[str]:
    """Finish a codebook change a crash interrupted after its journal said « commit », or undo it.

    Called before the codebook is edited (the project does the same at every
    open, see :meth:`analyse.project.Project.recover`), under the locks of the
    coder files the change touches. Returns the files switched.
    """
    path = Path(codebook_path)
    store = store if isinstance(store, CodingStore) else CodingStore(store)
    done = store.recover() if store.pending() else []
    root = _root(path, Path(changelog) if changelog else path.parent / CHANGELOG_NAME, store.folder)
    if root.is_dir() and (fileio.across_journals(root) or any(root.glob(".*" + fileio.ACROSS_SUFFIX + ".*.tmp"))):
        coders = {t.stem for j in fileio.across_journals(root) for t in fileio.across_targets(j)
                  if t.suffix == ".jsonl" and t.parent.resolve() == store.folder.resolve() and CODER_ID.match(t.stem)}
        with store._locked(coders):
            done += fileio.recover_across(root)
    return done


def _key(rec: dict) -> str:
    return json.dumps(rec, sort_keys=True, ensure_ascii=False)
