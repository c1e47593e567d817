"""Running one report notebook, in a worker process of the batch: papermill, then nbconvert.

Kept apart from :mod:`analyse.reporting.batch` so that a worker imports only what a job needs: this
module's top level is the standard library and the messages; papermill and nbconvert are imported by
the worker's initializer (:func:`_worker_start`) and inside the functions, pandas never.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import re
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from analyse.messages import msg

TEMPLATES = Path(__file__).parent / "templates"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass
class JobResult:
    """Outcome of one notebook run (paths are in the working folder until published)."""

    name: str
    notebook: str
    ok: bool = False
    error: str = ""        # one French line, fit for the index
    detail: str = ""       # the technical detail (traceback), for researchers only
    html: str = ""
    ipynb: str = ""
    kernel_start_s: float = 0.0
    execution_s: float = 0.0
    rendering_s: float = 0.0
    started: float = 0.0   # clock time (epoch seconds) when the worker began this job, and when it ended:
    finished: float = 0.0  # the batch's serial part is what lies outside the jobs (bench/batch.py)



def render_html(ipynb: Path, html_path: Path) -> None:
    """Render an executed notebook to self-contained HTML, without code."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        extra_template_basedirs=[str(TEMPLATES)], template_name="balises",
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
        embed_images=True, language_code="fr",
    )
    nb = nbformat.read(str(ipynb), as_version=4)
    body, _ = exporter.from_notebook_node(nb)
    html_path.write_text(body, encoding="utf-8")


@contextmanager
def _stderr_to(path: Path):
    """Send this process's file descriptor 2 to ``path`` for a while.

    The kernel papermill starts inherits it: its warnings (« Kernel is running
    over TCP without encryption », library deprecations) go to the job's log
    in the working folder instead of interleaving with the progress bar.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "wb") as log:
        os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def _summary(ename: str, evalue: str) -> str:
    """One French line about a failed report (the user's error message when the library raised one)."""
    first = (evalue or "").strip().splitlines()[0] if (evalue or "").strip() else ""
    if ename in ("UsageError", "CorpusError", "CodebookError", "CodingsError", "AnalyseError"):
        return f"Le rapport s'est arrêté sur un problème dans les données : {first}"
    return f"Le rapport s'est arrêté sur une erreur ({ename}{' : ' + first if first else ''})."


# Seconds a kernel may take to answer, and how many starts a report gets (jupyter's
# default of 60 s was exceeded on a loaded CI machine).
KERNEL_START_TIMEOUT_S = 180
KERNEL_ATTEMPTS = 2


def run_notebook(name: str, notebook: str, work_dir: str, parameters: dict, kernel: str) -> JobResult:
    """Execute one notebook with papermill into ``work_dir`` and render it there; never raises.

    The kernel's own messages go to ``<work_dir>/<name>.kernel.log``.
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    result = JobResult(name=name, notebook=notebook, started=time.time())
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    ipynb = work / f"{name}.ipynb"
    html_path = work / f"{name}.html"
    result.ipynb, result.html = str(ipynb), str(html_path)
    t0 = time.perf_counter()
    try:
        with _stderr_to(work / f"{name}.kernel.log"):
            for attempt in range(KERNEL_ATTEMPTS):
                try:
                    pm.execute_notebook(notebook, str(ipynb), parameters=parameters, kernel_name=kernel,
                                        cwd=str(Path(notebook).parent), progress_bar=False, log_output=False,
                                        start_timeout=KERNEL_START_TIMEOUT_S)
                    break
                except RuntimeError as exc:
                    # A kernel that never answered ran no cell: on a loaded machine (CI, two
                    # jobs per core) a second start usually succeeds, so try once more.
                    if "didn't respond" not in str(exc) or attempt == KERNEL_ATTEMPTS - 1:
                        raise
        result.ok = True
    except PapermillExecutionError as exc:
        result.error = _summary(exc.ename, exc.evalue)
        result.detail = _ANSI.sub("", "\n".join(exc.traceback or [f"{exc.ename}: {exc.evalue}"]))
    except Exception as exc:  # noqa: BLE001 - a failed report must not stop the batch
        result.error = _summary(type(exc).__name__, str(exc))
        result.detail = _ANSI.sub("", f"{type(exc).__name__}: {exc}")
    total = time.perf_counter() - t0
    result.execution_s, result.kernel_start_s = _split_timing(ipynb, total)
    if result.ok:
        t1 = time.perf_counter()
        try:
            render_html(ipynb, html_path)
        except Exception as exc:  # noqa: BLE001
            result.ok = False
            result.error = msg("batch.rendering_failed", error=type(exc).__name__)
            result.detail = f"{type(exc).__name__}: {exc}"
        result.rendering_s = time.perf_counter() - t1
    result.finished = time.time()
    return result


def _split_timing(ipynb: Path, total: float) -> tuple[float, float]:
    """(execution, kernel start + overhead) from papermill's per-cell durations."""
    import nbformat

    try:
        nb = nbformat.read(str(ipynb), as_version=4)
        cells = sum(float(c.get("metadata", {}).get("papermill", {}).get("duration") or 0) for c in nb.cells)
    except Exception:  # noqa: BLE001
        return total, 0.0
    return cells, max(total - cells, 0.0)


def _worker_start() -> None:
    """Initializer of the batch's worker processes: what every job needs, imported once per worker.

    jsonschema (through nbformat, which papermill and nbconvert read notebooks with) imports the
    optional ``rfc3987_syntax`` when it is installed (jupyter-events asks for it), which compiles an
    IRI grammar for about 2 s; no notebook schema has an IRI format, so a worker goes without it and
    jsonschema simply registers no IRI checker.
    """
    sys.modules.setdefault("rfc3987_syntax", None)
    import papermill  # noqa: F401 - before the first job: its import is not part of a report's time


def _ready() -> bool:
    return True


def start_pool(jobs: int | None = None) -> cf.ProcessPoolExecutor:
    """The batch's process pool (``jobs`` workers, default one per core), its workers started now.

    Started before the batch plans and finds its shared context, the workers import what they need
    (:func:`_worker_start`) while the parent works: little of that start remains serial.
    """
    workers = max(1, jobs or multiprocessing.cpu_count())
    pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                  initializer=_worker_start)
    for _ in range(workers):      # each submit starts one more worker while none is idle
        pool.submit(_ready)
    return pool
