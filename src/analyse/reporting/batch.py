"""The main job: one report per territory plus a synthesis, as self-contained HTML.

``analyse batch`` runs ``notebooks/territoire.ipynb`` once per territory with
papermill, in parallel (one process per job, each with its own kernel), then
``notebooks/synthese.ipynb``; renders every executed notebook to HTML with
nbconvert (code hidden, images embedded, no external script); and writes an
``index.html`` linking reports, tables (CSV) and figures (PNG). A failing
territory does not stop the others: the index marks it failed with its error
and the command exits non-zero.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as _dt
import html
import json
import multiprocessing
import os
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from analyse.model.corpus import TERRITORY_SLUG, load_corpus
from analyse.errors import UsageError
from analyse.messages import msg
from analyse.textutil import check_choice, fr_number
from analyse.reporting.plots import territory_label
from analyse.privacy.pseudonymise import Pseudonymiser
from analyse.reporting.report import AUDIENCES

TEMPLATES = Path(__file__).parent / "templates"
KERNEL_NAME = "balises"
TERRITORY_NOTEBOOK = "territoire.ipynb"
SYNTHESIS_NOTEBOOK = "synthese.ipynb"
AGREEMENT_NOTEBOOK = "accord.ipynb"
REPORT_LABELS = {"synthese": msg("batch.report.synthese"), "accord": msg("batch.report.accord")}


@dataclass
class JobResult:
    """Outcome of one notebook run."""

    name: str
    notebook: str
    ok: bool = False
    error: str = ""
    html: str = ""
    ipynb: str = ""
    kernel_start_s: float = 0.0
    execution_s: float = 0.0
    rendering_s: float = 0.0


@dataclass
class BatchResult:
    out_dir: Path
    jobs: list[JobResult] = field(default_factory=list)
    index: Path | None = None
    pseudonyms: Path | None = None

    @property
    def ok(self) -> bool:
        return all(j.ok for j in self.jobs)


def check_territories(requested: list[str] | None, available: list[str]) -> list[str]:
    """Validate territory names (slugs that exist in the corpus; no path tricks)."""
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


def kernel_name() -> str:
    """The project's named kernel if registered (make install does it), else this Python's."""
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().find_kernel_specs()
    return KERNEL_NAME if KERNEL_NAME in specs else "python3"


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


def _first_error(ipynb: Path) -> str:
    import nbformat

    try:
        nb = nbformat.read(str(ipynb), as_version=4)
    except Exception:  # noqa: BLE001 - best effort to find a message
        return ""
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                return f"{out.get('ename')}: {out.get('evalue')}"
    return ""


@contextmanager
def _stderr_to(path: Path):
    """Send this process's file descriptor 2 to ``path`` for a while.

    The kernel papermill starts inherits it: its warnings (« Kernel is running
    over TCP without encryption », library deprecations) go to the job's log
    beside its notebook instead of interleaving with the progress bar.
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


def run_notebook(name: str, notebook: str, output_dir: str, parameters: dict, kernel: str) -> JobResult:
    """Execute one notebook with papermill and render it; never raises.

    The kernel's own messages go to ``notebooks/<name>.kernel.log`` in ``output_dir``.
    """
    import papermill as pm

    result = JobResult(name=name, notebook=notebook)
    out = Path(output_dir)
    ipynb = out / "notebooks" / f"{name}.ipynb"
    html_path = out / f"{name}.html"
    ipynb.parent.mkdir(parents=True, exist_ok=True)
    result.ipynb, result.html = str(ipynb), str(html_path)
    t0 = time.perf_counter()
    try:
        with _stderr_to(ipynb.with_suffix(".kernel.log")):
            pm.execute_notebook(notebook, str(ipynb), parameters=parameters, kernel_name=kernel,
                                cwd=str(Path(notebook).parent), progress_bar=False, log_output=False)
        result.ok = True
    except Exception as exc:  # noqa: BLE001 - a failed territory must not stop the batch
        result.error = _first_error(ipynb) or f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    total = time.perf_counter() - t0
    result.execution_s, result.kernel_start_s = _split_timing(ipynb, total)
    if ipynb.exists():
        t1 = time.perf_counter()
        try:
            render_html(ipynb, html_path)
        except Exception as exc:  # noqa: BLE001
            result.ok = False
            result.error = result.error or msg("batch.rendering_failed", error=exc)
        result.rendering_s = time.perf_counter() - t1
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


