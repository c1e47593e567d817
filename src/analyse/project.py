"""The project: where everything lives and the team's settings, read from one place.

A research team configures its project in ``balises.toml`` at the project root
(every key optional; the defaults below apply). The CLI, the batch and the
notebooks all get their folders and defaults from :class:`Project`, so that a
default path or the default coder is written once.

Examples
--------
>>> p = Project.load(".")
>>> p.corpus_dir.name, p.codebook_path.name
('corpus', 'balises.yaml')
>>> p.settings["coders"]["agreement"]
['A', 'B']
"""

from __future__ import annotations

import copy
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from analyse.errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CONFIG_NAME = "balises.toml"

# Documented in README (« Le fichier balises.toml »); a key absent from the file keeps its default.
DEFAULTS: dict = {
    "project": {
        "name": "Balises",
        # True for the bundled illustrative corpus: reports say so. A real corpus sets false.
        "illustrative": True,
    },
    "paths": {
        "corpus": "corpus",
        "codebook": "codebook/balises.yaml",
        "codings": None,          # default: <corpus>/codings
        "outputs": "outputs",
        "private": ".balises-prive",
    },
    "coders": {
        # Which coder the analyses use: "consensus" when that coder exists, else this one.
        "primary": "A",
        "prefer_consensus": True,
        "agreement": ["A", "B"],
    },
    # Display names of territories (slug = name); the slug is the fallback.
    "territories": {},
    # Invariants: the rules of analysis.invariants.Thresholds and the resampling effort.
    "method": {
        "min_segments": 5, "min_per_territory": 2, "d_inv": 0.7, "s_sing": 0.6, "d_sing": 0.3,
        "alpha": 0.05, "min_reliability": 0.667, "n_boot": 500, "n_perm": 999,
    },
    "analysis": {
        # A territory with fewer coded segments (analysed coder) is flagged « peu de matériau » in
        # cross-territory tables and left out of the invariant / singular classification.
        "min_coded_segments": 20,
    },
    "masking": {
        # Folder of the per-territory lexicons (<territory>.yaml) used by every masking: analyse mask,
        # evaluate-masking, fiches, the groupe-miroir reports of the batch. Relative to the project root.
        "lexicons": "lexicons",
    },
    "transcription": {
        # Extra transcription conventions (Python regular expressions) added to the built-in list of
        # analyse.model.conventions: kept in displayed text, left out of vocabulary, models and masking.
        "conventions": [],
    },
}


def _merge(base: dict, extra: dict, where: str) -> dict:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if key in out and isinstance(out[key], dict):
            if not isinstance(value, dict):
                raise UsageError(f"la clé « {key} » doit être une table", where,
                                 hint=f"écrire [{key}] puis ses valeurs")
            out[key] = {**out[key], **value} if key == "territories" else _merge(out[key], value, where)
        elif key in out or not base:
            out[key] = value
        else:
            raise UsageError(f"clé inconnue « {key} »", where,
                             hint="clés possibles : " + ", ".join(sorted(base)))
    return out


def read_settings(path: Path) -> dict:
    """Defaults overlaid with ``path`` (when it exists); a bad file is a one-line French error."""
    if not path.is_file():
        return copy.deepcopy(DEFAULTS)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise UsageError("le fichier n'est pas en UTF-8", str(path), hint="l'enregistrer en UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"TOML invalide : {exc}", str(path),
                         hint="voir la section « Le fichier balises.toml » du README") from None
    return _merge(DEFAULTS, data, str(path))


def data_root(corpus_dir: str | Path, codebook_path: str | Path, codings_dir: str | Path) -> Path:
    """The deepest folder holding the corpus, the codebook file and the codings folder."""
    return Path(os.path.commonpath([Path(corpus_dir).resolve(), Path(codebook_path).resolve().parent,
                                    Path(codings_dir).resolve()]))


