"""Shared pieces of the benches: timed commands in new processes, alternation, replicated projects.

Every bench measures what a user pays: the real command in a new process (start-up included), its
wall time, its CPU time (user + system of the whole process tree) and its peak resident memory
(the largest single process and the sum over the tree, sampled with psutil every 20 ms; without
psutil, the peak of the largest waited-for child from ``getrusage``). Cases are alternated round
by round (the order rotates), and min and median are reported, never one run.

``--src PATH`` (repeatable) runs the same cases with another copy of the library's ``src`` folder
(e.g. the main branch's), alternated with this one in the same rounds: a before/after comparison
under the same load.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


@dataclass
class Run:
    wall: float
    cpu: float
    peak_one_mb: float
    peak_tree_mb: float
    code: int
    stdout: str = ""
    stderr: str = ""


@dataclass
class Series:
    runs: list[Run] = field(default_factory=list)

    def stat(self, attr: str, how=statistics.median) -> float:
        return how(getattr(r, attr) for r in self.runs)

    def min(self, attr: str) -> float:
        return self.stat(attr, min)

    def median(self, attr: str) -> float:
        return self.stat(attr, statistics.median)

    def max(self, attr: str) -> float:
        return self.stat(attr, max)


def env_for(src: Path | None, extra: dict | None = None) -> dict:
    """The environment of a child: ``src`` first on the path (the kernels papermill starts inherit it)."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(src)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.setdefault("PYTHONWARNINGS", "ignore")
    env.update(extra or {})
    return env


def _tree_rss(proc) -> tuple[float, float]:
    import psutil

    try:
        procs = [proc] + proc.children(recursive=True)
    except psutil.Error:
        return 0.0, 0.0
    sizes = []
    for p in procs:
        try:
            sizes.append(p.memory_info().rss)
        except psutil.Error:
            pass
    return (max(sizes, default=0) / 2**20, sum(sizes) / 2**20)


def run(cmd: list[str], cwd: Path | None = None, env: dict | None = None, timeout: float | None = None,
        check: bool = True) -> Run:
    """Run a command, measuring wall, CPU of the process tree and peak memory."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peaks = [0.0, 0.0]
    stop = threading.Event()
    try:
        import psutil

        ps = psutil.Process(proc.pid)

        def sample():
            while not stop.wait(0.02):
                one, tree = _tree_rss(ps)
                peaks[0], peaks[1] = max(peaks[0], one), max(peaks[1], tree)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
    except ImportError:
        sampler = None
    out, err = proc.communicate(timeout=timeout)
    wall = time.perf_counter() - t0
    stop.set()
    if sampler is not None:
        sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if sampler is None:
        peaks = [after.ru_maxrss / 1024, after.ru_maxrss / 1024]
    if check and proc.returncode != 0:
        raise SystemExit(f"bench: {' '.join(map(str, cmd))} failed ({proc.returncode}):\n{err[-3000:]}")
    return Run(wall, cpu, peaks[0], peaks[1], proc.returncode, out, err)


def alternate(cases: dict, rounds: int) -> dict[str, Series]:
    """Run every case once per round, the order rotating each round; ``cases`` maps name → callable
    returning a :class:`Run`. Returns the series of each case."""
    names = list(cases)
    series = {name: Series() for name in names}
    for r in range(rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            series[name].runs.append(cases[name]())
    return series


def sources(args_src: list[str] | None) -> dict[str, Path]:
    """``{label: src folder}``: this tree's ``src`` first, then each ``--src`` (labelled by its parent)."""
    out = {"ici": ROOT / "src"}
    for s in args_src or []:
        p = Path(s).resolve()
        label = p.parent.name if p.name == "src" else p.name
        out[label if label not in out else str(p)] = p
    return out


