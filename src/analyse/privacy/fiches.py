"""Fiches de décontextualisation: one YAML file per invariant, pre-filled by the tool, written by researchers.

Décontextualiser, in the référentiel, is the work of separating the *concept
opérationnel* and the method that made something work from the contingencies of
a place. For each invariant code, :func:`prefill_fiches` writes
``fiches/<code>.yaml`` with what the tool knows (code, label, class, territories,
spread and its interval, low-risk masked verbatims from several territories,
never a facilitator's turn) and empty fields for what researchers write: the
concept in a sentence, the method, the conditions and contingencies, the
counter-examples and the questions for re-contextualisation elsewhere.

A fiche is the researchers' work: an existing file is **never** overwritten
(a re-run only writes the fiches that do not exist yet). :func:`validate_fiches`
checks every fiche and returns French problems naming the file and line (a
missing field, an unknown code, a verbatim that is not in the corpus or comes
from a facilitator).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd
import yaml

from analyse.errors import Problems
from analyse.messages import msg
from analyse.fileio import atomic_write_many, journals, replay

FICHES_DIR = "fiches"
# field → what the researchers write there (shown as a comment in a pre-filled fiche)
RESEARCHER_FIELDS = {
    "concept_operationnel": "le concept opérationnel, en une phrase",
    "methode": "ce qui a été fait, par qui, dans quel ordre",
    "conditions": "les conditions et contingences qui l'ont fait marcher ici",
    "contre_exemples": "codages où la balise échoue ou est contestée (liste)",
    "questions": "questions pour la re-contextualiser ailleurs (liste)",
}
TOOL_FIELDS = ("code", "libelle", "classe", "territoires", "diffusion", "verbatims")
REQUIRED = (*TOOL_FIELDS, *RESEARCHER_FIELDS)
VERBATIM_FIELDS = ("segment", "territoire", "texte")


def fiche_path(folder: str | Path, code: str) -> Path:
    return Path(folder) / f"{code}.yaml"


def _verbatim_entries(verbatims: pd.DataFrame, code: str, per_fiche: int) -> list[dict]:
    rows = verbatims[(verbatims["code"] == code) & verbatims["proposed"].astype(bool)]
    # One per territory first (rank 1 of each), then the next ranks: several territories before depth.
    rows = rows.sort_values(["rank", "territory"]).head(per_fiche)
    return [{"segment": r.segment, "territoire": r.territory, "texte": r.masked, "risque": float(r.risk)}
            for r in rows.itertuples()]


def prefill(code: str, row: pd.Series, verbatims: pd.DataFrame, per_fiche: int = 4) -> dict:
    """The content of a new fiche for ``code`` (``row``: its line of the invariance table)."""
    spread = {"territoires": int(row["territories"]), "sur": int(row.get("n_territories", row["territories"])),
              "segments": int(row["segments"])}
    for key, col in (("D", "D"), ("D_bas", "D_low"), ("D_haut", "D_high")):
        value = row.get(col)
        if value is not None and pd.notna(value):
            spread[key] = round(float(value), 3)
    # Columns of newer invariance tables, when present: per-code reliability and failing valences.
    for key, col in (("fiabilite", "reliability"), ("alpha", "alpha")):
        value = row.get(col)
        if value is not None and not isinstance(value, str) and pd.notna(value):
            spread[key] = round(float(value), 3)
    failing = row.get("failing")
    counter = ([f"la balise échoue ou est contestée à : {failing} (codages de valence « mise en échec » "
                "ou « contestée » à relire)"] if isinstance(failing, str) and failing.strip() else [])
    terr = verbatims.loc[verbatims["code"] == code, "territory"]
    fiche = {
        "code": code,
        "libelle": str(row.get("label", "")),
        "classe": str(row["class"]),
        "territoires": sorted(set(terr)) if len(terr) else [],
        "diffusion": spread,
        "verbatims": _verbatim_entries(verbatims, code, per_fiche),
    }
    fiche.update({"concept_operationnel": "", "methode": "", "conditions": "", "contre_exemples": counter,
                  "questions": []})
    return fiche


def render_fiche(fiche: dict) -> str:
    """YAML text of a fiche, with a comment before each field the researchers fill."""
    head = ("# Fiche de décontextualisation (pré-remplie par `analyse fiches` ; jamais réécrite ensuite).\n"
            "# Les champs du haut viennent de l'analyse ; complétez ceux du bas, puis `analyse fiches --check`.\n")
    tool = yaml.safe_dump({k: fiche[k] for k in TOOL_FIELDS}, allow_unicode=True, sort_keys=False, width=100)
    parts = [head, tool]
    for key, what in RESEARCHER_FIELDS.items():
        parts.append(f"# {what}\n")
        parts.append(yaml.safe_dump({key: fiche[key]}, allow_unicode=True, sort_keys=False, width=100))
    return "".join(parts)


def prefill_fiches(folder: str | Path, invariants: pd.DataFrame, verbatims: pd.DataFrame,
                   per_fiche: int = 4) -> tuple[list[Path], list[Path]]:
    """Write a fiche for each invariant code that has none yet.

    Parameters
    ----------
    folder : path
        Usually ``<project>/fiches``.
    invariants : DataFrame
        :func:`analyse.analysis.invariants.invariance_table`; rows whose class
        starts with « invariant » get a fiche.
    verbatims : DataFrame
        :func:`analyse.privacy.decontext.decontextualised_verbatims` with a risk
        model (``proposed`` verbatims only are copied into fiches).

    Returns
    -------
    (written, kept)
        Paths written now, and paths that already existed and were left alone.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written, kept = [], []
    rows = invariants[invariants["class"].astype(str).str.startswith("invariant")]
    with _fiches_lock(folder):
        _recover_locked(folder)
        contents = {}
        for _, row in rows.iterrows():
            path = fiche_path(folder, row["code"])
            if path.exists():
                kept.append(path)
                continue
            contents[path] = render_fiche(prefill(row["code"], row, verbatims, per_fiche))
            written.append(path)
        # all the new fiches at once (one journal): a crash leaves none of them or all
        atomic_write_many(contents)
    return written, kept


