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
    assert "href='le-mene.html'" in index and "href='synthese.html'" in index
    assert "échec" in index and "corpus vide pour malaunay" in index
    page = (out / "le-mene.html").read_text(encoding="utf-8")
    assert "rapport le-mene" in page
    assert "print(" not in page                          # code cells hidden
    assert "<script src=" not in page                    # no external script: self-contained
    # what the kernels write to their stderr goes to each job's log, not over the progress bar
    assert "bruit du noyau" not in capfd.readouterr().err
    assert "bruit du noyau" in (out / "notebooks" / "le-mene.kernel.log").read_text(encoding="utf-8")
    # the pseudonym mapping lives beside the run, not inside it
    assert result.pseudonyms.parent == out.parent and "Nadine Testu" in result.pseudonyms.read_text(encoding="utf-8")
    assert not any("Nadine Testu" in p.read_text(encoding="utf-8", errors="ignore")
                   for p in out.rglob("*") if p.is_file())


def test_refuses_to_write_into_the_corpus(project: Path):
    with pytest.raises(UsageError, match="refus d'écrire les rapports"):
        run_batch(project, None, project / "corpus" / "x", progress=False)
