"""Running one report notebook, in a worker process of the batch: papermill, then nbconvert.

Kept apart from :mod:`analyse.reporting.batch` so that a worker imports only what a job needs: this
module's top level is the standard library and the messages; papermill and nbconvert are imported by
the worker's initializer (:func:`_worker_start`) and inside the functions, pandas never.

Each worker starts a kernel as soon as it starts (:func:`_worker_start`), while the batch's parent
plans the run and finds its shared context: the first report of each worker finds its kernel started
(on a warm re-run the synthesis and themes reports waited 0.75–1.0 s for theirs instead of 1.16–1.5 s;
when the context has to be computed first, the kernel is ready long before). papermill accepts a started
kernel through nbclient's ``km`` argument; the kernel is shut down here after its report (nbclient
does not shut down a kernel it did not start). A kernel is used for one report only, as before. As a
report begins, its worker starts the kernel of its next report, so that no report but a worker's first
waits for a whole kernel start; the last one, unused, is shut down as the worker exits, and a worker's last
reports start none (:func:`starts_ahead`). The kernels are started without the debugger
(:mod:`analyse.reporting.kernel_launcher`) and talk over Unix sockets (:mod:`analyse.reporting.kernels`);
the workers are forked from a fork server that imported papermill once (:func:`start_pool`,
:func:`stop_pool`). In a batch, each kernel is
forked from the batch's zygote (:mod:`analyse.reporting.kernel_zygote`), which imported ipykernel, pandas
and the library once: a report no longer pays those imports (≈ 0.5 s CPU each); where the zygote cannot
serve, the kernel starts as a command, as before.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from analyse.messages import msg
from analyse.reporting import kernel_zygote
# how a report's kernel is started, talked to and stopped (re-exported: the batch and tests use these names)
from analyse.reporting.kernels import (KERNEL_NAME, LAUNCHER, _ZYGOTE, _kernel_manager_class,  # noqa: F401
                                       kernel_name, report_kernel_cmd)

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



_EXPORTER: list = []    # the worker's HTML exporter: its Jinja templates are compiled once (≈ 0.13 s a report)


def _exporter():
    if not _EXPORTER:
        from nbconvert import HTMLExporter

        _EXPORTER.append(HTMLExporter(
            extra_template_basedirs=[str(TEMPLATES)], template_name="balises",
            exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
            embed_images=True, language_code="fr",
        ))
    return _EXPORTER[0]


def render_html(ipynb, html_path: Path) -> None:
    """Render an executed notebook (a path, or the notebook papermill returned) to self-contained HTML,
    without code."""
    import nbformat

    nb = nbformat.read(str(ipynb), as_version=4) if isinstance(ipynb, (str, Path)) else ipynb
    body, _ = _exporter().from_notebook_node(nb)
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


# ---------------------------------------------------------------------------
# A kernel started ahead, in each worker
# ---------------------------------------------------------------------------

@dataclass
class _Spare:
    """A kernel started before its report: the manager, what it was started for, its stderr so far."""

    km: object
    kernel: str
    cwd: str
    log: object          # a temporary file: the kernel's stderr until a report takes it


_SPARE: list[_Spare] = []     # at most one per worker
_AHEAD: list[bool] = []       # [True] in a batch worker, which shuts its spare down as it exits


def _start_spare(kernel: str, cwd: str) -> None:
    """Start a kernel now, for the worker's next report (its messages kept aside until then)."""
    from jupyter_core.utils import run_sync

    log = tempfile.TemporaryFile()
    km = _kernel_manager_class()(kernel_name=kernel)
    try:
        run_sync(km.start_kernel)(cwd=cwd, stderr=log)
    except Exception:  # noqa: BLE001 - the report will start its own kernel, and say so if that fails too
        log.close()
        return
    _SPARE.append(_Spare(km, kernel, cwd, log))


def _take_spare(kernel: str, cwd: str) -> _Spare | None:
    """The kernel started ahead if it suits this report (same kernel, same folder) and still runs."""
    from jupyter_core.utils import run_sync

    if not _SPARE:
        return None
    spare = _SPARE.pop()
    if spare.kernel == kernel and spare.cwd == cwd and run_sync(spare.km.is_alive)():
        return spare
    _stop(spare)
    return None


def _stop(spare: _Spare, log_to: Path | None = None) -> None:
    """Shut a kernel down (immediately: its report is written) and stop its clients; its stderr goes to
    ``log_to``, after what the report's own run wrote there."""
    from jupyter_core.utils import run_sync

    try:
        for kc in getattr(spare.km, "_balises_clients", []):
            kc.stop_channels()
        if run_sync(spare.km.is_alive)():
            run_sync(spare.km.shutdown_kernel)(now=True)
        else:       # a kernel that died (killed, out of memory) leaves its connection file and sockets
            run_sync(spare.km.cleanup_resources)()
    except Exception:  # noqa: BLE001 - a kernel that is already gone
        pass
    finally:
        if log_to is not None:
            spare.log.seek(0)
            with open(log_to, "ab") as f:
                shutil.copyfileobj(spare.log, f)
        spare.log.close()