def _fiches_lock(folder: Path):
    from filelock import FileLock

    return FileLock(str(folder / ".fiches.lock"), timeout=60)


def recover_fiches(folder: str | Path) -> None:
    """Finish a pre-filling a crash interrupted and remove the temporary files it left."""
    folder = Path(folder)
    if not folder.is_dir() or not (journals(folder) or any(folder.glob(".*.yaml.*.tmp"))):
        return
    with _fiches_lock(folder):
        _recover_locked(folder)


def _recover_locked(folder: Path) -> None:
    for journal in journals(folder):
        replay(journal)
    for tmp in folder.glob(".*.yaml.*.tmp"):
        tmp.unlink(missing_ok=True)


def _line_of(text: str, key: str) -> int | None:
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith(f"{key}:"):
            return n
    return None


def validate_fiches(folder: str | Path, codes: Sequence[str], corpus, root: str | Path | None = None) -> Problems:
    """French problems of every ``*.yaml`` fiche of ``folder``.

    Checks: valid YAML mapping; every field present (researchers' fields may be
    empty while the fiche is being written, but must exist); ``code`` known to the
    codebook and equal to the file name; each verbatim names a segment of the
    corpus, not a facilitator's, with its territory.
    """
    problems = Problems()
    folder = Path(folder)
    recover_fiches(folder)
    known = set(codes)
    segments = {s.id: s for s in corpus.segments}
    for path in sorted(folder.glob("*.yaml")):
        shown = str(path.relative_to(root)) if root is not None and path.is_relative_to(root) else str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            problems.add(shown, msg("not_utf8"), path.read_bytes()[:exc.start].count(b"\n") + 1,
                         hint=msg("resave_utf8"))
            continue
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            problems.add(shown, f"YAML invalide : {getattr(exc, 'problem', exc)}",
                         None if mark is None else mark.line + 1)
            continue
        if not isinstance(data, dict):
            problems.add(shown, "la fiche doit être un dictionnaire de champs", hint="voir fiches/README.md")
            continue
        for key in REQUIRED:
            if key not in data:
                problems.add(shown, f"champ manquant : « {key} »",
                             hint=f"ajouter « {key}: » ({RESEARCHER_FIELDS.get(key, 'rempli par analyse fiches')})")
        code = data.get("code")
        if code is not None and code not in known:
            problems.add(shown, f"code inconnu de la grille : « {code} »", _line_of(text, "code"),
                         hint="corriger le code (voir analyse codebook)")
        elif code is not None and path.stem != str(code):
            problems.add(shown, f"le code « {code} » ne correspond pas au nom du fichier", _line_of(text, "code"),
                         hint=f"renommer le fichier en {code}.yaml")
        verbatims = data.get("verbatims") or []
        if not isinstance(verbatims, list):
            problems.add(shown, "« verbatims » doit être une liste", _line_of(text, "verbatims"))
            continue
        for i, v in enumerate(verbatims, 1):
            if not isinstance(v, dict) or any(k not in v for k in VERBATIM_FIELDS):
                problems.add(shown, f"verbatim {i} : il faut {', '.join(VERBATIM_FIELDS)}",
                             _line_of(text, "verbatims"))
                continue
            seg = segments.get(v["segment"])
            if seg is None:
                problems.add(shown, f"verbatim {i} : le segment « {v['segment']} » n'est pas dans le corpus",
                             _line_of(text, "verbatims"), hint="vérifier l'identifiant (analyse segments DOCUMENT)")
            elif seg.role == "animateur":
                problems.add(shown, f"verbatim {i} : « {v['segment']} » est un tour de l'animateur",
                             _line_of(text, "verbatims"), hint="choisir la parole d'un participant")
            elif seg.territory is not None and v["territoire"] != seg.territory:
                problems.add(shown, f"verbatim {i} : le segment « {v['segment']} » est du territoire "
                                    f"{seg.territory}, pas {v['territoire']}", _line_of(text, "verbatims"))
        if len({v.get("territoire") for v in verbatims if isinstance(v, dict)}) < 2 and verbatims:
            problems.add(shown, "les verbatims viennent d'un seul territoire", _line_of(text, "verbatims"),
                         hint="un invariant s'illustre par plusieurs territoires", severity="warning")
    return problems


