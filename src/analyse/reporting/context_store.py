"""The shared analysis context: computed once per batch, stored, read in slices by every report.

Every report of a batch starts from the same work: load and validate the corpus, the codebook and
the codings, align the coded material with the token frame, measure reliability, classify the codes
(a bootstrap and a permutation test), compute the vocabulary's specificities. :func:`ensure_context`
does it once and stores the result in ``.cache/context/<key>/`` beside the corpus, in columnar JSON
files (never pickle, which would run code when read). The key is a
hash of everything the result depends on (:func:`context_key`): the corpus and coder files' bytes,
the codebook, the project settings, the analysed coders, the NLP model's identity and the library's
own source. A re-run with unchanged inputs reads the stored context; any change builds a new one.
Tables are stored as JSON columns (:func:`read_table`): safe to read, no extra dependency.

Two kinds of files:

- **shared summaries**, one row per code or per territory (coverage, classes of invariance,
  the spread of each code's share over territories), read by every report;
- **slices**, one folder per territory (``territories/<slug>/``) holding that territory's rows only
  (segments, coded material, tokens, entities, documents, vocabulary, code profile). A territory
  report reads its slice and the summaries: its memory grows with its territory, not with the corpus.

The whole-corpus tables (``corpus/``) are read by the cross-territory reports only (the synthesis).

Examples
--------
>>> store = ensure_context(Project.load("."))                   # doctest: +SKIP
>>> store.read("segments", territory="le-mene").shape           # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from analyse.project import Project

if TYPE_CHECKING:
    import pandas as pd
# pandas is imported where a table is read or built: the batch's parent, which only finds the stored
# context (its key) before the reports start, goes without it (≈ 0.4 s of its serial part).

FORMAT = 1
CONTEXT_SUBDIR = Path(".cache") / "context"
META = "meta.json"
SUFFIX = ".json"
PSEUDONYMS_FILE = "pseudonymes.json"
KEEP = 4   # stored contexts kept per project (the newest)
# Tables stored whole (``corpus/<name>.json``) and per territory (``territories/<slug>/<name>.json``).
SLICED = ("segments", "material_segments", "material_codes", "tokens", "entities", "documents",
          "specificities", "flesh", "entity_counts", "profile")
# One-row-per-code or per-territory summaries, read by every report (``<name>.json``).
SUMMARIES = ("coverage", "invariance_code", "invariance_dimension", "code_spread", "code_territory",
             "reliability", "risk_specificities")


# ---------------------------------------------------------------------------
# The key
# ---------------------------------------------------------------------------

def _library_digest() -> str:
    """The library's version and a hash of its source: a changed computation invalidates stored contexts."""
    import analyse

    h = hashlib.sha256(analyse.__version__.encode())
    root = Path(analyse.__file__).parent
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _files_digest(h, folder: Path, root: Path) -> None:
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if any(part.startswith(".") for part in Path(rel).parts) or path.suffix == ".lock":
            continue   # caches, temporary files of an interrupted write, locks
        h.update(rel.encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())


def context_key(project: Project, coders: list[str]) -> str:
    """A hash of every input of the shared context (see the module's docstring).

    The NLP model enters through its name, version and settings (package metadata, no weights).
    """
    from analyse import nlp

    h = hashlib.sha256(f"balises-context-{FORMAT}\0".encode())
    corpus_dir, codings_dir = project.corpus_dir.resolve(), project.codings_dir.resolve()
    _files_digest(h, corpus_dir, corpus_dir)
    if corpus_dir not in codings_dir.parents and codings_dir.is_dir():
        h.update(b"codings\0")
        _files_digest(h, codings_dir, codings_dir)
    h.update(b"codebook\0")
    h.update(project.codebook_path.read_bytes() if project.codebook_path.is_file() else b"")
    h.update(json.dumps(project.settings, sort_keys=True, default=str, ensure_ascii=False).encode())
    h.update(json.dumps(sorted(coders)).encode())
    model = os.environ.get(nlp.MODEL_ENV) or nlp.DEFAULT_MODEL
    h.update(f"{model}\0{nlp.model_key(model) or ''}".encode())
    h.update(_library_digest().encode())
    return h.hexdigest()[:24]


def contexts_dir(project: Project) -> Path:
    """Where a project's stored contexts live: ``.cache/context`` beside the corpus folder."""
    return project.corpus_dir.resolve().parent / CONTEXT_SUBDIR


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------

