"""The batch runner: territory validation, parallel runs, failures, index, HTML."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest

from analyse.reporting.batch import check_territories, run_batch
from analyse.errors import UsageError


def test_territory_names_are_validated():
    available = ["le-mene", "malaunay"]
    assert check_territories(["all"], available) == available
    assert check_territories(["malaunay", "malaunay"], available) == ["malaunay"]
    for bad in ("../etc", "le-mene/../x", "Le Mené", ""):
        with pytest.raises(UsageError, match="nom de territoire invalide"):
            check_territories([bad], available)
    with pytest.raises(UsageError, match="territoire inconnu « loos »"):
        check_territories(["loos"], available)


def _notebook(path: Path, body: str) -> None:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(
        "territory = ''\ncorpus_dir = ''\ncodebook_path = ''\ncodings_dir = ''\ncoders = []\n"
        "out_dir = ''\naudience = ''\npseudonyms_path = ''\nterritories = []")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# Rapport"), params, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))


def test_a_failing_territory_does_not_stop_the_others(project: Path, capfd):
    nbs = project / "notebooks"
    nbs.mkdir()
    _notebook(nbs / "territoire.ipynb",
              "import os\nos.write(2, b'bruit du noyau\\n')\n"
              "if territory == 'malaunay':\n    raise ValueError('corpus vide pour ' + territory)\n"
              "print('rapport', territory)")
    _notebook(nbs / "synthese.ipynb", "print('synthèse de', len(territories), 'territoires')")
    out = project / "outputs" / "run"
    result = run_batch(project, None, out, jobs=2, notebooks_dir=nbs, progress=False)
    assert not result.ok
    jobs = {j.name: j for j in result.jobs}
    assert jobs["le-mene"].ok and jobs["synthese"].ok
    assert not jobs["malaunay"].ok and "corpus vide pour malaunay" in jobs["malaunay"].error
    index = result.index.read_text(encoding="utf-8")
    assert 'href="le-mene.html"' in index and 'href="synthese.html"' in index
    assert "rapport indisponible" in index and "corpus vide pour malaunay" in index
    page = (out / "le-mene.html").read_text(encoding="utf-8")
    assert "rapport le-mene" in page
    assert "print(" not in page                          # code cells hidden
    assert "<script src=" not in page                    # no external script: self-contained
    # researchers get a French summary in place of the failed report, the traceback folded away
    failed = (out / "malaunay.html").read_text(encoding="utf-8")
    assert "Rapport indisponible" in failed and "<details>" in failed and "corpus vide pour malaunay" in failed
    # what the kernels write to their stderr goes to each job's log in the working folder
    assert "bruit du noyau" not in capfd.readouterr().err
    work = out.parent / "run-travail"
    assert result.work_dir == work
    assert "bruit du noyau" in (work / "le-mene.kernel.log").read_text(encoding="utf-8")
    # the published folder holds no notebook, log or timing
    assert not [p for p in out.rglob("*") if p.suffix in (".ipynb", ".log", ".json")]
    # the pseudonym mapping lives in the private folder, readable by the owner only
    assert result.pseudonyms.parent == project / ".balises-prive"
    assert "Nadine Testu" in result.pseudonyms.read_text(encoding="utf-8")
    assert result.pseudonyms.stat().st_mode & 0o777 == 0o600
    assert not any("Nadine Testu" in p.read_text(encoding="utf-8", errors="ignore")
                   for p in out.rglob("*") if p.is_file())


def test_a_failed_report_leaves_nothing_in_the_groupe_miroir_folder(project: Path):
    import concurrent.futures as cf

    nbs = project / "notebooks"
    nbs.mkdir()
    _notebook(nbs / "territoire.ipynb", "raise ValueError('/home/x/secret Nadine ' + territory)")
    _notebook(nbs / "synthese.ipynb", "print('ok')")
    out = project / "outputs" / "miroir"
    out.mkdir(parents=True)
    (out / "le-mene.html").write_text("ancien rapport", encoding="utf-8")   # left by an earlier run
    with cf.ThreadPoolExecutor(max_workers=1) as pool:   # any executor plugs in
        result = run_batch(project, None, out, audience="groupe-miroir", notebooks_dir=nbs, progress=False,
                           executor=pool)
    assert [j.name for j in result.jobs if not j.ok] == ["le-mene", "malaunay"]
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "synthese.html"]
    index = result.index.read_text(encoding="utf-8")
    assert index.count("rapport indisponible") == 2
    assert "secret" not in index and "Nadine" not in index and "Traceback" not in index


def test_refuses_to_write_into_the_corpus(project: Path):
    with pytest.raises(UsageError, match="refus d'écrire les rapports"):
        run_batch(project, None, project / "corpus" / "x", progress=False)


def test_a_kernel_that_does_not_answer_gets_a_second_start(tmp_path: Path, monkeypatch):
    import papermill

    from analyse.reporting import batch

    calls = []

    def flaky(notebook, output, **kwargs):
        calls.append(kwargs["start_timeout"])
        if len(calls) == 1:
            raise RuntimeError("Kernel didn't respond in 60 seconds")
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("ok")]), output)

    monkeypatch.setattr(papermill, "execute_notebook", flaky)
    res = batch.run_notebook("t", str(tmp_path / "t.ipynb"), str(tmp_path / "work"), {}, "python3")
    assert res.ok, res.error
    assert len(calls) == 2 and calls[0] == batch.KERNEL_START_TIMEOUT_S > 60

    calls.clear()

    def broken(notebook, output, **kwargs):
        calls.append(1)
        raise RuntimeError("something else")

    monkeypatch.setattr(papermill, "execute_notebook", broken)
    res = batch.run_notebook("u", str(tmp_path / "u.ipynb"), str(tmp_path / "work"), {}, "python3")
    assert not res.ok and "RuntimeError" in res.error and len(calls) == 1


def _published(out: Path) -> list[str]:
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())


def test_prestarted_kernels_give_the_same_reports_and_leave_no_kernel(project: Path):
    """The default pool starts each worker's first kernel ahead (while the parent plans); a thread pool
    starts none. Same reports, same files; every kernel is gone afterwards."""
    import concurrent.futures as cf

    import psutil

    nbs = project / "notebooks"
    nbs.mkdir()
    _notebook(nbs / "territoire.ipynb", "import os\nos.write(2, b'bruit du noyau\\n')\nprint('rapport', territory)")
    _notebook(nbs / "synthese.ipynb", "print('synthèse de', len(territories), 'territoires')")
    # four workers for three reports: one worker's kernel is never taken, and must be shut down too
    ahead = run_batch(project, None, project / "outputs" / "a", jobs=4, notebooks_dir=nbs, progress=False)
    with cf.ThreadPoolExecutor(max_workers=1) as pool:
        plain = run_batch(project, None, project / "outputs" / "b", notebooks_dir=nbs, progress=False,
                          executor=pool)
    assert ahead.ok and plain.ok
    assert _published(ahead.index.parent) == _published(plain.index.parent)
    assert [j.name for j in ahead.jobs] == [j.name for j in plain.jobs] == ["le-mene", "malaunay", "synthese"]
    for name in ("le-mene", "malaunay", "synthese"):
        a, b = (nbformat.read(str(res.work_dir / f"{name}.ipynb"), as_version=4) for res in (ahead, plain))
        assert [c.get("outputs") for c in a.cells] == [c.get("outputs") for c in b.cells], name
        assert f"rapport {name}" in (ahead.index.parent / f"{name}.html").read_text(encoding="utf-8") \
            or name == "synthese"
    # the kernel's stderr, from its start, is in the job's log, whichever kernel ran it
    for res in (ahead, plain):
        assert "bruit du noyau" in (res.work_dir / "le-mene.kernel.log").read_text(encoding="utf-8")
    # kernels run in the notebooks' folder: none is left there (an orphan would belong to init, not to us)
    def kernels_left():
        left = []
        for p in psutil.process_iter(["cwd", "cmdline", "status"]):
            if p.info["cwd"] == str(nbs) and p.info["status"] != psutil.STATUS_ZOMBIE:
                left.append(p.info["cmdline"])
        return left

    # the pool's workers exit (the batch does not wait for them while it publishes), each shutting its
    # unused kernel down (not left to the kernel's own watch on its parent, which takes a while)
    deadline = time.monotonic() + 30
    while kernels_left() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not kernels_left()


def test_each_worker_starts_its_next_kernel_during_the_current_report(project: Path):
    """One worker, three reports: the second and third run in kernels started while the report before
    them ran (their kernel process is older than their job), and none is left afterwards."""
    import psutil

    nbs = project / "notebooks"
    nbs.mkdir()
    body = "import psutil, time\nprint('kernel-born', repr(psutil.Process().create_time()))\ntime.sleep(2.5)"
    _notebook(nbs / "territoire.ipynb", body)
    _notebook(nbs / "synthese.ipynb", body)
    res = run_batch(project, None, project / "outputs" / "k", jobs=1, notebooks_dir=nbs, progress=False)
    assert res.ok and len(res.jobs) == 3

    def born(job):
        nb = nbformat.read(str(res.work_dir / f"{job.name}.ipynb"), as_version=4)
        text = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
        return float(text.split("kernel-born")[1].split()[0])

    jobs = sorted(res.jobs, key=lambda j: j.started)
    # started ahead: early in the previous report, which took at least 2.5 s (a process's start time is
    # known to within a second on Linux, hence the margin)
    for before, job in zip(jobs, jobs[1:]):
        assert born(job) < before.finished - 1.5
    # the batch lets its workers exit while it publishes: each shuts its unused kernel down on its way out
    def kernels_left():
        return [p for p in psutil.process_iter(["cwd", "status"]) if p.info["cwd"] == str(nbs)
                and p.info["status"] != psutil.STATUS_ZOMBIE]

    deadline = time.monotonic() + 30
    while kernels_left() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not kernels_left()


def test_a_kernel_killed_mid_report_is_reported_in_french(project: Path):
    """A kernel that dies (killed, out of memory) fails its report only, with a French line; with
    pre-started kernels the worker goes on with the next report."""
    nbs = project / "notebooks"
    nbs.mkdir()
    _notebook(nbs / "territoire.ipynb",
              "import os, signal\nif territory == 'le-mene':\n    os.kill(os.getpid(), signal.SIGKILL)\n"
              "print('rapport', territory)")
    _notebook(nbs / "synthese.ipynb", "print('ok')")
    out = project / "outputs" / "tue"
    import glob
    import tempfile

    sockets = set(glob.glob(str(Path(tempfile.gettempdir()) / "balises-noyau-*")))
    result = run_batch(project, None, out, jobs=1, notebooks_dir=nbs, progress=False)
    # every kernel's sockets are removed, the killed one's too
    assert set(glob.glob(str(Path(tempfile.gettempdir()) / "balises-noyau-*"))) <= sockets
    jobs = {j.name: j for j in result.jobs}
    assert jobs["malaunay"].ok and jobs["synthese"].ok
    failed = jobs["le-mene"]
    assert not failed.ok and failed.error.startswith("Le rapport s'est arrêté sur une erreur (DeadKernelError")
    page = (out / "le-mene.html").read_text(encoding="utf-8")
    assert "Rapport indisponible" in page
    assert "rapport indisponible" in result.index.read_text(encoding="utf-8")


def test_the_batch_parent_imports_no_pandas(project: Path):
    """The parent only plans, finds the stored context and publishes: pandas (≈ 0.4 s) stays out of its
    serial part once the context is stored."""
    import subprocess
    import sys

    nbs = project / "notebooks"
    nbs.mkdir()
    _notebook(nbs / "territoire.ipynb", "print(territory)")
    _notebook(nbs / "synthese.ipynb", "print('ok')")
    code = ("import sys\nif __name__ == '__main__':\n"
            "    from analyse.reporting.batch import run_batch\n"
            f"    r = run_batch({str(project)!r}, None, {str(project / 'outputs' / 'p')!r}, jobs=1, "
            f"notebooks_dir={str(nbs)!r}, progress=False)\n"
            "    print(r.ok, r.context.built, 'pandas' in sys.modules)\n")
    script = project / "run.py"
    script.write_text(code, encoding="utf-8")
    first = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert first.stdout.split() == ["True", "True", "True"], first.stderr[-2000:]    # built: pandas needed
    again = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert again.stdout.split() == ["True", "False", "False"], again.stderr[-2000:]


def test_a_worker_shuts_down_the_kernel_no_report_took(tmp_path: Path):
    """More workers than reports: a worker that ends with its pre-started kernel unused shuts it down as
    it exits (the kernel would otherwise outlive the batch until it notices its parent is gone)."""
    import psutil

    from analyse.reporting import runner

    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    pool = runner.start_pool(2, nbs, kernel="python3")
    zygote = runner._ZYGOTES[id(pool)].process.pid     # the process the kernels are forked from, not a kernel

    def kernels() -> list[int]:
        return [p.info["pid"] for p in psutil.process_iter(["cwd", "pid", "status"])
                if p.info["cwd"] == str(nbs) and p.info["status"] != psutil.STATUS_ZOMBIE and p.info["pid"] != zygote]

    deadline = time.time() + 120
    while len(kernels()) < 2 and time.time() < deadline:
        time.sleep(0.2)
    assert len(kernels()) == 2              # each worker started one, in the notebooks' folder
    pool.shutdown()
    assert kernels() == []
    runner.stop_pool(pool)
    assert not psutil.pid_exists(zygote) or psutil.Process(zygote).status() == psutil.STATUS_ZOMBIE


def test_only_reports_with_reports_after_them_start_a_kernel_ahead():
    """Jobs go first come, first served: a job with fewer jobs after it than there are workers is among
    its worker's last, and starts no kernel that no report would take."""
    from analyse.reporting.runner import starts_ahead

    assert starts_ahead(7, 2) == [True] * 5 + [False] * 2
    assert starts_ahead(3, 1) == [True, True, False]
    assert starts_ahead(3, 4) == [False] * 3
    assert starts_ahead(0, 2) == []