def load_fiches(folder: str | Path) -> list[dict]:
    """The fiches of ``folder`` that read as YAML mappings, sorted by file name (check them first)."""
    out = []
    recover_fiches(folder)
    for path in sorted(Path(folder).glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError):       # validate_fiches reports it
            continue
        if isinstance(data, dict):
            out.append(data)
    return out


def field_items(value) -> list[str]:
    """A fiche field as a list of non-empty strings (a string field is one item)."""
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    return [str(v).strip() for v in values if v is not None and str(v).strip()]


def fiche_markdown(fiche: dict, public: bool = True) -> str:
    """A fiche as Markdown, for the synthesis report (``public=False``) or a groupe-miroir handout.

    The handout shows neither territories nor segment ids (a document id names its
    territory), only the masked verbatims; the researchers' version shows where each
    verbatim comes from and its risk. Empty fields say « à écrire ».

    Examples
    --------
    >>> print(fiche_markdown({"code": "ENG.1", "libelle": "Proximité", "concept_operationnel": "Partir du quotidien.",
    ...                       "verbatims": [{"segment": "x#1", "territoire": "x", "texte": "À [la commune]…"}]}))
    ### ENG.1 — Proximité
    <BLANKLINE>
    **Concept opérationnel.** Partir du quotidien.
    <BLANKLINE>
    **Méthode.** *à écrire*
    <BLANKLINE>
    **Conditions et contingences.** *à écrire*
    <BLANKLINE>
    **Contre-exemples.** *à écrire*
    <BLANKLINE>
    **Questions pour la re-contextualiser ailleurs.** *à écrire*
    <BLANKLINE>
    **Extraits.**
    <BLANKLINE>
    > « À [la commune]… »
    """
    todo = "*à écrire*"
    lines = [f"### {fiche.get('code', '?')} — {fiche.get('libelle', '')}".rstrip(" —"), ""]
    if not public:
        spread = fiche.get("diffusion") or {}
        if spread:
            detail = ", ".join(f"{k} {v}" for k, v in spread.items())
            lines += [f"*{fiche.get('classe', '')} · {', '.join(fiche.get('territoires') or [])} · {detail}*", ""]
    for key, title in (("concept_operationnel", "Concept opérationnel"), ("methode", "Méthode"),
                       ("conditions", "Conditions et contingences")):
        value = str(fiche.get(key) or "").strip()
        lines += [f"**{title}.** {value or todo}", ""]
    for key, title in (("contre_exemples", "Contre-exemples"), ("questions", "Questions pour la re-contextualiser ailleurs")):
        items = field_items(fiche.get(key))
        lines += [f"**{title}.**" + ("" if items else f" {todo}"), ""]
        if items:
            lines += [f"- {item}" for item in items] + [""]
    lines += ["**Extraits.**", ""]
    for v in fiche.get("verbatims") or []:
        if not isinstance(v, dict):
            continue
        quote = f"> « {str(v.get('texte', '')).strip()} »"
        if not public:
            quote += f"  \n> — {v.get('territoire', '')}, {v.get('segment', '')}, risque {v.get('risque', '—')}"
        lines += [quote, ""]
    return "\n".join(lines).rstrip() + "\n"


def public_text(text: str, masker=None, territory_names: Sequence[str] = (),
                pseudonymise: Callable[[str], str] | None = None) -> str:
    """A researcher's free text made fit for the groupe miroir: masked, corpus territories hidden, pseudonymised.

    Fiches are written to be decontextualised, but a condition « à Loos, … » or a
    counter-example naming the territory where it failed gives the place away: the
    same masking as the verbatims applies, then every name of a corpus territory
    (slug or display name) becomes « [un territoire] ».
    """
    out = masker.mask(text)[0] if masker is not None and text else text
    names = sorted({n for n in territory_names if n}, key=len, reverse=True)
    if names:
        pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(n) for n in names) + r")(?!\w)", re.IGNORECASE)
        out = pattern.sub(msg("fp.some_territory"), out)
    return pseudonymise(out) if pseudonymise is not None else out
