"""The project file: defaults, overrides, clear French errors, the analysed-coder rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyse.errors import UsageError
from analyse.project import CONFIG_NAME, DEFAULTS, Project

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_without_a_file(tmp_path: Path):
    p = Project.load(tmp_path)
    assert p.corpus_dir == tmp_path / "corpus" and p.codings_dir == tmp_path / "corpus" / "codings"
    assert p.codebook_path == tmp_path / "codebook" / "balises.yaml"
    assert p.model_path == tmp_path / "outputs" / "models" / "model.joblib"
    assert p.settings == DEFAULTS and p.settings is not DEFAULTS


def test_file_overrides_and_explicit_folders_win(tmp_path: Path):
    (tmp_path / CONFIG_NAME).write_text(
        '[paths]\ncorpus = "textes"\ncodings = "codages"\n[coders]\nprimary = "M"\n'
        '[territories]\nville-x = "Ville X"\n', encoding="utf-8")
    p = Project.load(tmp_path)
    assert p.corpus_dir == tmp_path / "textes" and p.codings_dir == tmp_path / "codages"
    assert p.territory_names() == {"ville-x": "Ville X"}
    assert p.analysed_coder(["A", "M"]) == "M"
    assert p.analysed_coder(["M", "consensus"]) == "consensus"
    assert p.settings["coders"]["agreement"] == ["A", "B"]          # untouched default
    q = Project.load(tmp_path, corpus=tmp_path / "autre")
    assert q.corpus_dir == tmp_path / "autre"


@pytest.mark.parametrize("content, message", [
    ("[paths\ncorpus = 1\n", "TOML invalide"),
    ('[chemins]\ncorpus = "x"\n', "clé inconnue « chemins »"),
    ('paths = "x"\n', "doit être une table"),
])
def test_bad_file_is_one_french_line(tmp_path: Path, content: str, message: str):
    (tmp_path / CONFIG_NAME).write_text(content, encoding="utf-8")
    with pytest.raises(UsageError, match=message) as err:
        Project.load(tmp_path)
    assert CONFIG_NAME in str(err.value)


def test_private_dir_is_owner_only(tmp_path: Path):
    path = Project.load(tmp_path).ensure_private_dir()
    assert path.is_dir() and (path.stat().st_mode & 0o777) == 0o700


def test_bundled_project_file_names_the_four_territories():
    p = Project.load(ROOT)
    assert set(p.territory_names()) == {"loos-en-gohelle", "le-mene", "malaunay", "grande-synthe"}
    assert p.analysed_coder(["A", "B"]) == "A" and p.illustrative