def _stop_spares() -> None:
    while _SPARE:
        _stop(_SPARE.pop())


# ---------------------------------------------------------------------------
# One report
# ---------------------------------------------------------------------------

def run_notebook(name: str, notebook: str, work_dir: str, parameters: dict, kernel: str | None = None,
                 ahead: bool = True) -> JobResult:
    """Execute one notebook with papermill into ``work_dir`` and render it there; never raises.

    The kernel (``kernel``, default :func:`kernel_name`) is the one this worker started ahead when it
    suits, else a new one. In a batch worker, the kernel of the worker's next report is started as this
    one begins, unless ``ahead`` is false (the batch knows no report will be left for it). The kernel's own
    messages go to ``<work_dir>/<name>.kernel.log``.
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    kernel = kernel or kernel_name()
    result = JobResult(name=name, notebook=notebook, started=time.time())
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    ipynb = work / f"{name}.ipynb"
    html_path = work / f"{name}.html"
    log = work / f"{name}.kernel.log"
    result.ipynb, result.html = str(ipynb), str(html_path)
    cwd = str(Path(notebook).parent)
    t0 = time.perf_counter()
    nb = spare = None
    try:
        with _stderr_to(log):
            spare = _take_spare(kernel, cwd)
            # The worker's next report gets its kernel started now, while this one runs: a kernel's
            # start (≈ 1 s, mostly imports) then overlaps a report instead of preceding the next one.
            if _AHEAD and ahead:
                _start_spare(kernel, cwd)
            for attempt in range(KERNEL_ATTEMPTS):
                try:
                    # The notebook is written once, at the end (or where it stopped on an error), not
                    # after every cell: papermill's saves took ≈ 0.3 s of each report.
                    nb = pm.execute_notebook(notebook, str(ipynb), parameters=parameters, kernel_name=kernel,
                                             cwd=cwd, progress_bar=False, log_output=False,
                                             start_timeout=KERNEL_START_TIMEOUT_S, request_save_on_cell_execute=False,
                                             **({"km": spare.km} if spare is not None and attempt == 0
                                                else {"kernel_manager_class": _kernel_manager_class()}))
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
    finally:
        if spare is not None:
            _stop(spare, log_to=log)
    total = time.perf_counter() - t0
    result.execution_s, result.kernel_start_s = _split_timing(nb if nb is not None else ipynb, total)
    if result.ok:
        t1 = time.perf_counter()
        try:
            render_html(nb if nb is not None else ipynb, html_path)
        except Exception as exc:  # noqa: BLE001
            result.ok = False
            result.error = msg("batch.rendering_failed", error=type(exc).__name__)
            result.detail = f"{type(exc).__name__}: {exc}"
        result.rendering_s = time.perf_counter() - t1
    result.finished = time.time()
    return result


def _split_timing(ipynb, total: float) -> tuple[float, float]:
    """(execution, kernel start + overhead) from papermill's per-cell durations (``ipynb``: a path, or
    the executed notebook)."""
    import nbformat

    try:
        nb = nbformat.read(str(ipynb), as_version=4) if isinstance(ipynb, (str, Path)) else ipynb
        cells = sum(float(c.get("metadata", {}).get("papermill", {}).get("duration") or 0) for c in nb.cells)
    except Exception:  # noqa: BLE001
        return total, 0.0
    return cells, max(total - cells, 0.0)


def _worker_start(kernel: str | None = None, cwd: str | None = None, zygote: str | None = None) -> None:
    """Initializer of the batch's worker processes: what every job needs, imported once per worker, and,
    given the folder of the notebooks (``cwd``), a kernel started for the worker's first report.

    jsonschema (through nbformat, which papermill and nbconvert read notebooks with) imports the
    optional ``rfc3987_syntax`` when it is installed (jupyter-events asks for it), which compiles an
    IRI grammar for about 2 s; no notebook schema has an IRI format, so a worker goes without it and
    jsonschema simply registers no IRI checker.
    """
    sys.modules.setdefault("rfc3987_syntax", None)
    import papermill  # noqa: F401 - before the first job: its import is not part of a report's time

    if zygote is not None:
        _ZYGOTE.append(zygote)

    if cwd is not None:
        from multiprocessing.util import Finalize

        # a worker that ends with a kernel no report took (more workers than reports) shuts it down
        Finalize(None, _stop_spares, exitpriority=10)
        _AHEAD.append(True)
        _start_spare(kernel or kernel_name(), cwd)


def _ready() -> bool:
    return True


def starts_ahead(count: int, workers: int) -> list[bool]:
    """For jobs submitted in this order to ``workers`` workers taking them first come, first served: whether
    each should start a kernel for its worker's next report.

    While a job runs, the jobs after it go to the other workers first; a job with fewer than ``workers``
    jobs after it is among the last of its worker, whose next kernel no report would take. Such an
    unused start is free with one worker on two cores (the second core is idle), not when every core
    runs a report: with two workers it cost two kernel starts (≈ 0.5 s CPU) in the batch's last second.
    """
    return [count - 1 - i >= max(1, workers) for i in range(count)]


def pool_workers(executor) -> int:
    """How many jobs ``executor`` runs at once (1 if it does not say)."""
    return int(getattr(executor, "_max_workers", None) or 1)


# What a worker imports before its first job, once, in the pool's fork server (see start_pool).
WORKER_IMPORTS = ["analyse.reporting.worker_imports", "analyse.reporting.runner"]


def _context():
    """The pool's start method: workers forked from a fork server that imported :data:`WORKER_IMPORTS`
    once (papermill alone is ≈ 0.4 s CPU), where the platform has one; else spawned, each importing them."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(WORKER_IMPORTS)
    return ctx