def test_the_batch_tells_each_job_whether_to_start_a_kernel_ahead(project: Path):
    """execute() passes each job its flag, from the executor's number of workers, in submission order."""
    import concurrent.futures as cf

    from analyse.reporting import batch
    from analyse.reporting.runner import JobResult

    nbs = project / "notebooks"
    nbs.mkdir()
    _notebook(nbs / "territoire.ipynb", "print(territory)")
    _notebook(nbs / "synthese.ipynb", "print('ok')")
    plan = batch.plan_batch(batch.Project.load(project), None, project / "outputs" / "x", notebooks_dir=nbs)

    class Recording(cf.Executor):
        _max_workers = 2

        def __init__(self):
            self.calls = []

        def submit(self, fn, *args, **kwargs):
            self.calls.append(args)
            fut = cf.Future()
            fut.set_result(JobResult(name=args[0], notebook=args[1], ok=True))
            return fut

    pool = Recording()
    results = batch.execute(plan, executor=pool, progress=False)
    assert [r.name for r in results] == ["le-mene", "malaunay", "synthese"]
    # synthesis first (the longest), then the territories; only the first of three starts one ahead
    assert [(c[0], c[-1]) for c in pool.calls] == [("synthese", True), ("le-mene", False), ("malaunay", False)]


def test_a_report_starts_the_next_kernel_only_when_asked(tmp_path: Path, monkeypatch):
    import papermill

    from analyse.reporting import runner

    def fake(notebook, output, **kwargs):
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("ok")]), output)

    started = []
    monkeypatch.setattr(papermill, "execute_notebook", fake)
    monkeypatch.setattr(runner, "_AHEAD", [True])                 # as in a batch worker
    monkeypatch.setattr(runner, "_start_spare", lambda kernel, cwd: started.append(cwd))
    assert runner.run_notebook("t", str(tmp_path / "t.ipynb"), str(tmp_path / "w"), {}, "python3", False).ok
    assert started == []
    assert runner.run_notebook("u", str(tmp_path / "u.ipynb"), str(tmp_path / "w"), {}, "python3", True).ok
    assert started == [str(tmp_path)]