def _warm_nlp_cache(corpus, progress: bool) -> None:
    """Parse the corpus once, here, so parallel notebooks all read the DocBin cache
    instead of each loading spaCy and parsing the same documents."""
    from analyse import nlp

    layer = nlp.NLPLayer(cache_dir=nlp.default_cache_dir(corpus.root), progress=progress)
    for _ in layer.parse_units(nlp.corpus_units(corpus.segments), docs=False):
        pass


def write_index(result: BatchResult, territories: list[str], audience: str, title: str) -> Path:
    """The run's index page (French), linking reports, tables and figures."""
    out = result.out_dir
    esc = html.escape
    rows = []
    for job in result.jobs:
        rel = Path(job.html).name if job.html else ""
        # Plain words, not emoji: they must read on any machine and in print.
        status = (f"<span class='ok'>{msg('batch.ok')}</span>" if job.ok
                  else f"<strong class='fail'>{msg('batch.failed')}</strong>")
        label = REPORT_LABELS.get(job.name) or territory_label(job.name)
        link = f"<a href='{esc(rel)}'>{esc(label)}</a>" if job.ok and rel else esc(label)
        error = f"<pre class='err'>{esc(job.error)}</pre>" if job.error else ""
        rows.append(f"<tr><td>{link}</td><td>{status}{error}</td>"
                    f"<td>{fr_number(job.execution_s, 1)} s</td></tr>")

    def listing(folder: str, label: str) -> str:
        files = sorted((out / folder).glob("*")) if (out / folder).is_dir() else []
        if not files:
            return ""
        items = "".join(f"<li><a href='{esc(folder)}/{esc(f.name)}'>{esc(f.name)}</a></li>" for f in files)
        return f"<h2>{label}</h2><ul class='files'>{items}</ul>"

    audience_label = msg(f"batch.audience.{audience}")
    page = f"""<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>
body {{ font-family: "DejaVu Sans", Arial, sans-serif; max-width: 960px; margin: 2em auto; line-height: 1.45; }}
table {{ border-collapse: collapse; }} td, th {{ border-bottom: 1px solid #ccc; padding: 4px 10px; text-align: left; vertical-align: top; }}
.ok {{ color: #006b3c; }} .fail {{ color: #a00; }}
pre.err {{ white-space: pre-wrap; color: #a00; font-size: 0.85em; margin: 0.3em 0 0; }}
ul.files {{ columns: 2; font-size: 0.9em; }}
</style></head><body>
<h1>{esc(title)}</h1>
<p>Public : {esc(audience_label)}. Territoires : {esc(', '.join(territory_label(t) for t in territories))}.
Généré le {_dt.date.today().isoformat()} à partir du corpus illustratif de Balises (corpus écrit pour la
boîte à outils, pas des transcriptions réelles).</p>
<h2>Rapports</h2>
<table><tr><th>Rapport</th><th>État</th><th>Durée d'exécution</th></tr>
{''.join(rows)}
</table>
{listing('tables', 'Tableaux (CSV)')}
{listing('figures', 'Figures (PNG)')}
</body></html>
"""
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


