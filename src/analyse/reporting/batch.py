"""The main job: one report per territory plus a synthesis, as self-contained HTML.

Three steps, each replaceable:

1. :func:`plan_batch` decides which notebooks run, with which parameters (a
   :class:`BatchPlan`: one :class:`Job` per territory, the synthesis and, for
   researchers, the agreement report);
2. :func:`execute` runs the jobs with an executor passed in (default: a
   process pool, one kernel per job); each job is :func:`run_notebook`
   (papermill, then nbconvert), which never raises;
3. :func:`publish` and :func:`write_index` fill the published folder and its
   ``index.html`` through the Jinja templates of ``templates/pages``.

Two folders: the published one (``--out``) holds only what a meeting may see —
HTML reports, CSV tables, PNG figures and the index; the working folder beside
it (``<out>-travail``, never published) holds the executed notebooks, the
kernels' logs, the timings and each job's own tables before they are
published. A report that fails publishes nothing: for the groupe miroir the
index says « rapport indisponible »; for researchers a French summary page
replaces it, with the technical detail folded away. The pseudonym table (real
names) goes to the project's private folder, readable by its owner only.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as _dt
import json
import multiprocessing
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from analyse.errors import UsageError
from analyse.messages import msg
from analyse.textutil import check_choice, fr_number  # noqa: F401
from analyse.project import Project
# No pandas at import: run_batch starts the workers first (start_pool), then imports what plans the run
# (corpus, shared context), so that the workers' start overlaps it.
from analyse.reporting.runner import (KERNEL_ATTEMPTS, KERNEL_NAME, KERNEL_START_TIMEOUT_S, TEMPLATES,  # noqa: F401
                                      JobResult, _ready, _split_timing, _stderr_to, _summary, _worker_start,
                                      kernel_name, pool_workers, release_pool, render_html, run_notebook,
                                      start_pool, starts_ahead, stop_pool)

if TYPE_CHECKING:
    from analyse.model.corpus import Corpus
    from analyse.reporting.context_store import StoredContext

TERRITORY_NOTEBOOK = "territoire.ipynb"
SYNTHESIS_NOTEBOOK = "synthese.ipynb"
AGREEMENT_NOTEBOOK = "accord.ipynb"
THEMES_NOTEBOOK = "themes.ipynb"
REPORT_LABELS = {"synthese": msg("batch.report.synthese"), "accord": msg("batch.report.accord"),
                 "themes": msg("batch.report.themes")}
PUBLISHED_FOLDERS = ("tables", "figures")


@dataclass
class Job:
    """One notebook run: its name (file stem of the report), notebook and parameters."""

    name: str
    notebook: str
    parameters: dict
    label: str = ""


@dataclass
class BatchPlan:
    """What :func:`execute` runs and where the results go."""

    project: Project
    corpus: Corpus
    out_dir: Path
    work_dir: Path
    audience: str
    territories: list[str]
    coders: list[str]
    jobs: list[Job]
    pseudonyms: Path


@dataclass
class BatchResult:
    out_dir: Path
    jobs: list[JobResult] = field(default_factory=list)
    index: Path | None = None
    pseudonyms: Path | None = None
    work_dir: Path | None = None
    context: StoredContext | None = None     # the shared analysis context the reports read
    context_s: float = 0.0                   # seconds to compute it, or to find it unchanged

    @property
    def ok(self) -> bool:
        return all(j.ok for j in self.jobs)


def check_territories(requested: list[str] | None, available: list[str]) -> list[str]:
    """Validate territory names (slugs that exist in the corpus; no path tricks)."""
    from analyse.model.corpus import TERRITORY_SLUG

    if not requested or requested == ["all"]:
        return list(available)
    out = []
    for name in requested:
        if not TERRITORY_SLUG.match(name):
            raise UsageError(msg("batch.bad_territory", name=name), hint=msg("batch.bad_territory_hint"))
        if name not in available:
            raise UsageError(msg("unknown_territory", territory=name), hint=msg("available", items=", ".join(available)))
        if name not in out:
            out.append(name)
    return out


def work_dir_for(out_dir: Path) -> Path:
    """The working folder beside a published folder: ``outputs/rapport`` → ``outputs/rapport-travail``."""
    return out_dir.parent / f"{out_dir.name}-travail"


# ---------------------------------------------------------------------------
# 1. Plan
# ---------------------------------------------------------------------------

def _as_project(project, corpus_dir=None, codebook=None, codings_dir=None) -> Project:
    if isinstance(project, Project):
        if corpus_dir is None and codebook is None and codings_dir is None:
            return project
        project = project.root
    return Project.load(Path(project).resolve(), corpus_dir, codebook, codings_dir)


def plan_batch(project: Project, territories: list[str] | None = None, out: str | Path | None = None,
               audience: str = "chercheurs", coders: list[str] | None = None,
               notebooks_dir: str | Path | None = None,
               agreement_coders: list[str] | None = None) -> BatchPlan:
    """Which reports to run, with which parameters; checks everything it can before any kernel starts.

    The analysed coder follows the project's rule (:meth:`Project.analysed_coder`) unless
    ``coders`` is given; the agreement report is planned for researchers when every coder
    of ``agreement_coders`` (default: the project's) has a codings file.
    """
    from analyse.model.codings import CodingStore
    from analyse.model.corpus import load_corpus
    from analyse.reporting.context_store import PSEUDONYMS_FILE
    from analyse.reporting.report import AUDIENCES

    if audience not in AUDIENCES:
        check_choice("audience", audience, AUDIENCES)
    root = project.root.resolve()
    corpus_dir = project.corpus_dir.resolve()
    codings_dir = project.codings_dir.resolve()
    notebooks_dir = Path(notebooks_dir or root / "notebooks").resolve()
    out_dir = Path(out or project.outputs_dir / "rapport").resolve()
    if out_dir in (corpus_dir, root) or corpus_dir in out_dir.parents:
        raise UsageError(msg("batch.refuse_folder", folder=out_dir), hint=msg("batch.refuse_folder_hint"))
    corpus = load_corpus(corpus_dir)
    names = check_territories(territories, corpus.territories)
    if not names:
        raise UsageError(msg("batch.no_territory"), hint=msg("batch.no_territory_hint", folder=corpus_dir))
    for nb in (TERRITORY_NOTEBOOK, SYNTHESIS_NOTEBOOK):
        if not (notebooks_dir / nb).exists():
            raise UsageError(msg("batch.no_notebook", path=notebooks_dir / nb))
    available = CodingStore(codings_dir).coders()
    coders = list(coders or [project.analysed_coder(available)])
    work_dir = work_dir_for(out_dir)
    pseudonyms = project.ensure_private_dir() / PSEUDONYMS_FILE
    common = {
        "project_dir": str(root), "corpus_dir": str(corpus_dir), "codebook_path": str(project.codebook_path.resolve()),
        "codings_dir": str(codings_dir), "coders": coders, "audience": audience,
        "pseudonyms_path": str(pseudonyms),
    }

    def job(name: str, notebook: str, label: str, **extra) -> Job:
        # Each job writes its tables and figures into its own working folder; publish() moves them.
        return Job(name, str(notebooks_dir / notebook),
                   {**common, "out_dir": str(work_dir / name), **extra}, label)

    jobs = [job(t, TERRITORY_NOTEBOOK, project.territory_label(t), territory=t) for t in names]
    jobs.append(job("synthese", SYNTHESIS_NOTEBOOK, REPORT_LABELS["synthese"], territories=names))
    if (notebooks_dir / THEMES_NOTEBOOK).exists():
        jobs.append(job("themes", THEMES_NOTEBOOK, REPORT_LABELS["themes"], territories=names))
    pair = list(agreement_coders if agreement_coders is not None else project.agreement_coders)
    if audience == "chercheurs" and len(pair) >= 2 and (notebooks_dir / AGREEMENT_NOTEBOOK).exists() \
            and all(c in available for c in pair):
        jobs.append(job("accord", AGREEMENT_NOTEBOOK, REPORT_LABELS["accord"], coders=pair))
    return BatchPlan(project=project, corpus=corpus, out_dir=out_dir, work_dir=work_dir, audience=audience,
                     territories=names, coders=coders, jobs=jobs, pseudonyms=pseudonyms)


# ---------------------------------------------------------------------------
# 2. Execute
# ---------------------------------------------------------------------------

def execute(plan: BatchPlan, executor: cf.Executor | None = None, jobs: int | None = None,
            progress: bool = True, kernel: str | None = None) -> list[JobResult]:
    """Run every job of ``plan`` with ``executor`` (anything with ``submit``); results in plan order.

    Without an executor, a process pool of ``jobs`` workers (default: one per core) is
    started and shut down here: each job gets its own kernel, and none reads another's output.
    """
    from tqdm import tqdm

    # kernel None: each worker finds the project's kernel (no jupyter_client import in this process)
    plan.work_dir.mkdir(parents=True, exist_ok=True)
    own = executor is None
    if own:
        executor = start_pool(min(max(1, jobs or multiprocessing.cpu_count()), len(plan.jobs)),
                              Path(plan.jobs[0].notebook).parent if plan.jobs else None, kernel)
    bar = tqdm(total=len(plan.jobs), desc="rapports", unit="notebook", disable=not progress, file=sys.stderr)
    by_name = {}
    try:
        # The reports over the whole corpus (themes, synthesis, agreement) take longest: started first,
        # they do not finish alone at the end while the other workers wait (territory reports are short).
        first = sorted(plan.jobs, key=lambda j: Path(j.notebook).name == TERRITORY_NOTEBOOK)
        ahead = starts_ahead(len(first), pool_workers(executor))
        futures = [executor.submit(run_notebook, j.name, j.notebook, str(plan.work_dir), j.parameters, kernel, a)
                   for j, a in zip(first, ahead)]
        for fut in cf.as_completed(futures):
            res = fut.result()
            by_name[res.name] = res
            bar.set_postfix_str(f"{res.name} : {'ok' if res.ok else 'échec'}")
            bar.update()
    finally:
        bar.close()
        if own:
            stop_pool(executor)
    return [by_name[j.name] for j in plan.jobs]


# ---------------------------------------------------------------------------
# 3. Publish and index
# ---------------------------------------------------------------------------

def _env():
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(loader=FileSystemLoader(str(TEMPLATES / "pages")),
                       autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def publish(plan: BatchPlan, results: list[JobResult]) -> None:
    """Fill the published folder from the working one: reports that succeeded, their tables and figures.

    Files of an earlier run for the same report are removed first, so a report that
    fails now leaves nothing stale behind; executed notebooks, logs and timings
    (which carry local paths) never enter the published folder.
    """
    out = plan.out_dir
    out.mkdir(parents=True, exist_ok=True)
    # What earlier versions of the batch left in the published folder.
    for stale in ("notebooks", "timings.json"):
        _remove(out / stale)
    labels = {j.name: j.label for j in plan.jobs}
    for res in results:
        _remove(out / f"{res.name}.html")
        for folder in PUBLISHED_FOLDERS:
            for old in (out / folder).glob(f"{res.name}-*"):
                _remove(old)
        if res.ok:
            shutil.copyfile(res.html, out / f"{res.name}.html")
            for folder in PUBLISHED_FOLDERS:
                src = plan.work_dir / res.name / folder
                if src.is_dir():
                    (out / folder).mkdir(exist_ok=True)
                    for f in sorted(src.iterdir()):
                        shutil.copyfile(f, out / folder / f.name)
        elif plan.audience == "chercheurs":
            page = _env().get_template("unavailable.html.j2").render(
                title=f"{labels.get(res.name, res.name)} — rapport indisponible", summary=res.error,
                detail=res.detail or res.error, work_name=plan.work_dir.name)
            (out / f"{res.name}.html").write_text(page, encoding="utf-8")
    # The groupe-miroir handout of the fiches de décontextualisation, from the synthesis's public data.
    from analyse.reporting.fiche_pages import write_handout

    synthesis = next((r for r in results if r.name == "synthese"), None)
    if synthesis is not None:
        write_handout(plan.work_dir / synthesis.name, out, ok=synthesis.ok)
    timings = [asdict(r) | {"html": Path(r.html).name, "ipynb": Path(r.ipynb).name} for r in results]
    (plan.work_dir / "timings.json").write_text(json.dumps(timings, ensure_ascii=False, indent=2),
                                                encoding="utf-8")


def write_index(plan: BatchPlan, results: list[JobResult], title: str) -> Path:
    """The run's index page (French), through ``templates/pages/index.html.j2``."""
    out = plan.out_dir
    public = plan.audience == "groupe-miroir"
    labels = {j.name: j.label for j in plan.jobs}
    rows = []
    for res in results:
        href = f"{res.name}.html" if (out / f"{res.name}.html").exists() else ""
        # For the groupe miroir an error message may quote the data: the index only says it is missing.
        rows.append({"label": labels.get(res.name, res.name), "ok": res.ok, "href": href,
                     "summary": "" if public else res.error, "seconds": res.execution_s})
    from analyse.reporting.fiche_pages import HANDOUT_PAGE

    if (out / HANDOUT_PAGE).exists():
        rows.append({"label": msg("fp.handout"), "ok": True, "href": HANDOUT_PAGE, "summary": "", "seconds": 0.0,
                     "derived": True})
    listings = [{"folder": folder, "label": label,
                 "files": sorted(f.name for f in (out / folder).glob("*")) if (out / folder).is_dir() else []}
                for folder, label in (("tables", "Tableaux (CSV)"), ("figures", "Figures (PNG)"))]
    audience_label = ("groupe miroir (participants pseudonymisés)" if public else "chercheurs")
    coders = ", ".join(plan.coders)
    coder_line = (f"Codeur analysé : {coders} (règle : {plan.project.coder_rule()})" if len(plan.coders) == 1
                  else f"Codeurs analysés : {coders}")
    page = _env().get_template("index.html.j2").render(
        title=title, audience_label=audience_label, date=_dt.date.today().isoformat(),
        territories=[plan.project.territory_label(t) for t in plan.territories],
        illustrative=plan.project.illustrative, coder_line=coder_line, rows=rows, listings=listings,
        show_timings=not public)
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


def attach_context(plan: BatchPlan, store: StoredContext) -> None:
    """Give the stored shared context to the notebooks that read it (territories: their slice;
    synthesis: the whole; themes and agreement: their stored tables), so that no kernel computes it again."""
    for job in plan.jobs:
        if Path(job.notebook).name in (TERRITORY_NOTEBOOK, SYNTHESIS_NOTEBOOK, THEMES_NOTEBOOK, AGREEMENT_NOTEBOOK):
            job.parameters["context_dir"] = str(store.folder)


def run_batch(project: str | Path | Project = ".", territories: list[str] | None = None,
              out: str | Path | None = None, jobs: int | None = None, audience: str = "chercheurs",
              coders: list[str] | None = None, corpus_dir: str | Path | None = None,
              codebook: str | Path | None = None, codings_dir: str | Path | None = None,
              notebooks_dir: str | Path | None = None, progress: bool = True,
              agreement_coders: list[str] | None = None, executor: cf.Executor | None = None) -> BatchResult:
    """Plan, execute, publish, index: every territory report and the synthesis.

    Parameters
    ----------
    project : Project or path
        The project (or its root, holding corpus/, codebook/, notebooks/, balises.toml).
    territories : list of str, optional
        Territory slugs, or None / ["all"] for every territory of the corpus.
    out : path, optional
        Published folder (default ``outputs/rapport``); the working folder is ``<out>-travail``.
    jobs : int, optional
        Parallel notebook runs of the default executor (default: one per core).
    audience : {"chercheurs", "groupe-miroir"}
    coders : list of str, optional
        Coders analysed (default: the project's rule, consensus else the primary coder).
    agreement_coders : list of str, optional
        For researchers, an agreement report between these coders (default: the project's)
        when each has a codings file.
    executor : concurrent.futures.Executor, optional
        Runs the jobs (default: a process pool of ``jobs`` workers).

    Examples
    --------
    >>> result = run_batch(".", ["le-mene"], out="outputs/essai", jobs=1)  # doctest: +SKIP
    >>> result.ok, result.index                                          # doctest: +SKIP
    (True, PosixPath('outputs/essai/index.html'))
    """
    # the workers start (import papermill, start the kernel of their first report) while this process
    # plans and finds the shared context
    own = executor is None
    if own:
        root = project.root if isinstance(project, Project) else Path(project)
        executor = start_pool(jobs, Path(notebooks_dir or Path(root) / "notebooks").resolve())
    try:
        return _run(project, territories, out, audience, coders, corpus_dir, codebook, codings_dir, notebooks_dir,
                    progress, agreement_coders, executor, jobs, own)
    finally:
        if own:
            stop_pool(executor)


def _run(project, territories, out, audience, coders, corpus_dir, codebook, codings_dir, notebooks_dir, progress,
         agreement_coders, executor, jobs, own_pool: bool = False) -> BatchResult:
    project = _as_project(project, corpus_dir, codebook, codings_dir)
    plan = plan_batch(project, territories, out, audience, coders, notebooks_dir, agreement_coders)
    # The shared analysis context, once (or reused: same inputs, same key); it also writes the stable
    # pseudonyms of the whole corpus in the private folder (never inside a run folder) and parses
    # what the NLP cache lacks, so parallel notebooks never parse the same documents.
    t0 = time.perf_counter()
    from analyse.reporting.context_store import ensure_context

    store = ensure_context(project, plan.coders, progress=progress, corpus=plan.corpus)
    context_s = time.perf_counter() - t0
    attach_context(plan, store)
    from analyse.reporting.fiche_pages import HANDOUT_DATA

    # an earlier run's handout data must not outlive a synthesis that no longer writes it
    (plan.work_dir / "synthese" / HANDOUT_DATA).unlink(missing_ok=True)
    results = execute(plan, executor=executor, jobs=jobs, progress=progress)
    if own_pool:
        release_pool(executor)   # its workers exit while the reports are published
    publish(plan, results)
    index = write_index(plan, results, msg("batch.title"))
    return BatchResult(out_dir=plan.out_dir, jobs=results, index=index, pseudonyms=plan.pseudonyms,
                       work_dir=plan.work_dir, context=store, context_s=context_s)
