"""Plain text of a source → a document body of speaker turns, and where each position went.

A source from another tool (a REFI-QDA text source, a ``.txt``) has no
speaker markers. :func:`text_to_body` cuts it into paragraphs (one per
non-blank line, as word processors write them). It turns « Nom : » openings
(the conventions of :mod:`analyse.model.speakers`, as ``analyse import`` reads them)
into turns of named participants when the text reads as a dialogue. Otherwise
each paragraph becomes a turn of a single participant P1 « inconnu ».
:class:`BodyMap` carries positions counted on the source text over to the
body, so codings made in the other tool land on the same words.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections import Counter

from analyse.model.corpus import SPEAKER_MARKER, clock
from analyse.model.speakers import PREFIX, display_name, looks_like_name, speaker_key

UNKNOWN_SPEAKER = "inconnu"
MAX_SPEAKERS = 15


def slugify(text: str) -> str:
    """Lowercase ASCII slug (accents dropped, other characters as hyphens).

    Examples
    --------
    >>> slugify("Mabêl 2ième.txt")
    'mabel-2ieme-txt'
    >>> slugify("Coke::diet Coke")
    'coke-diet-coke'
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def unique(base: str, taken: set[str]) -> str:
    """``base``, or ``base-2``, ``base-3``… the first not in ``taken`` (which then holds it)."""
    cand, n = base, 2
    while cand in taken:
        cand, n = f"{base}-{n}", n + 1
    taken.add(cand)
    return cand


class BodyMap:
    """Map positions of the source text to positions of the written body.

    The body copies each paragraph of the source (trimmed) after a speaker
    marker; positions that fall between copied chunks (line ends, trimmed
    spaces, a « Nom : » prefix) move to the next chunk for a start, to the
    previous chunk for an end.
    """

    def __init__(self, chunks: list[tuple[int, int, int]], body_length: int):
        self.chunks = chunks  # (source start, source end, body start), in order
        self._starts = [c[0] for c in chunks]
        self._ends = [c[1] for c in chunks]
        self.length = body_length

    def start(self, pos: int) -> int:
        i = bisect.bisect_right(self._ends, pos)
        if i == len(self.chunks):
            return self.length
        a, _, b = self.chunks[i]
        return b + pos - a if pos >= a else b

    def end(self, pos: int) -> int:
        i = bisect.bisect_left(self._starts, pos) - 1
        if i < 0:
            return 0
        a, e, b = self.chunks[i]
        return b + min(pos, e) - a


def _paragraphs(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each non-blank line, trimmed of surrounding spaces."""
    out = []
    for m in re.finditer(r"[^\n]+", text):
        line = m.group()
        if line.strip():
            lead = len(line) - len(line.lstrip())
            out.append((m.start() + lead, m.start() + len(line.rstrip())))
    return out


def _turn(text: str, a: int, b: int):
    """``(speaker key, display name, label, timecode, text start)`` when the paragraph opens a turn.

    The conventions are :mod:`analyse.model.speakers`' (``Marie : …``, ``MARIE (élue) : …``,
    ``[00:03:12] Marie : …``, ``**Marie** : …``), so ``analyse import`` and this import agree.
    """
    line = text[a:b]
    m = PREFIX.match(line)
    if not m or not looks_like_name(m["name"]):
        return None
    start = a + (m.start("text") if m["text"] is not None else len(line))
    return speaker_key(m["name"]), display_name(m["name"]), m["label"], m["time"], start


def detect_speakers(text: str, paras: list[tuple[int, int]] | None = None) -> list[str]:
    """Speaker names when the text reads as « Nom : … » turns, else ``[]``.

    At least a quarter of the paragraphs must open with a name, names must
    recur (someone speaks twice) and be few: a colon after a capitalised word
    now and then (« Objet : … ») does not make a dialogue.

    Examples
    --------
    >>> detect_speakers("Marie : Bonjour.\\nPAUL : Salut.\\nMarie : On commence ?\\nPaul : Oui.")
    ['Marie', 'Paul']
    >>> detect_speakers("Une ligne : rien de plus.\\nUne autre.")
    []
    """
    paras = _paragraphs(text) if paras is None else paras
    names: Counter = Counter()
    shown: dict[str, str] = {}
    for a, b in paras:
        t = _turn(text, a, b)
        if t:
            names[t[0]] += 1
            shown.setdefault(t[0], t[1])
    turns = sum(names.values())
    if turns < 2 or len(names) > MAX_SPEAKERS or len(names) >= turns or turns * 4 < len(paras):
        return []
    return [shown[k] for k in names]


def text_to_body(text: str) -> tuple[str, list[dict], BodyMap]:
    """The document body, its participants and the position map of a source text.

    Examples
    --------
    >>> body, people, m = text_to_body("Première ligne.\\n\\nSeconde.\\n")
    >>> print(body)
    **P1** : Première ligne.
    <BLANKLINE>
    **P1** : Seconde.
    <BLANKLINE>
    >>> people[0]["name"], m.start(17), m.end(15)
    ('inconnu', 35, 24)
    """
    paras = _paragraphs(text)
    names = detect_speakers(text, paras)
    ids = {speaker_key(name): f"P{i}" for i, name in enumerate(names, start=1)}
    participants = [{"id": f"P{i}", "name": name, "role": "autre"} for i, name in enumerate(names, start=1)]
    pieces: list[str] = []
    chunks: list[tuple[int, int, int]] = []
    pos = 0
    current = None  # speaker of the running turn
    pending = None  # « Nom : » alone on its line: the turn opens at the next paragraph
    for a, b in paras:
        marker = ""
        if not names:
            marker = "**P1** : "
        else:
            t = _turn(text, a, b)
            if t and t[0] in ids:
                current = ids[t[0]]
                label = f" ({t[2].strip()})" if t[2] and t[2].strip() else ""
                a = t[4]
                if a >= b:
                    pending = f"**{current}{label}** : "
                    continue
                marker = f"**{current}{label}** : " + (f"[{clock(t[3]).split('.')[0]}] " if t[3] else "")
            elif pending or current is None or SPEAKER_MARKER.match(text, a, b):
                if current is None:
                    current = "P0"
                    participants.insert(0, {"id": "P0", "name": UNKNOWN_SPEAKER, "role": "autre"})
                marker = pending or f"**{current}** : "
            pending = None
        if pieces:
            pieces.append("\n\n")
            pos += 2
        pieces.append(marker)
        pos += len(marker)
        chunks.append((a, b, pos))
        pieces.append(text[a:b])
        pos += b - a
    if not names:
        participants = [{"id": "P1", "name": UNKNOWN_SPEAKER, "role": "autre"}]
    body = "".join(pieces) + "\n"
    return body, participants, BodyMap(chunks, len(body))
