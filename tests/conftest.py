"""Shared fixtures: a small, valid project written into a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import REFI, make_codebook, require_shared, write_doc


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A tiny project: two territories, one document each, a codebook, no codings."""
    corpus = tmp_path / "corpus"
    write_doc(corpus, "le-mene", "le-mene-test")
    write_doc(corpus, "malaunay", "malaunay-test")
    (corpus / "codings").mkdir()
    (tmp_path / "codebook").mkdir()
    make_codebook(tmp_path / "codebook" / "balises.yaml")
    return tmp_path


@pytest.fixture
def refi_qda() -> Path:
    """The REFI-QDA schemas and samples of ../shared (skip when absent; fail in CI)."""
    return require_shared(REFI)
