"""The batch's report kernels forked from one process that imported what they need (analyse.reporting.kernel_zygote)."""

from __future__ import annotations

import concurrent.futures as cf
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from jupyter_core.utils import run_sync

from analyse.reporting import kernel_zygote, kernels, runner
from analyse.reporting.batch import run_batch

from tests.reporting.test_batch import _notebook

PROBE = """import os, sys
print("preloaded", "pandas" in sys.modules)
print("cwd", os.getcwd())
print("leak", "leak" in globals())
leak = territory
import pandas as pd
print("rows", pd.get_option("display.max_rows"))
pd.set_option("display.max_rows", 3)
import numpy as np
print("random", np.random.random())
print("parent", os.environ.get("JPY_PARENT_PID") == str(os.getppid()))
"""


def _outputs(work: Path, name: str) -> dict[str, str]:
    nb = nbformat.read(str(work / f"{name}.ipynb"), as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    return dict(line.split(" ", 1) for line in text.splitlines() if " " in line)


def test_batch_kernels_are_forked_with_their_imports_and_share_nothing(project: Path):
    """Every report of a batch runs in a kernel forked from the zygote: pandas is there before the notebook
    imports it, the kernel is in the notebooks' folder, and nothing of another report is in it (a variable, a
    pandas option, numpy's random state). Without the zygote (papermill starting the kernels), the same
    notebook imports pandas itself."""
    nbs = project / "notebooks"
    nbs.mkdir()
    _notebook(nbs / "territoire.ipynb", PROBE)
    _notebook(nbs / "synthese.ipynb", PROBE.replace("leak = territory", "leak = 'synthese'"))
    res = run_batch(project, None, project / "outputs" / "z", jobs=1, notebooks_dir=nbs, progress=False)
    assert res.ok, [j.error for j in res.jobs]
    seen = [_outputs(res.work_dir, j.name) for j in res.jobs]
    assert len(seen) == 3
    for out in seen:
        assert out["preloaded"] == "True" and out["leak"] == "False" and out["rows"] == "60", out
        assert Path(out["cwd"]) == nbs.resolve() and out["parent"] == "True", out
    assert len({out["random"] for out in seen}) == 3         # each kernel draws its own numbers
    assert not [p for p in psutil.process_iter(["cmdline"]) if kernel_zygote.MODULE in " ".join(p.info["cmdline"] or [])
                and str(project) in " ".join(p.info["cmdline"] or [])]
    with cf.ThreadPoolExecutor(max_workers=1) as pool:     # no zygote: papermill starts each kernel
        plain = run_batch(project, None, project / "outputs" / "p", notebooks_dir=nbs, progress=False, executor=pool)
    assert plain.ok and {_outputs(plain.work_dir, j.name)["preloaded"] for j in plain.jobs} == {"False"}


@pytest.fixture
def zygote(tmp_path: Path, monkeypatch):
    started = kernel_zygote.start(tmp_path)
    assert started is not None
    monkeypatch.setattr(kernels, "_ZYGOTE", [str(started.socket_path)])
    yield started
    started.stop()


def _kernel(**kw):
    km = runner._kernel_manager_class()(kernel_name=runner.kernel_name())
    run_sync(km.start_kernel)(**kw)
    kc = km.client()
    kc.start_channels()
    run_sync(kc.wait_for_ready)(timeout=120)
    return km, kc


def _run(kc, code: str) -> str:
    request = kc.execute(code)
    text = []
    while True:
        msg = run_sync(kc.get_iopub_msg)(timeout=60)
        if msg["parent_header"].get("msg_id") != request:
            continue
        if msg["msg_type"] == "stream":
            text.append(msg["content"]["text"])
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return "".join(text)


def test_a_forked_kernel_runs_is_killed_and_the_zygote_stops_with_its_kernels(zygote, tmp_path: Path):
    proc, path = zygote.process, zygote.socket_path
    km, kc = _kernel(cwd=str(tmp_path))
    try:
        assert isinstance(km.provisioner.process, kernel_zygote.Forked)
        pid = km.provisioner.process.pid
        assert psutil.Process(pid).ppid() == proc.pid
        assert _run(kc, "import os; print(os.getcwd(), 6 * 7)").split() == [str(tmp_path), "42"]
        assert run_sync(km.is_alive)()
    finally:
        kc.stop_channels()
        run_sync(km.shutdown_kernel)(now=True)     # SIGKILL to its process group, as a finished report does
    assert not run_sync(km.is_alive)()
    km2, kc2 = _kernel()
    kc2.stop_channels()
    other = km2.provisioner.process.pid
    zygote.stop()                                  # a kernel still running: the zygote kills it as it stops
    assert proc.returncode == 0 and not path.parent.exists()
    deadline = time.time() + 10
    while psutil.pid_exists(other) and psutil.Process(other).status() != psutil.STATUS_ZOMBIE \
            and time.time() < deadline:
        time.sleep(0.1)
    assert not psutil.pid_exists(other) or psutil.Process(other).status() == psutil.STATUS_ZOMBIE
    assert not run_sync(km2.is_alive)()


def test_without_a_zygote_to_answer_the_kernel_starts_as_a_command(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(kernels, "_ZYGOTE", [str(tmp_path / "absent.sock")])
    monkeypatch.setattr(kernel_zygote, "CONNECT_S", 0.5)
    km, kc = _kernel()
    assert kernels._ZYGOTE == []          # the next kernels of this worker do not wait for it again
    try:
        assert not isinstance(km.provisioner.process, kernel_zygote.Forked)
        assert _run(kc, "print(6 * 7)").strip() == "42"
    finally:
        kc.stop_channels()
        run_sync(km.shutdown_kernel)(now=True)


def test_a_zygote_whose_batch_died_stops_and_takes_its_kernels_with_it(tmp_path: Path):
    """The batch is killed without stopping anything: the zygote sees its standard input close, kills its
    kernels and exits; nothing is left running."""
    code = f"""
import os, sys
from jupyter_core.utils import run_sync
from analyse.reporting import kernel_zygote, kernels, runner
zygote = kernel_zygote.start({str(tmp_path)!r})
kernels._ZYGOTE.append(str(zygote.socket_path))
km = runner._kernel_manager_class()(kernel_name=runner.kernel_name())
run_sync(km.start_kernel)()
print(zygote.process.pid, km.provisioner.process.pid, flush=True)
os._exit(0)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    pids = [int(x) for x in out.stdout.split()]
    assert len(pids) == 2, out.stderr[-2000:]

    def running(pid: int) -> bool:
        try:
            return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    deadline = time.time() + 20
    while any(running(p) for p in pids) and time.time() < deadline:
        time.sleep(0.2)
    assert not any(running(p) for p in pids)


def test_a_killed_kernel_is_waited_for_without_long_sleeps(zygote, monkeypatch):
    """Shutting a report's kernel down (now) checks every few milliseconds whether it has exited, not every
    0.1 s (jupyter_client's interval, an idle tenth of a second per report); the kernel is then gone."""
    import asyncio

    from jupyter_client import manager

    km, kc = _kernel()
    kc.stop_channels()
    sleeps = []
    real_sleep = asyncio.sleep

    async def sleep(delay, *args, **kwargs):
        sleeps.append(delay)
        return await real_sleep(delay, *args, **kwargs)

    monkeypatch.setattr(manager.asyncio, "sleep", sleep)
    run_sync(km.shutdown_kernel)(now=True)
    assert not run_sync(km.is_alive)()
    assert sleeps and max(sleeps) < 0.1


def test_no_zygote_where_its_socket_path_would_be_too_long(tmp_path: Path, monkeypatch):
    """A temporary folder with a long path: a Unix socket could not be bound there, so no zygote is started
    (the kernels start as commands) and nothing is left behind."""
    import tempfile

    long = tmp_path / ("dossier-temporaire-" * 6)
    long.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(long))
    assert kernel_zygote.start() is None
    assert list(long.iterdir()) == []


def test_a_zygote_that_stops_answering_is_not_asked_again(tmp_path: Path, monkeypatch):
    """A zygote that takes the request and never answers: after the answer's delay the worker gives it up for
    good (Unavailable) instead of waiting again for every kernel."""
    import socket

    path = tmp_path / "muet.sock"
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    silent.bind(str(path))
    silent.listen(1)          # connections queue; nothing ever reads or answers them
    monkeypatch.setattr(kernel_zygote, "ANSWER_TIMEOUT_S", 0.3)
    try:
        with pytest.raises(kernel_zygote.Unavailable):
            kernel_zygote.fork(str(path), ["-f", str(tmp_path / "k.json")], {"cwd": str(tmp_path), "env": {}})
    finally:
        silent.close()


def test_the_zygote_survives_bad_or_abandoned_requests(zygote):
    """A request without its three descriptors, and a client gone before the answer, are refused or dropped;
    the zygote keeps serving the next kernel."""
    import socket

    for payload in (b'{"argv": []}\n', b"pas du json\n"):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(60)
            assert kernel_zygote._connect(sock, str(zygote.socket_path))
            sock.sendall(payload)
            assert b"error" in sock.recv(4096)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:     # gone before any answer
        assert kernel_zygote._connect(sock, str(zygote.socket_path))
        sock.sendall(b'{"argv"')
    km, kc = _kernel()
    try:
        assert isinstance(km.provisioner.process, kernel_zygote.Forked)
        assert _run(kc, "print(6 * 7)").strip() == "42"
    finally:
        kc.stop_channels()
        run_sync(km.shutdown_kernel)(now=True)
    assert zygote.process.poll() is None
