"""Helpers the tests import: paths, a minimal codebook and documents, running the CLI in a project."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
import yaml

from analyse.model.codebook import CANONICAL_IDS

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
REFI = SHARED / "refi-qda"


def require_shared(path: Path) -> Path:
    """``path`` under ../shared, or skip the test when it is missing; in CI (env ``CI`` set)
    the shared schemas and samples must be there, so the test fails instead of skipping."""
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} not found (required when CI is set)", pytrace=False)
        pytest.skip(f"{path} not found")
    return path


def make_codebook(path: Path, extra: list[dict] | None = None, drop: tuple[str, ...] = ()) -> Path:
    """Write a minimal valid codebook holding every canonical id (plus ``extra``)."""
    codes = []
    for cid in CANONICAL_IDS:
        if cid in drop:
            continue
        codes.append({
            "id": cid, "label": f"Libellé {cid}", "dimension": cid.split(".")[0], "kind": "balise",
            "parent": None, "definition": f"Définition de {cid}.", "include": ["quand"],
            "exclude": ["sinon"], "examples": ["un exemple", "un autre"], "keywords": [f"mot{cid}"],
        })
    codes += extra or []
    data = {"version": "0.0.1", "name": "test", "dimensions": [
        {"id": d, "label": d} for d in ("ENG", "SYS", "COOP", "VAL", "MGT", "ECH", "CON")],
        "codes": codes}
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


FRONT_MATTER = textwrap.dedent("""\
    ---
    id: {id}
    title: "Atelier test"
    territory: {territory}
    kind: transcript
    atelier: engagement
    date: 2018-03-01
    language: fr
    synthetic: true
    participants:
      - {{id: P1, name: "Nadine Testu", role: elu}}
      - {{id: P2, name: "Hervé Essai", role: services}}
    ---
    """)

DOC = FRONT_MATTER + textwrap.dedent("""\
    **P1 (élue)** : Bonjour à tous, on commence.

    Deuxième paragraphe de l'élue, avec des accents : été, œuvre.

    **P2 (DGS)** : Le café est au fond.
    """)


def write_doc(root: Path, territory: str, doc_id: str, text: str | None = None) -> Path:
    folder = root / territory
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{doc_id}.md"
    path.write_text(text if text is not None else DOC.format(id=doc_id, territory=territory),
                    encoding="utf-8")
    return path


def run_cli(project: Path, *args: str, capsys=None):
    """Run ``analyse ARGS`` in ``project``; return the exit code and captured output."""
    from analyse.cli import main

    cwd = os.getcwd()
    os.chdir(project)
    try:
        code = main(list(args))
    finally:
        os.chdir(cwd)
    return code, (capsys.readouterr() if capsys else None)
