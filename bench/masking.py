"""Masking quality on the hand-labelled set: recall and precision per kind, development and held-out parts apart.

    .venv/bin/python bench/masking.py [--part dev|heldout|both] [--errors]

Same figures as ``analyse evaluate-masking`` (which this calls; default here: both parts, printed
separately), plus the wall time. Targets (issue 17): recall ≥ 0.95 for people and places, ≥ 0.85 for
organisations and projects, precision ≥ 0.9. The held-out part is never used to tune lexicons or rules.
"""
import sys
import time
from pathlib import Path

from analyse.cli import main

if __name__ == "__main__":
    args = sys.argv[1:] or ["--part", "both"]
    start = time.perf_counter()
    code = main(["evaluate-masking", "--project", str(Path(__file__).resolve().parents[1]), *args])
    print(f"durée : {time.perf_counter() - start:.1f} s")
    sys.exit(code)