def test_report_kernels_start_without_debugger_or_history():
    """The batch's kernels are this Python's ipykernel through the report launcher; any other kernel's
    command is left alone."""
    import sys

    from analyse.reporting.runner import LAUNCHER, report_kernel_cmd

    cmd = [sys.executable, "-m", "ipykernel_launcher", "-f", "/tmp/k.json"]
    assert report_kernel_cmd(cmd) == [sys.executable, "-m", LAUNCHER, "-f", "/tmp/k.json",
                                      "--HistoryManager.enabled=False"]
    # the kernel spec that `make install` writes puts an interpreter option first
    cmd = [sys.executable, "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f", "/tmp/k.json"]
    assert report_kernel_cmd(cmd) == [sys.executable, "-Xfrozen_modules=off", "-m", LAUNCHER, "-f", "/tmp/k.json",
                                      "--HistoryManager.enabled=False"]
    for other in (["/opt/autre/python", "-m", "ipykernel_launcher", "-f", "k.json"], ["R", "--slave", "k.json"],
                  [sys.executable, "script.py", "-m", "ipykernel_launcher"]):
        assert report_kernel_cmd(list(other)) == other


def test_batch_reports_run_in_kernels_without_debugger(project: Path):
    """A real batch: every report (the pre-started kernels and the one papermill starts itself) runs with no
    debugpy imported and no IPython history, with the same output as before."""
    import concurrent.futures as cf

    nbs = project / "notebooks"
    nbs.mkdir()
    probe = ("import sys\nprint('debugpy', 'debugpy' in sys.modules and sys.modules['debugpy'] is not None)\n"
             "print('history', get_ipython().history_manager.enabled)\n"
             "from ipykernel.kernelapp import IPKernelApp\nprint('transport', IPKernelApp.instance().transport)\n"
             "print('rapport', territory or 'synthèse')")
    _notebook(nbs / "territoire.ipynb", probe)
    _notebook(nbs / "synthese.ipynb", probe)
    res = run_batch(project, None, project / "outputs" / "d", jobs=1, notebooks_dir=nbs, progress=False)
    with cf.ThreadPoolExecutor(max_workers=1) as pool:     # papermill starts these kernels itself
        plain = run_batch(project, None, project / "outputs" / "e", notebooks_dir=nbs, progress=False,
                          executor=pool)
    for r in (res, plain):
        assert r.ok, [j.error for j in r.jobs]
        for job in r.jobs:
            nb = nbformat.read(str(r.work_dir / f"{job.name}.ipynb"), as_version=4)
            text = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
            assert "debugpy False" in text and "history False" in text, (job.name, text)
            # Unix sockets, not TCP ports that another starting kernel could be given (see runner._Manager)
            assert "transport ipc" in text, (job.name, text)


