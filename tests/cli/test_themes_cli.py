"""``analyse themes`` and ``analyse export iramuteq``, driven through their add_arguments/run.

Until the lead's ``analyse/cli/`` package replaces the flat ``cli.py``, the
command modules are loaded from their files; the common project options are
added here as the registry will add them.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def command(name: str):
    try:
        return importlib.import_module(f"analyse.cli.{name}")
    except ModuleNotFoundError:
        spec = importlib.util.spec_from_file_location(f"_balises_cli_{name}",
                                                      ROOT / "src" / "analyse" / "cli" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module


def parse(name: str, argv: list[str]):
    module = command(name)
    parser = argparse.ArgumentParser(prog=f"analyse {name}")
    parser.add_argument("--project", default=None)
    parser.add_argument("--corpus", default=str(ROOT / "corpus"))
    parser.add_argument("--codebook", default=str(ROOT / "codebook" / "balises.yaml"))
    parser.add_argument("--codings", default=None)
    module.add_arguments(parser)
    return module, parser.parse_args(argv)


def test_help_is_instant_and_french():
    module = command("themes")
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    text = parser.format_help()
    assert "nombre maximal de classes" in text and "--promote" in text


@pytest.mark.slow
def test_themes_json_on_bundled_corpus(capsys):
    module, args = parse("themes", ["--k", "5", "--json"])
    assert module.run(args) == 0
    data = json.loads(capsys.readouterr().out)
    units = data["units"]
    assert units and all(set(u) == {"unit", "segment", "class"} for u in units)
    assert all(u["class"] is None or 1 <= u["class"] <= len(data["classes"]) for u in units)
    assert 0.5 <= data["classified_share"] <= 1
    assert sum(c["size"] for c in data["classes"]) == sum(u["class"] is not None for u in units)
    for c in data["classes"]:
        assert c["words"] and c["territories"]["label"] in {"invariant inductif", "local", "partagé"}
        assert set(c["territories"]["shares"]) == {"grande-synthe", "le-mene", "loos-en-gohelle", "malaunay"}


@pytest.mark.slow
def test_themes_promote_appends_emergent_code(tmp_path, capsys):
    book = tmp_path / "balises.yaml"
    shutil.copy(ROOT / "codebook" / "balises.yaml", book)
    module, args = parse("themes", ["--k", "4", "--promote", "1", "--code-id", "CON.90", "--codebook", str(book)])
    assert module.run(args) == 0
    out = capsys.readouterr()
    assert "Classe 1" in out.out and "CON.90" in out.err
    from analyse.model.codebook import load_codebook
    assert load_codebook(book).codes["CON.90"].status == "emergent"


def test_promote_needs_a_code_id():
    from analyse.errors import UsageError
    module, args = parse("themes", ["--promote", "1"])
    with pytest.raises(UsageError):
        module.run(args)


def test_export_iramuteq(tmp_path, capsys):
    out = tmp_path / "corpus.txt"
    module, args = parse("export", ["iramuteq", "--out", str(out)])
    assert module.run(args) == 0
    assert out.read_text(encoding="utf-8").startswith("**** *territoire_")
    assert "textes écrits" in capsys.readouterr().err