@dataclass
class StoredContext:
    """A stored shared context: its folder and its ``meta.json``."""

    folder: Path
    meta: dict = field(default_factory=dict)
    built: bool = False     # built by this call (False: an earlier one was reused)

    @classmethod
    def open(cls, folder: str | Path) -> "StoredContext":
        folder = Path(folder)
        return cls(folder, json.loads((folder / META).read_text(encoding="utf-8")))

    @property
    def key(self) -> str:
        return self.meta["key"]

    @property
    def territories(self) -> list[str]:
        return list(self.meta["territories"])

    def read(self, name: str, territory: str | None = None) -> pd.DataFrame:
        """A table: a summary, the whole corpus's (``territory=None``) or one territory's slice."""
        if name in SUMMARIES:
            path = self.folder / f"{name}{SUFFIX}"
        elif territory is None:
            path = self.folder / "corpus" / f"{name}{SUFFIX}"
        else:
            path = self.folder / "territories" / territory / f"{name}{SUFFIX}"
        frame = read_table(path)
        attrs = self.meta.get("attrs", {}).get(name)
        if attrs:
            frame.attrs.update(attrs)
        return frame

    @cached_property
    def total_mb(self) -> float:
        return sum(p.stat().st_size for p in self.folder.rglob("*") if p.is_file()) / 2**20


# ---------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------

def _write(frame: pd.DataFrame, path: Path) -> None:
    """A table as columnar JSON: ``{"columns", "dtypes", "data": {column: values}}``.

    Parquet would need pyarrow, which the project does not depend on; JSON columns are read by the
    C parser of the standard library, keep their dtypes here, and can never run code when read
    (unlike pickle).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    compact = {"ensure_ascii": False, "separators": (",", ":"), "default": _json_value}
    head = {"columns": [str(c) for c in frame.columns], "dtypes": {str(c): str(t) for c, t in frame.dtypes.items()}}
    # one column at a time: a whole-corpus token table never exists as Python lists all at once
    # (the bytes are those of one json.dumps of the whole document)
    with open(path, "w", encoding="utf-8") as out:
        out.write(json.dumps(head, **compact)[:-1] + ',"data":{')
        for i, c in enumerate(frame.columns):
            out.write(("," if i else "") + json.dumps(str(c), **compact) + ":")
            out.write(json.dumps(frame[c].tolist(), **compact))
        out.write("}}")


def _json_value(value):
    """Values JSON has no type for: numpy scalars as numbers, dates and the rest as text."""
    import numpy as np

    return value.item() if isinstance(value, np.generic) else str(value)


def read_table(path: Path) -> pd.DataFrame:
    """A table written by :func:`_write`, with its dtypes."""
    import pandas as pd

    doc = json.loads(path.read_text(encoding="utf-8"))
    frame = pd.DataFrame(doc["data"], columns=doc["columns"])
    for col, dtype in doc["dtypes"].items():
        if str(frame[col].dtype) != dtype:     # e.g. an empty column, read as float
            try:
                frame[col] = frame[col].astype(dtype)
            except (TypeError, ValueError):
                pass    # a column JSON cannot give back exactly: keep what it gave
    return frame


def _json_safe(value):
    """Table attributes (thresholds, territories, settings) as JSON values."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def code_spread(table: pd.DataFrame, excluded: list[str] = ()) -> pd.DataFrame:
    """How each code's share spreads over the territories: quartiles, for one report to place itself.

    ``table`` is :func:`analyse.analysis.invariants.code_territory_table`; territories with little
    material (``excluded``) are left out. One row per code: ``code, territories, min, q1, median, q3,
    max`` (shares of segments). A territory report reads this summary, never the other territories' rows.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"territory": ["x", "y", "z"], "code": "A", "segment_share": [0.1, 0.2, 0.3]})
    >>> code_spread(t)[["code", "territories", "min", "median", "max"]].values.tolist()
    [['A', 3, 0.1, 0.2, 0.3]]
    """
    import pandas as pd

    rows = table[~table["territory"].isin(set(excluded))]
    g = rows.groupby("code", sort=True)["segment_share"]
    out = pd.DataFrame({"territories": g.size(), "min": g.min(), "q1": g.quantile(0.25), "median": g.median(),
                        "q3": g.quantile(0.75), "max": g.max()}).reset_index()
    return out[["code", "territories", "min", "q1", "median", "q3", "max"]]


