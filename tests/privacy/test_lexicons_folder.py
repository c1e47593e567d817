"""The lexicons folder comes from balises.toml (``[masking] lexicons``), for every masking."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analyse.cli import main
from analyse.errors import UsageError
from analyse.privacy.masking import load_masker
from analyse.project import Project
from tests.helpers import ROOT


def _project(tmp_path: Path, setting: str | None = "lexiques") -> Path:
    if setting is not None:
        (tmp_path / "balises.toml").write_text(f'[masking]\nlexicons = "{setting}"\n', encoding="utf-8")
    for folder, line in (("lexiques", "commune: [Bourg-Truc]\n"), ("lexicons", "projets: [Zorglub]\n")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "ville.yaml").write_text(line, encoding="utf-8")
    return tmp_path


def test_project_reads_the_folder_and_keeps_the_default(tmp_path):
    assert Project.load(tmp_path).lexicons_dir == tmp_path / "lexicons"
    _project(tmp_path)
    assert Project.load(tmp_path).lexicons_dir == tmp_path / "lexiques"


def test_a_bad_setting_is_a_french_error(tmp_path):
    (tmp_path / "balises.toml").write_text("[masking]\nlexicons = 3\n", encoding="utf-8")
    with pytest.raises(UsageError, match="nom de dossier"):
        Project.load(tmp_path).lexicons_dir


def test_the_masker_of_a_project_root_uses_the_configured_folder(tmp_path):
    # The batch's notebooks pass the project root: they get the configured lexicons too.
    masker = load_masker(_project(tmp_path), nlp=None)
    assert masker.mask("On a vu Bourg-Truc et Zorglub.", "ville")[0] == "On a vu [la commune] et Zorglub."


def test_analyse_mask_uses_the_configured_folder(tmp_path):
    root = _project(tmp_path)
    src = root / "in.jsonl"
    src.write_text(json.dumps({"id": 1, "text": "On a vu Bourg-Truc et Zorglub.", "territory": "ville"}) + "\n",
                   encoding="utf-8")
    assert main(["mask", "--project", str(root), "--texts", str(src), "--out", str(root / "out.jsonl"),
                 "--no-ner"]) == 0
    out = json.loads((root / "out.jsonl").read_text(encoding="utf-8"))
    assert out["masked"] == "On a vu [la commune] et Zorglub."


def test_a_configured_folder_that_is_missing_stops_with_a_french_line(tmp_path, capsys):
    root = _project(tmp_path, "lexiques-absents")
    src = root / "in.jsonl"
    src.write_text('{"id": 1, "text": "x"}\n', encoding="utf-8")
    assert main(["mask", "--project", str(root), "--texts", str(src), "--out", str(root / "o.jsonl"),
                 "--no-ner"]) == 2
    err = capsys.readouterr().err
    assert "dossier de lexiques introuvable" in err and "Traceback" not in err


def test_evaluate_masking_uses_the_configured_folder(tmp_path, capsys):
    (tmp_path / "corpus").symlink_to(ROOT / "corpus")
    (tmp_path / "vide").mkdir()
    (tmp_path / "balises.toml").write_text('[masking]\nlexicons = "vide"\n', encoding="utf-8")
    args = ["evaluate-masking", "--labels", str(ROOT / "tests" / "data" / "masking"), "--no-ner", "--json"]

    def recall(project):
        assert main([*args, "--project", str(project)]) == 0
        scores = json.loads(capsys.readouterr().out)["dev"]["scores"]
        return {r["kind"]: r["recall"] for r in scores}

    with_lexicons, without = recall(ROOT), recall(tmp_path)
    # Project names are known from the lexicons only: an empty lexicons folder loses them.
    assert without["projet"] < with_lexicons["projet"]