def test_the_batch_leaves_no_process_and_its_workers_time_is_counted(project: Path):
    """Workers come from a fork server started for the pool: once the batch returns, the workers, their
    kernels and the fork server are gone, and have been waited for, so their CPU time is counted with
    the process that ran the batch (what the benches read) — also when the batch let its workers go
    before publishing (a worker still running when the fork server stopped lost its time, one run in two)."""
    import subprocess
    import sys

    nbs = project / "notebooks"
    nbs.mkdir()
    _notebook(nbs / "territoire.ipynb", "import time\nt = time.process_time()\nwhile time.process_time() - t < 1.5:\n"
                                        "    pass\nprint(territory)")
    _notebook(nbs / "synthese.ipynb", "print('ok')")
    code = ("import resource, psutil\nif __name__ == '__main__':\n"
            "    from analyse.reporting.batch import run_batch\n"
            f"    r = run_batch({str(project)!r}, None, {str(project / 'outputs' / 'p')!r}, jobs=2, "
            f"notebooks_dir={str(nbs)!r}, progress=False)\n"
            "    left = [p for p in psutil.Process().children(recursive=True)\n"
            "            if 'resource_tracker' not in ' '.join(p.cmdline())]\n"
            "    ru = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
            "    print(r.ok, len(left), round(ru.ru_utime + ru.ru_stime, 2))\n")
    script = project / "run.py"
    script.write_text(code, encoding="utf-8")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    ok, left, cpu = out.stdout.split()
    assert (ok, left) == ("True", "0"), out.stderr[-2000:]
    # the two territory kernels alone spend 1.5 s each on any machine (3.0 s), the kernels' starts and the
    # workers more; a worker left running when the fork server stopped took its kernel's 1.5 s and more away
    assert float(cpu) >= 3.2


