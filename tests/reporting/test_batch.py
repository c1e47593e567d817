"""The batch runner: territory validation, parallel runs, failures, index, HTML."""

from __future__ import annotations

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