def _territory_rank(table: pd.DataFrame, excluded: list[str]) -> pd.DataFrame:
    """Rank of each territory for each code (1 = largest share), among the classed territories."""
    rows = table[~table["territory"].isin(set(excluded))]
    rank = rows.groupby("code")["segment_share"].rank(method="min", ascending=False)
    return rows.assign(rank=rank.astype(int))[["territory", "code", "rank"]]


def build_context(project: Project, coders: list[str] | None = None, progress: bool = False,
                  corpus=None) -> tuple[dict, dict]:
    """Compute the shared context in memory: ``(tables, meta)``.

    ``tables`` maps a name of :data:`SUMMARIES` to a frame, and ``"corpus/<name>"`` to the whole-corpus
    frames of :data:`SLICED`; :func:`ensure_context` writes them and cuts the slices.
    """
    from analyse import nlp
    from analyse.analysis.invariants import codebook_labels, code_territory_table, invariance_table
    from analyse.analysis.material import align, coded_material, coverage_table, rollup_parents
    from analyse.analysis.profile import territory_profile
    from analyse.analysis import specificities as spec_mod
    from analyse.model.codebook import load_codebook
    from analyse.model.codings import CodingStore, load_codings
    from analyse.model.corpus import documents_frame, load_corpus, segments_frame
    from analyse.privacy.pseudonymise import Pseudonymiser
    from analyse.privacy.risk import risk_specificities
    from analyse.reliability.per_code import shared_sample_reliability
    import pandas as pd

    timings = {}
    t0 = time.perf_counter()
    available = CodingStore(project.codings_dir).coders()
    coders = list(coders or [project.analysed_coder(available)])
    corpus = corpus if corpus is not None else load_corpus(project.corpus_dir)
    book = load_codebook(project.codebook_path)
    codings = load_codings(corpus, book, project.codings_dir)
    timings["load_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    layer = nlp.NLPLayer(cache_dir=project.cache_dir, progress=progress, conventions=project.conventions)
    tokens, entities = nlp.token_entity_frames(corpus, layer)
    timings["nlp_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    material = coded_material(corpus, codings, coders, strict=False).rolled_up(rollup_parents(book))
    aligned = align(segments_frame(corpus), material, tokens, entities)
    del tokens, entities     # the aligned copies are kept: the whole corpus's tables are not held twice
    segments, material = aligned.segments, aligned.material
    min_coded = project.min_coded_segments
    coverage = coverage_table(segments, material, min_coded)
    labels = codebook_labels(book)
    thresholds, method = project.thresholds(), project.settings["method"]
    reliability = shared_sample_reliability(corpus, book, codings, project.agreement_coders,
                                            threshold=thresholds.min_reliability)
    invariance = {level: invariance_table(material, level=level,
                                          labels=labels if level == "code" else dict(book.dimensions),
                                          thresholds=thresholds, n_boot=method["n_boot"], n_perm=method["n_perm"],
                                          reliability=reliability if level == "code" else None,
                                          min_coded_segments=min_coded)
                  for level in ("code", "dimension")}
    timings["invariance_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    table = code_territory_table(material, codes=list(book.codes)) if not material.codes.empty else None
    excluded = list(invariance["code"].attrs.get("excluded_territories", []))
    profiles = []
    if table is not None:
        ranks = _territory_rank(table, excluded)
        for t in sorted(set(table["territory"])):
            prof = territory_profile(table, t, labels, invariance["code"])
            prof = prof.merge(ranks[ranks["territory"] == t].drop(columns="territory"), on="code", how="left")
            profiles.append(prof.assign(territory=t))
    profile = (pd.concat(profiles, ignore_index=True) if profiles else
               pd.DataFrame(columns=["code", "label", "segments", "share", "share_elsewhere", "ratio", "class",
                                     "top_territory", "rank", "territory"]))
    spec = spec_mod.specificities(aligned.tokens, segments)
    flesh = spec_mod.territory_flesh(spec, n=10**9)     # every lemma of each territory's flesh, ranked
    entity_counts = spec_mod.entities_by_territory(aligned.entities, segments)
    risk_spec = risk_specificities(aligned.tokens, material.segments)   # the synthesis' re-identification risk
    timings["tables_s"] = time.perf_counter() - t0

    territory_of = dict(zip(segments["segment"], segments["territory"]))
    documents = documents_frame(corpus)
    f, cov = codings.frame, codings.coverage
    documents["path"] = [Path(str(x)).resolve().relative_to(project.root.resolve()).as_posix()
                         if str(x).startswith(str(project.root.resolve())) else Path(str(x)).name
                         for x in documents["path"]]   # no local path in anything a report reads
    doc_territory = dict(zip(documents["doc"], documents["territory"]))
    others = {}
    for t in corpus.territories:
        docs = {d for d, dt in doc_territory.items() if dt == t}
        who = set(f.loc[f["doc"].isin(docs), "coder"]) | set(cov.loc[cov["doc"].isin(docs), "coder"])
        others[t] = sorted(who - set(coders))
    root = str(project.root.resolve()) + os.sep
    problems = [{**p.as_dict(), "path": str(p.as_dict().get("path") or "").replace(root, "")}
                for p in [*corpus.problems.errors, *codings.problems.errors]]
    tables = {
        "coverage": coverage, "invariance_code": invariance["code"], "invariance_dimension": invariance["dimension"],
        "code_spread": (code_spread(table, excluded) if table is not None
                        else pd.DataFrame(columns=["code", "territories", "min", "q1", "median", "q3", "max"])),
        "code_territory": table if table is not None else pd.DataFrame(columns=["territory", "code", "segments",
                                                                                 "segment_share"]),
        "reliability": reliability if reliability is not None else pd.DataFrame(),
        "risk_specificities": risk_spec,
        "corpus/segments": segments, "corpus/material_segments": material.segments,
        "corpus/material_codes": material.codes, "corpus/tokens": aligned.tokens,
        "corpus/entities": aligned.entities, "corpus/documents": documents, "corpus/specificities": spec,
        "corpus/flesh": flesh, "corpus/entity_counts": entity_counts, "corpus/profile": profile,
    }
    meta = {
        "format": FORMAT, "coders": coders, "coder_rule": project.coder_rule(), "how": material.how,
        "territories": list(corpus.territories), "min_coded_segments": min_coded,
        "material_notes": list(material.notes), "other_coders": others, "problems": problems,
        "attrs": {f"invariance_{level}": _json_safe(dict(inv.attrs)) for level, inv in invariance.items()},
        "timings": timings,
    }
    # not stored: a segment goes to its speaker's territory's slice (inter-territory workshops); the
    # pseudonym table (real names) goes to the private folder only
    meta["_territory_of"] = territory_of
    meta["_pseudonymiser"] = Pseudonymiser.from_corpus(corpus)
    return tables, meta


def _slices(name: str, frame: pd.DataFrame, territories: list[str], territory_of: dict):
    """``(territory, rows of that territory)`` for each territory: the rows are grouped once (a territory's
    own column, else its segments' territory), not filtered again for each territory."""
    if "territory" in frame.columns:
        key = frame["territory"]
    elif "segment" in frame.columns:
        key = frame["segment"].map(territory_of)
    else:
        raise ValueError(f"table {name} has neither a territory nor a segment column")
    groups = frame.groupby(key, sort=False, dropna=True).indices
    for t in territories:
        yield t, frame.iloc[groups.get(t, [])]


def write_context(folder: Path, tables: dict, meta: dict) -> None:
    """Write the tables, the per-territory slices and ``meta.json`` (last: it marks a complete context)."""
    territory_of = meta.pop("_territory_of")
    meta.pop("_pseudonymiser", None)
    for name, frame in tables.items():
        _write(frame, folder / f"{name}{SUFFIX}")
    for name in SLICED:
        for t, rows in _slices(name, tables[f"corpus/{name}"], meta["territories"], territory_of):
            _write(rows, folder / "territories" / t / f"{name}{SUFFIX}")
    (folder / META).write_text(json.dumps(meta, ensure_ascii=False, indent=1, default=str), encoding="utf-8")


def ensure_context(project: Project, coders: list[str] | None = None, progress: bool = False,
                   corpus=None) -> StoredContext:
    """The stored shared context for ``project`` and ``coders``: reused when its key matches, else built.

    Built in a temporary folder and renamed into place, so a report never reads a half-written
    context and two batches started together do not mix theirs. The newest :data:`KEEP` contexts
    of the project are kept, older ones removed. The pseudonym table is written to the project's
    private folder on the way (the batch used to write it itself), so that every report, in a batch
    or on its own, reads the same pseudonyms; it is rewritten whenever it does not match the corpus.
    ``corpus``, when the caller has already loaded it, saves loading it again.
    """
    from analyse.model.codings import CodingStore
    from analyse.privacy.pseudonymise import Pseudonymiser

    coders = list(coders or [project.analysed_coder(CodingStore(project.codings_dir).coders())])
    key = context_key(project, coders)
    base = contexts_dir(project)
    folder = base / key
    pseudonyms = project.ensure_private_dir() / PSEUDONYMS_FILE
    if (folder / META).is_file():
        os.utime(folder)
        stored = StoredContext.open(folder)
        if _digest_of(pseudonyms) != stored.meta.get("pseudonyms_digest"):
            from analyse.model.corpus import load_corpus
            corpus = corpus if corpus is not None else load_corpus(project.corpus_dir)
            Pseudonymiser.from_corpus(corpus).write_mapping(pseudonyms)
            stored.meta["pseudonyms_digest"] = _digest_of(pseudonyms)
        return stored
    base.mkdir(parents=True, exist_ok=True)
    tables, meta = build_context(project, coders, progress, corpus)
    meta["key"] = key
    meta["_pseudonymiser"].write_mapping(pseudonyms)
    meta["pseudonyms_digest"] = _digest_of(pseudonyms)   # a hash, never the names
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=base))
    try:
        write_context(tmp, tables, meta)
        try:
            os.replace(tmp, folder)
        except OSError:   # another process stored the same context first: use theirs
            shutil.rmtree(tmp, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    _prune(base, keep=folder)
    stored = StoredContext.open(folder)
    stored.built = True
    from analyse.reporting.masks import store_risk_part

    store_risk_part(project, stored, tables)   # while the token table is in memory: no report reads it again
    return stored


# ---------------------------------------------------------------------------
# Parts: what one report computes for long (themes, masked verbatims), stored beside the context
# ---------------------------------------------------------------------------

PARTS = "parts"


def folder_digest(*folders: Path) -> str:
    """A hash of the files of ``folders`` (absent folders count as empty): inputs a part reads
    besides the context's own (the masking lexicons, the fiches)."""
    h = hashlib.sha256()
    for folder in folders:
        h.update(str(folder.name).encode() + b"\0")
        if Path(folder).is_dir():
            _files_digest(h, Path(folder), Path(folder))
    return h.hexdigest()[:16]


def part_folder(store: StoredContext, name: str, params: dict) -> Path:
    """Where the part ``name`` computed with ``params`` lives: ``parts/<name>-<hash of params>/``.

    The context's key already covers the corpus, codings, codebook, settings, model and library
    source; ``params`` add what the part alone depends on (a report's options, other input folders).
    """
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str, ensure_ascii=False).encode())
    return store.folder / PARTS / f"{name}-{digest.hexdigest()[:16]}"


