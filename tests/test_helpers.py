"""The test helpers themselves: shared data is optional locally, required in CI."""

from __future__ import annotations

import pytest

from tests.helpers import require_shared


def test_missing_shared_data_skips_locally_and_fails_in_ci(tmp_path, monkeypatch):
    missing = tmp_path / "refi-qda"
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        require_shared(missing)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception):
        require_shared(missing)
    missing.mkdir()
    assert require_shared(missing) == missing