def run_batch(project: str | Path = ".", territories: list[str] | None = None, out: str | Path | None = None,
              jobs: int | None = None, audience: str = "chercheurs", coders: list[str] | None = None,
              corpus_dir: str | Path | None = None, codebook: str | Path | None = None,
              codings_dir: str | Path | None = None, notebooks_dir: str | Path | None = None,
              progress: bool = True, agreement_coders: list[str] | None = ("A", "B")) -> BatchResult:
    """Run the territory reports in parallel, then the synthesis; write the index.

    Parameters
    ----------
    project : path
        Project root (holding corpus/, codebook/, notebooks/).
    territories : list of str, optional
        Territory slugs, or None / ["all"] for every territory of the corpus.
    out : path, optional
        Output folder (default ``outputs/rapport``).
    jobs : int, optional
        Parallel notebook runs (default: one per core).
    audience : {"chercheurs", "groupe-miroir"}
    coders : list of str, optional
        Coders whose codings the reports use (default ``["A"]``).
    agreement_coders : list of str, optional
        For researchers, an agreement report between these coders is added
        when all of them have a codings file (default A and B).

    Examples
    --------
    >>> result = run_batch(".", ["le-mene"], out="outputs/essai", jobs=1)  # doctest: +SKIP
    >>> result.ok, result.index                                          # doctest: +SKIP
    (True, PosixPath('outputs/essai/index.html'))
    """
    from tqdm import tqdm

    check_choice("audience", audience, AUDIENCES)
    project = Path(project).resolve()
    corpus_dir = Path(corpus_dir or project / "corpus").resolve()
    codebook = Path(codebook or project / "codebook" / "balises.yaml").resolve()
    codings_dir = Path(codings_dir or corpus_dir / "codings").resolve()
    notebooks_dir = Path(notebooks_dir or project / "notebooks").resolve()
    out_dir = Path(out or project / "outputs" / "rapport").resolve()
    if out_dir in (corpus_dir, project) or corpus_dir in out_dir.parents:
        raise UsageError(msg("batch.refuse_folder", folder=out_dir), hint=msg("batch.refuse_folder_hint"))
    corpus = load_corpus(corpus_dir)
    names = check_territories(territories, corpus.territories)
    if not names:
        raise UsageError(msg("batch.no_territory"), hint=msg("batch.no_territory_hint", folder=corpus_dir))
    for nb in (TERRITORY_NOTEBOOK, SYNTHESIS_NOTEBOOK):
        if not (notebooks_dir / nb).exists():
            raise UsageError(msg("batch.no_notebook", path=notebooks_dir / nb))
    jobs = max(1, jobs or multiprocessing.cpu_count())
    out_dir.mkdir(parents=True, exist_ok=True)
    result = BatchResult(out_dir=out_dir)

    # The mapping is written beside the run folder, never inside it, so that
    # sharing the folder with a groupe miroir does not share the real names.
    pseudonyms = out_dir.parent / f".{out_dir.name}-pseudonymes.json"
    Pseudonymiser.from_corpus(corpus).write_mapping(pseudonyms)
    result.pseudonyms = pseudonyms
    common = {
        "corpus_dir": str(corpus_dir), "codebook_path": str(codebook), "codings_dir": str(codings_dir),
        "coders": list(coders or ["A"]), "out_dir": str(out_dir), "audience": audience,
        "pseudonyms_path": str(pseudonyms),
    }
    _warm_nlp_cache(corpus, progress)
    kernel = kernel_name()
    # Territories first, then the synthesis (and, for researchers, the agreement
    # report) in the same pool: none reads another's output, so they overlap.
    jobs_spec = [(name, TERRITORY_NOTEBOOK, {**common, "territory": name}) for name in names]
    jobs_spec.append(("synthese", SYNTHESIS_NOTEBOOK, {**common, "territories": names}))
    pair = list(agreement_coders or [])
    if audience == "chercheurs" and len(pair) >= 2 and (notebooks_dir / AGREEMENT_NOTEBOOK).exists() \
            and all((codings_dir / f"{c}.jsonl").exists() for c in pair):
        jobs_spec.append(("accord", AGREEMENT_NOTEBOOK, {**common, "coders": pair}))
    bar = tqdm(total=len(jobs_spec), desc="rapports", unit="notebook", disable=not progress, file=sys.stderr)
    ctx = multiprocessing.get_context("spawn")
    by_name = {}
    with cf.ProcessPoolExecutor(max_workers=min(jobs, len(jobs_spec)), mp_context=ctx) as pool:
        futures = [pool.submit(run_notebook, name, str(notebooks_dir / nb), str(out_dir), params, kernel)
                   for name, nb, params in jobs_spec]
        for fut in cf.as_completed(futures):
            job = fut.result()
            by_name[job.name] = job
            bar.set_postfix_str(f"{job.name}: {'ok' if job.ok else msg('batch.failed')}")
            bar.update()
    bar.close()
    result.jobs = [by_name[name] for name, _, _ in jobs_spec]
    (out_dir / "timings.json").write_text(
        json.dumps([asdict(j) | {"html": Path(j.html).name, "ipynb": Path(j.ipynb).name} for j in result.jobs],
                   ensure_ascii=False, indent=2), encoding="utf-8")
    title = msg("batch.title")
    result.index = write_index(result, names, audience, title)
    return result