def test_a_report_kernel_is_ready_when_iopub_says_so_not_after_a_silence():
    """The client of a report's kernel is ready as soon as IOPub says it is connected (ipykernel 7's welcome, or
    the idle status of ``kernel_info``): it never waits for IOPub to fall silent, as jupyter_client's own wait
    does every time (0.2 s per report, both cores idle); and IOPub works (the next request's output arrives)."""
    from queue import Empty

    from jupyter_core.utils import run_sync

    from analyse.reporting import runner

    km = runner._kernel_manager_class()(kernel_name=runner.kernel_name())
    run_sync(km.start_kernel)()
    kc = km.client()
    try:
        kc.start_channels()
        silences = []
        get_msg = kc.iopub_channel.get_msg

        async def watched(*args, **kwargs):
            try:
                return await get_msg(*args, **kwargs)
            except Empty:
                silences.append(kwargs.get("timeout"))
                raise

        kc.iopub_channel.get_msg = watched
        run_sync(kc.wait_for_ready)(timeout=120)
        assert silences == []
        request = kc.execute("print('bonjour')")
        seen = []
        while "idle" not in seen:
            msg = run_sync(kc.get_iopub_msg)(timeout=30)
            if msg["parent_header"].get("msg_id") == request:
                seen.append(msg["content"].get("execution_state") or msg["content"].get("text", "").strip())
        assert seen[0] == "busy" and "bonjour" in seen, seen
    finally:
        kc.stop_channels()
        run_sync(km.shutdown_kernel)(now=True)