def table(rows: list[list], headers: list[str]) -> str:
    cells = [headers] + [[("" if v is None else (f"{v:.2f}" if isinstance(v, float) else str(v))) for v in r]
                         for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# ----------------------------------------------------------------------------- replicated projects

_FRONT_ID = re.compile(r"^id:[ \t]*.*$", re.M)
_FRONT_TERRITORY = re.compile(r"^territory:[ \t]*.*$", re.M)
_PARTICIPANT_TERRITORY = re.compile(r"(^\s*- \{.*\bterritory:\s*)([a-z0-9-]+)", re.M)
INTER_TERRITORIES = "inter-territoires"


def replica_names(k: int, doc: str, territory: str, new_territories: bool = True) -> tuple[str, str]:
    """Replica ``k`` of a document: new document id AND new territory slug (k = 0 keeps both)."""
    if k == 0:
        return doc, territory
    return f"{doc}-x{k}", (f"{territory}-x{k}" if new_territories else territory)


def replicate_project(dest: Path, times: int, source: Path = ROOT, new_territories: bool = True) -> Path:
    """A project whose corpus is the bundled one ``times`` times, every copy under new document ids
    and new territory slugs, with the codings copied too (``analyse validate`` passes on it).

    The codebook, the notebooks and ``balises.toml`` are copied as they are. With
    ``new_territories=False`` the copies stay in their territory (more documents per territory).
    """
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name in ("codebook", "notebooks"):
        shutil.copytree(source / name, dest / name, ignore=shutil.ignore_patterns("*.kernel.log", ".ipynb_checkpoints"))
    if (source / "balises.toml").exists():
        shutil.copy(source / "balises.toml", dest / "balises.toml")
    corpus = source / "corpus"
    rename: dict[str, list[str]] = {}
    for folder in sorted(p for p in corpus.iterdir() if p.is_dir() and p.name != "codings"
                         and not p.name.startswith((".", "_"))):
        for path in sorted(folder.glob("*.md")):
            if path.name.lower() == "readme.md":
                continue
            text = path.read_text(encoding="utf-8")
            head, sep, body = text.partition("\n---")
            shared = folder.name == INTER_TERRITORIES
            for k in range(times):
                doc, territory = replica_names(k, path.stem, folder.name, new_territories)
                if shared:
                    # a workshop between peers stays one; its participants come from the replica's territories
                    territory = folder.name
                    head_k = _PARTICIPANT_TERRITORY.sub(
                        lambda m: m[1] + replica_names(k, "", m[2], new_territories)[1], head)
                else:
                    head_k = head
                front = _FRONT_TERRITORY.sub(f"territory: {territory}", _FRONT_ID.sub(f"id: {doc}", head_k, 1), 1)
                out = dest / "corpus" / territory / f"{doc}.md"
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(front + sep + body, encoding="utf-8")
                rename.setdefault(path.stem, []).append(doc)
    (dest / "corpus" / "codings").mkdir(parents=True, exist_ok=True)
    for path in sorted((corpus / "codings").glob("*.yaml")):     # the coders' registry
        shutil.copy(path, dest / "corpus" / "codings" / path.name)
    for path in sorted((corpus / "codings").glob("*.jsonl")):
        lines = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            for doc in rename.get(rec.get("doc"), [rec.get("doc")]):
                lines.append(json.dumps({**rec, "doc": doc}, ensure_ascii=False))
        (dest / "corpus" / "codings" / path.name).write_text("".join(f"{ln}\n" for ln in lines), encoding="utf-8")
    return dest


def copy_nlp_cache(reference: Path, dest: Path, times: int) -> int:
    """Give every replica the NLP cache files of its original document (same texts, so byte for byte
    what parsing it would write); works for any cache format (files are renamed, not read)."""
    n = 0
    pattern = re.compile(r"^(?P<doc>.+)-(?P<digest>[0-9a-f]{20})(?P<ext>\..+)$")
    for key_dir in (p for p in reference.iterdir() if p.is_dir()):
        out = dest / key_dir.name
        out.mkdir(parents=True, exist_ok=True)
        for f in key_dir.iterdir():
            m = pattern.match(f.name)
            if not m:
                continue
            for k in range(times):
                doc = m["doc"] if k == 0 else f"{m['doc']}-x{k}"
                shutil.copyfile(f, out / f"{doc}-{m['digest']}{m['ext']}")
                n += 1
    return n


def notebooks_for(src: Path) -> Path:
    """The report notebooks that go with a library copy (``<tree>/notebooks`` beside its ``src``): a
    library is measured with its own notebooks, which call it (else this tree's)."""
    own = Path(src).resolve().parent / "notebooks"
    return own if own.is_dir() else ROOT / "notebooks"


def analyse_cmd(*args: str) -> list[str]:
    return [PYTHON, "-m", "analyse.cli", *args]


def fmt_series(label: str, s: Series, base: Series | None = None) -> list:
    row = [label, s.min("wall"), s.median("wall"), s.min("cpu"), s.median("cpu"), s.max("peak_one_mb"),
           s.max("peak_tree_mb")]
    if base is not None:
        row.append(f"×{s.median('wall') / base.median('wall'):.2f}")
    return row


SERIES_HEADERS = ["cas", "mur min s", "mur méd. s", "CPU min s", "CPU méd. s", "pic 1 proc. MiB", "pic arbre MiB"]


def coder_frame(cache: Path | None = None, coder: str = "A"):
    """``(book, layer, X, y)``: the bundled codebook, an NLP layer on ``cache`` (default: the project's
    cache) and ``coder``'s covered segments as model input with their codes — what the model benches
    (transfer_choice, realtext_choice, learning_curve) train and score on. Imports the project inside:
    the benches that only time subprocesses never load it."""
    from analyse.coding.evaluate import evaluation_data
    from analyse.model.codebook import load_codebook
    from analyse.model.codings import load_codings
    from analyse.model.corpus import load_corpus
    from analyse.nlp import NLPLayer, default_cache_dir

    corpus = load_corpus(ROOT / "corpus")
    book = load_codebook(ROOT / "codebook" / "balises.yaml")
    codings = load_codings(corpus, book)
    layer = NLPLayer(cache_dir=cache or default_cache_dir(corpus.root), progress=False)
    X, y, _ = evaluation_data(corpus, codings, coder, layer)
    return book, layer, X, y