@dataclass
class Project:
    """Folders and settings of one project (a folder holding ``corpus/`` and ``codebook/``)."""

    root: Path
    settings: dict = field(default_factory=lambda: copy.deepcopy(DEFAULTS))
    corpus_dir: Path = None  # type: ignore[assignment]
    codebook_path: Path = None  # type: ignore[assignment]
    codings_dir: Path = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        paths = self.settings["paths"]
        self.corpus_dir = Path(self.corpus_dir) if self.corpus_dir else self.root / paths["corpus"]
        self.codebook_path = Path(self.codebook_path) if self.codebook_path else self.root / paths["codebook"]
        if not self.codings_dir:
            self.codings_dir = self.root / paths["codings"] if paths["codings"] else self.corpus_dir / "codings"
        self.codings_dir = Path(self.codings_dir)

    # -------------------------------------------------------------- construction
    @classmethod
    def load(cls, root: str | Path = ".", corpus: str | Path | None = None,
             codebook: str | Path | None = None, codings: str | Path | None = None) -> "Project":
        """The project at ``root`` with its ``balises.toml``; explicit folders override the file."""
        root = Path(root)
        project = cls(root, read_settings(root / CONFIG_NAME), corpus, codebook, codings)
        project.recover()
        return project

    @classmethod
    def from_args(cls, args) -> "Project":
        """From the CLI's common options (``--project``, ``--corpus``, ``--codebook``, ``--codings``)."""
        return cls.load(getattr(args, "project", None) or ".", getattr(args, "corpus", None),
                        getattr(args, "codebook", None), getattr(args, "codings", None))

    @property
    def data_root(self) -> Path:
        """The folder holding corpus, codebook and codings (the root, in the usual layout): where a
        write that spans them keeps its journal (see :func:`analyse.fileio.atomic_write_across`)."""
        return data_root(self.corpus_dir, self.codebook_path, self.codings_dir)

    def recover(self) -> list[str]:
        """Finish or undo a write across folders that a crash interrupted (a whole project import).

        Done at every open of the project, under the locks of the coder files the write touches.
        """
        from analyse import fileio

        done = []
        # the data root (a project import), the corpus folder's parent (a transcript import) and the
        # folder of the codebook and the codings (a codebook change, see analyse.model.codebook_edit)
        codebook_root = Path(os.path.commonpath([self.codebook_path.resolve().parent, self.codings_dir.resolve()]))
        for root in dict.fromkeys([self.data_root, self.corpus_dir.resolve().parent, codebook_root]):
            if not root.is_dir() or not (fileio.across_journals(root)
                                         or any(root.glob(".*" + fileio.ACROSS_SUFFIX + ".*.tmp"))):
                continue
            from analyse.model.codings import CODER_ID, CodingStore

            store = CodingStore(self.codings_dir)
            coders = {t.stem for j in fileio.across_journals(root) for t in fileio.across_targets(j)
                      if t.suffix == ".jsonl" and t.parent.resolve() == self.codings_dir.resolve()
                      and CODER_ID.match(t.stem)}
            with store._locked(coders):
                done += fileio.recover_across(root)
        return done

    # -------------------------------------------------------------- folders
    @property
    def outputs_dir(self) -> Path:
        return self.root / self.settings["paths"]["outputs"]

    @property
    def models_dir(self) -> Path:
        return self.outputs_dir / "models"

    @property
    def model_path(self) -> Path:
        return self.models_dir / "model.joblib"

    @property
    def suggestions_dir(self) -> Path:
        return self.outputs_dir / "suggestions"

    @property
    def private_dir(self) -> Path:
        """Never published (pseudonym tables, seeds): created readable by the owner only."""
        return self.root / self.settings["paths"]["private"]

    def ensure_private_dir(self) -> Path:
        path = self.private_dir
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, 0o700)
        return path

    @property
    def lexicons_dir(self) -> Path:
        """The per-territory lexicons of the masking (``[masking] lexicons``, default ``lexicons``)."""
        folder = self.settings["masking"]["lexicons"]
        if not isinstance(folder, str) or not folder.strip():
            from analyse.messages import msg
            raise UsageError(msg("project.bad_lexicons", value=folder), str(self.root / CONFIG_NAME),
                             hint=msg("project.bad_lexicons_hint"))
        return self.root / folder

    @property
    def fiches_dir(self) -> Path:
        """The fiches de décontextualisation (``fiches/``), written by the team."""
        from analyse.privacy.fiches import FICHES_DIR  # light: PyYAML and pandas only when asked
        return self.root / FICHES_DIR

    @property
    def cache_dir(self) -> Path:
        from analyse.nlp import default_cache_dir  # light: nlp imports spaCy lazily
        return default_cache_dir(self.corpus_dir)

    # -------------------------------------------------------------- settings
    @property
    def illustrative(self) -> bool:
        return bool(self.settings["project"]["illustrative"])

    @property
    def agreement_coders(self) -> list[str]:
        return list(self.settings["coders"]["agreement"])

    def thresholds(self):
        """The invariant classification rules of this project (``[method]`` of balises.toml)."""
        from analyse.analysis.invariants import Thresholds
        fields = Thresholds.__dataclass_fields__
        return Thresholds(**{k: v for k, v in self.settings["method"].items() if k in fields})

    def territory_names(self) -> dict[str, str]:
        return dict(self.settings["territories"])

    def territory_label(self, slug: str) -> str:
        """Display name of a territory (``[territories]`` of balises.toml), else its slug."""
        return str(self.settings["territories"].get(slug, slug))

    @property
    def min_coded_segments(self) -> int:
        return int(self.settings["analysis"]["min_coded_segments"])

    @property
    def conventions(self) -> list[str]:
        """Extra transcription conventions (regular expressions) from balises.toml."""
        return list(self.settings["transcription"]["conventions"])

    def analysed_coder(self, available=None) -> str:
        """The one coder the analyses use: ``consensus`` where it exists (if preferred), else the primary.

        ``available`` defaults to the coders that have a file in the codings folder. The same rule
        serves the CLI, the batch and the notebooks; every report prints it (:meth:`coder_rule`).
        """
        if available is None:
            from analyse.model.codings import CodingStore
            available = CodingStore(self.codings_dir).coders()
        coders = self.settings["coders"]
        if coders["prefer_consensus"] and "consensus" in set(available):
            return "consensus"
        return coders["primary"]

    def coder_rule(self) -> str:
        """The rule of :meth:`analysed_coder`, in French, for reports."""
        coders = self.settings["coders"]
        if coders["prefer_consensus"]:
            return f"consensus s'il existe, sinon le codeur principal {coders['primary']}, selon balises.toml"
        return f"le codeur principal {coders['primary']}, selon balises.toml"

    # -------------------------------------------------------------- loading
    def load_corpus(self):
        from analyse.model.corpus import load_corpus
        return load_corpus(self.corpus_dir)

    def load_codebook(self):
        """The codebook, or a one-line error when it is invalid."""
        from analyse.model.codebook import load_codebook
        return load_codebook(self.codebook_path)

    def validate_codebook(self):
        """``(codebook or None, problems)``: for commands that go on with a broken codebook."""
        from analyse.model.codebook import validate_codebook
        return validate_codebook(self.codebook_path)

    def load_codings(self, corpus, codebook, coders=None):
        """The codings; a file in an older format is read as it is (``codings.notes`` says so, in French)."""
        from analyse.model.codings import load_codings
        return load_codings(corpus, codebook, self.codings_dir, coders=coders)