def start_pool(jobs: int | None = None, notebooks_dir: str | Path | None = None,
               kernel: str | None = None) -> cf.ProcessPoolExecutor:
    """The batch's process pool (``jobs`` workers, default one per core), its workers started now.

    Started before the batch plans and finds its shared context, the workers import what they need
    and, given ``notebooks_dir``, each starts the kernel of its first report (:func:`_worker_start`)
    while the parent works: little of that start remains serial. The workers come from a fork server
    (a clean process started for the pool, never a fork of the caller, which may run threads) that
    imported what they need once, instead of each importing it: with two workers, one import of
    papermill less in the batch's first second. :func:`stop_pool` shuts both down.
    """
    workers = max(1, jobs or multiprocessing.cpu_count())
    cwd = None if notebooks_dir is None else str(Path(notebooks_dir).resolve())
    # the zygote first: its imports (≈ 0.6 s) overlap the fork server's and this process's planning
    zygote = kernel_zygote.start(cwd) if cwd is not None else None
    pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=_context(), initializer=_worker_start,
                                  initargs=(kernel, cwd, None if zygote is None else str(zygote.socket_path)))
    _ZYGOTES[id(pool)] = zygote
    # Starting a worker waits until the fork server has imported what it preloads (≈ 0.35 s): a thread
    # does it, so that the caller plans the batch meanwhile.
    starter = threading.Thread(target=_start_workers, args=(pool, workers), name="balises-workers", daemon=True)
    starter.start()
    _STARTERS[id(pool)] = starter
    return pool


_STARTERS: dict[int, threading.Thread] = {}
_ZYGOTES: dict[int, kernel_zygote.Zygote | None] = {}


def _start_workers(pool: cf.ProcessPoolExecutor, workers: int) -> None:
    try:
        for _ in range(workers):      # each submit starts one more worker while none is idle
            pool.submit(_ready)
    except RuntimeError:              # the pool was shut down meanwhile
        pass


# Manager threads of pools released early (release_pool): stop_pool waits for them.
_RELEASED: dict[int, threading.Thread] = {}


def release_pool(pool: cf.Executor) -> None:
    """Let the pool's workers exit now without waiting for them (the batch publishes meanwhile).

    ``shutdown(wait=False)`` forgets the thread that joins the workers: it is kept here, so that
    :func:`stop_pool` still waits for every worker before it stops their fork server (a worker still
    running then would be left to the system, and its time, with its kernels', never counted).
    """
    manager = getattr(pool, "_executor_manager_thread", None)
    if manager is not None:
        _RELEASED[id(pool)] = manager
    pool.shutdown(wait=False)
    zygote = _ZYGOTES.get(id(pool))
    if zygote is not None:
        zygote.close()      # every report is done: the zygote exits meanwhile too


def stop_pool(pool: cf.Executor) -> None:
    """Shut the pool down, waiting for its workers, then the fork server they came from.

    The fork server would otherwise outlive the batch until it notices its parent is gone, and the time
    its workers and their kernels spent would not be counted with the process that ran the batch. The
    standard library stops it only through ``ForkServer._stop`` (what its own tests use); without it,
    it exits with this process, as before.
    """
    starter = _STARTERS.pop(id(pool), None)
    if starter is not None:
        starter.join()
    pool.shutdown()
    manager = _RELEASED.pop(id(pool), None)
    if manager is not None:
        manager.join()      # joins the workers that release_pool let go
    zygote = _ZYGOTES.pop(id(pool), None)
    if zygote is not None:
        zygote.close()      # after the workers, which shut their kernels down; it exits meanwhile
    if isinstance(pool, cf.ProcessPoolExecutor) and "forkserver" in multiprocessing.get_all_start_methods():
        from multiprocessing import forkserver

        stop = getattr(getattr(forkserver, "_forkserver", None), "_stop", None)
        if stop is not None:
            stop()
    if zygote is not None:
        zygote.stop()
