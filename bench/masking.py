"""Masking quality on the hand-labelled set: recall and precision per kind, development and held-out parts.

    .venv/bin/python bench/masking.py [--part dev|heldout|all] [--errors]

Same figures as ``analyse evaluate-masking`` (which this calls), for ``make bench``.
"""
import sys

from analyse.cli import main

if __name__ == "__main__":
    sys.exit(main(["evaluate-masking", *sys.argv[1:]]))