def read_part(folder: Path) -> tuple[dict, dict] | None:
    """``(meta, tables)`` of a stored part, or None when it is not there (yet)."""
    if not (folder / META).is_file():
        return None
    meta = json.loads((folder / META).read_text(encoding="utf-8"))
    tables = {p.stem: read_table(p) for p in sorted(folder.glob(f"*{SUFFIX}")) if p.name != META}
    return meta, tables


def write_part(folder: Path, meta: dict, tables: dict, files: dict[str, bytes] | None = None) -> Path:
    """Store a part: its tables (:func:`_write`), raw files (figures' PNG) and ``meta.json`` last.

    Written in a temporary folder renamed into place: a report never reads half a part, and two
    reports (the batch's two audiences) computing the same part keep the first one stored.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        for name, frame in tables.items():
            _write(frame, tmp / f"{name}{SUFFIX}")
        for name, data in (files or {}).items():
            (tmp / name).write_bytes(data)
        (tmp / META).write_text(json.dumps(_json_safe(meta), ensure_ascii=False, indent=1, default=str),
                                encoding="utf-8")
        try:
            os.replace(tmp, folder)
        except OSError:    # stored meanwhile by another report: theirs is the same
            pass
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


def _digest_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""


def _prune(base: Path, keep: Path) -> None:
    contexts = sorted((p for p in base.iterdir() if p.is_dir() and (p / META).is_file()),
                      key=lambda p: p.stat().st_mtime, reverse=True)
    for old in [p for p in contexts if p != keep][KEEP - 1:]:
        shutil.rmtree(old, ignore_errors=True)
