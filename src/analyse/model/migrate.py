"""Upgrade coder files to the current format: ``analyse migrate``.

Formats of ``corpus/codings/<coder>.jsonl`` (see the README, « Formats des fichiers »):

1. *current state*: one line per coding, lines removed when a coding was
   removed; records holding U+2028/U+2029/U+0085 could be split in two lines by
   the versions that read with ``str.splitlines()``; codings did not say the
   codebook version they were made against.
2. *event log* (now): the lines of format 1 are the events "coding added", so
   a format 1 file is already a log; new lines are appended, never removed;
   every coding names its ``codebook_version``; ``\\n`` alone ends a line.

The migration rewrites every coder file at once (one journal: all or none
switch): split records are rejoined, and codings without ``codebook_version``
get the version given (the one they were made against, if the team knows it;
« inconnue » otherwise). Nothing else changes, no line is dropped, and running
it again changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from analyse import fileio
from analyse.model.codings import CodingStore

UNKNOWN_VERSION = "inconnue"


@dataclass
class Migration:
    """What :func:`migrate` did (or would do) to each coder's file."""

    versioned: dict[str, int] = field(default_factory=dict)    # codings that got a codebook_version
    rejoined: dict[str, int] = field(default_factory=dict)     # records rejoined (split by an old reader)
    written: bool = False

    @property
    def changed(self) -> list[str]:
        return sorted(c for c in set(self.versioned) | set(self.rejoined)
                      if self.versioned.get(c) or self.rejoined.get(c))


def _versioned(lines: list[str], version: str) -> tuple[list[str], int]:
    out, n = [], 0
    for line in lines:
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            out.append(line)                   # never destroy what cannot be read
            continue
        if isinstance(rec, dict) and rec.get("type") is None and "code" in rec and not rec.get("codebook_version"):
            rec["codebook_version"] = version
            line = fileio.dumps_line(rec)
            n += 1
        out.append(line)
    return out, n


def migrate(store: CodingStore, codebook_version: str = UNKNOWN_VERSION, coders: list[str] | None = None,
            dry_run: bool = False) -> Migration:
    """Bring the coder files to the current format (see the module docstring); idempotent.

    Examples
    --------
    >>> migrate(CodingStore("corpus/codings", corpus=corpus), "1.0.0").changed   # doctest: +SKIP
    ['A', 'B']
    """
    report = Migration()
    wanted = coders or store.coders()
    for coder in wanted:
        lines = store.read_lines(coder)
        report.rejoined[coder] = len(store.repaired.get(coder, []))
        report.versioned[coder] = _versioned(lines, codebook_version)[1]
    todo = report.changed
    if dry_run or not todo:
        return report
    store.update_many({coder: (lambda lines: _versioned(lines, codebook_version)[0]) for coder in todo})
    report.written = True
    return report
