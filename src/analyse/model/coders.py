"""The coders registry: who (or what) each coder file's codings come from.

``corpus/codings/coders.yaml`` records once, for every coder id, what agreement
statistics and reports need to be read honestly: a person, a person helped by
a model, a language model, a consensus of the team, an import from another
tool; since when; whether the coder worked blind (without seeing the other
coders' codes or the machine suggestions); and how the codings were made::

    coders:
      - id: A
        who: "Équipe Balises"
        kind: human            # human | model-assisted | llm | consensus | imported
        since: 2026-11-20
        blind: false
        method: "Codage manuel dans le panneau JupyterLab, grille 1.0.0."

Problems are French and name the file and line; :func:`unregistered` lists
the coder files that the registry does not describe (``analyse validate``
reports them as warnings).
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from analyse.errors import CodingsError, Problems
from analyse.model.corpus import yaml_line
from analyse.textutil import fr_yaml_error

REGISTRY_NAME = "coders.yaml"
KINDS = ("human", "model-assisted", "llm", "consensus", "imported")
REQUIRED = ("id", "who", "kind", "since", "blind", "method")
OPTIONAL = ("notes", "model", "until")
CODER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")   # same rule as a coder file's name


@dataclass(frozen=True)
class Coder:
    id: str
    who: str
    kind: str
    since: str
    blind: bool
    method: str
    notes: str = ""
    model: str = ""
    until: str = ""

    @property
    def is_human(self) -> bool:
        return self.kind == "human"


@dataclass
class Registry:
    coders: dict[str, Coder]
    path: str = ""
    problems: Problems = field(default_factory=Problems)

    def __contains__(self, coder: str) -> bool:
        return coder in self.coders

    def __getitem__(self, coder: str) -> Coder:
        return self.coders[coder]


def registry_path(codings_dir: str | Path) -> Path:
    return Path(codings_dir) / REGISTRY_NAME


def _as_date(value) -> str | None:
    if isinstance(value, _dt.datetime):
        return value.date().isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    try:
        return _dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        return None


def validate_registry(path: str | Path) -> tuple[Registry | None, Problems]:
    """Read and check ``coders.yaml``; return it (None when absent or unusable) and every problem."""
    path = Path(path)
    rel = str(path)
    problems = Problems()
    if not path.is_file():
        return None, problems
    try:
        text = path.read_text(encoding="utf-8-sig")
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except UnicodeDecodeError:
        problems.add(rel, "le fichier n'est pas en UTF-8", hint="l'enregistrer en UTF-8")
        return None, problems
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problems.add(rel, f"YAML invalide : {fr_yaml_error(exc)}",
                     None if mark is None else mark.line + 1, hint="vérifier l'indentation et les guillemets")
        return None, problems
    if not isinstance(data, dict) or not isinstance(data.get("coders"), list):
        problems.add(rel, "il faut une clé « coders » contenant une liste de codeurs", 1,
                     hint="voir le README, section « Le registre des codeurs »")
        return None, problems
    coders: dict[str, Coder] = {}
    for i, raw in enumerate(data["coders"]):
        line = yaml_line(node, ["coders", i])
        if not isinstance(raw, dict):
            problems.add(rel, f"le codeur n° {i + 1} n'est pas une table (id, who, kind…)", line)
            continue
        cid = str(raw.get("id") or "")
        name = cid or f"n° {i + 1}"
        missing = [k for k in REQUIRED if raw.get(k) in (None, "")]
        if missing:
            problems.add(rel, f"codeur {name} : champ(s) manquant(s) : {', '.join(missing)}", line,
                         hint="chaque codeur a id, who, kind, since, blind et method")
        unknown = sorted(set(raw) - set(REQUIRED) - set(OPTIONAL))
        if unknown:
            problems.add(rel, f"codeur {name} : champ(s) inconnu(s) : {', '.join(map(str, unknown))}", line,
                         hint=f"champs possibles : {', '.join(REQUIRED + OPTIONAL)}", severity="warning")
        if not cid:
            continue
        if not CODER_ID.match(cid):
            problems.add(rel, f"identifiant de codeur invalide « {cid} »", line,
                         hint="lettres, chiffres, « - » ou « _ » : c'est aussi le nom de son fichier")
            continue
        if cid in coders:
            problems.add(rel, f"codeur {cid} décrit deux fois", line, hint="garder une seule entrée par codeur")
            continue
        kind = raw.get("kind")
        if kind is not None and kind not in KINDS:
            problems.add(rel, f"codeur {cid} : type « {kind} » inconnu", line,
                         hint=f"types possibles : {', '.join(KINDS)}")
        since = _as_date(raw.get("since")) if raw.get("since") is not None else None
        if raw.get("since") is not None and since is None:
            problems.add(rel, f"codeur {cid} : « since » n'est pas une date AAAA-MM-JJ : {raw['since']!r}", line)
        blind = raw.get("blind")
        if blind is not None and not isinstance(blind, bool):
            problems.add(rel, f"codeur {cid} : « blind » doit valoir true ou false, pas {blind!r}", line)
        coders[cid] = Coder(id=cid, who=str(raw.get("who") or ""), kind=str(kind or ""), since=since or "",
                            blind=bool(blind), method=str(raw.get("method") or "").strip(),
                            notes=str(raw.get("notes") or "").strip(), model=str(raw.get("model") or ""),
                            until=_as_date(raw["until"]) or "" if raw.get("until") else "")
    registry = Registry(coders=coders, path=rel, problems=problems)
    return (None if problems.errors else registry), problems


def load_registry(codings_dir: str | Path) -> Registry | None:
    """The registry of a codings folder, None when it has none; :class:`CodingsError` when it is invalid."""
    registry, problems = validate_registry(registry_path(codings_dir))
    if problems.errors:
        first = problems.errors[0]
        raise CodingsError(first.message, first.path, first.line, first.hint)
    return registry


def unregistered(codings_dir: str | Path, coders: list[str], registry: Registry | None) -> Problems:
    """A warning for each coder file that the registry does not describe."""
    problems = Problems()
    path = registry_path(codings_dir)
    for coder in coders:
        if registry is None or coder not in registry:
            problems.add(Path(codings_dir) / f"{coder}.jsonl",
                         f"le codeur {coder} n'est pas décrit dans le registre des codeurs",
                         hint=f"l'ajouter à {path} (qui, type, depuis quand, à l'aveugle ou non, comment)",
                         severity="warning")
    return problems
