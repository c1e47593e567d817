"""Find speakers, turns and timecodes in imported text (every format goes through here).

Conventions recognised, each at the start of a line (or of a caption cue):

- ``Marie Dupont : texte``, ``MARIE : texte`` (also ``**Marie** : texte`` and ``Marie (élue) : texte``);
- ``[00:03:12] Marie Dupont : texte``: the timecode is kept for the paragraph;
- ``Marie Dupont 00:03`` alone on its line, the text on the next lines (video-call exports);
- ``[00:05:40] texte``: a new paragraph of the current speaker, with its timecode;
- a speaker given by the format itself: a bold name in a Word paragraph, a WebVTT ``<v Marie>`` tag;
- caption cues without a name continue the previous speaker; cues of one speaker merge into one
  paragraph until a pause of :data:`CUE_PAUSE` seconds or more, which opens a new paragraph.

Consecutive paragraphs of one speaker form one turn. Text that cannot be given to a speaker
(before the first one, in a transcript) is returned in ``unplaced``, never attributed by guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from analyse.model.corpus import clock
from analyse.model.readers import Block

_UPPER = "A-ZÀ-ÖØ-Þ"
_WORD = rf"[{_UPPER}][\w'’.\-]*"
_MORE = rf"(?:[{_UPPER}][\w'’.\-]*|\d{{1,3}})"
_PARTICLE = r"(?:de|du|des|la|le|van|von|d[’'])"
NAME = rf"{_WORD}(?:[ \t]+(?:{_PARTICLE}[ \t]*)?{_MORE}){{0,3}}"
CLOCK = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?"
MAX_NAME = 40

PREFIX = re.compile(
    rf"^(?:\[(?P<time>{CLOCK})\][ \t]*)?(?:\*\*)?(?P<name>{NAME})(?:[ \t]*\((?P<label>[^)\n]{{1,40}})\))?"
    rf"(?:\*\*)?[\t \u00a0]*(?:\*\*)?:(?:\*\*)?(?:[ \t\u00a0]+(?P<text>.*)|$)"
)
HEADER = re.compile(rf"^(?P<name>{NAME})[ \t]+\(?(?P<time>{CLOCK})\)?[ \t]*$")
TIMED = re.compile(rf"^\[(?P<time>{CLOCK})\][ \t]*(?P<text>.*)$")
CUE_PAUSE = 3.0


def looks_like_name(text: str) -> bool:
    """True for ``Marie Dupont``, ``MARIE``, ``Jean de la Motte``, ``Intervenant 2``."""
    return len(text) <= MAX_NAME and re.fullmatch(NAME, text) is not None


def speaker_key(name: str) -> str:
    """Names compared without case or extra spaces: ``MARIE`` and ``Marie`` are one speaker."""
    return " ".join(name.split()).casefold()


def display_name(name: str) -> str:
    name = " ".join(name.split())
    return name.title() if name.isupper() and len(name) > 1 else name


@dataclass
class Paragraph:
    text: str
    line: int | None = None
    start: str | None = None  # HH:MM:SS
    end: str | None = None
    _last_end: float | None = None  # caption merging only

    def mark(self) -> str:
        if not self.start:
            return ""
        return f"[{self.start}-{self.end}] " if self.end else f"[{self.start}] "


@dataclass
class Turn:
    speaker: str | None  # display name; None for narration
    paragraphs: list[Paragraph] = field(default_factory=list)


@dataclass
class Layout:
    turns: list[Turn]
    unplaced: list[tuple[int | None, str]]
    speakers: list[str]  # display names in order of first appearance

    @property
    def paragraphs(self) -> int:
        return sum(len(t.paragraphs) for t in self.turns)


def _seconds(value: str) -> float:
    h, m, s = clock(value).split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def _hms(value: str | None) -> str | None:
    """Caption/inline timecode to ``HH:MM:SS`` (fractions of a second dropped: coding needs no more)."""
    return None if value is None else clock(value).split(".")[0]


def find_turns(blocks: list[Block], narrative: bool = False) -> Layout:
    """Group blocks into speaker turns of paragraphs (see the module docstring).

    ``narrative`` (récit, note): text before the first speaker is kept as narration instead of
    being returned as unplaced.
    """
    turns: list[Turn] = []
    unplaced: list[tuple[int | None, str]] = []
    names: dict[str, str] = {}

    def speak(name: str) -> Turn:
        key = speaker_key(name)
        names.setdefault(key, display_name(name))
        if turns and turns[-1].speaker is not None and speaker_key(turns[-1].speaker) == key:
            return turns[-1]
        turns.append(Turn(names[key]))
        return turns[-1]

    def current() -> Turn | None:
        return turns[-1] if turns else None

    for block in blocks:
        if block.cue:
            _cue(block, speak, current, unplaced, narrative, turns)
            continue
        para: Paragraph | None = None
        pending_time: str | None = None
        if block.speaker:
            turn = speak(block.speaker)
            if block.text.strip():
                lines = block.text.split("\n")
                first = lines[0].strip()
                m = TIMED.match(first)
                para = Paragraph(m["text"] if m else first, block.line, _hms(m["time"]) if m else None)
                turn.paragraphs.append(para)
                block = Block("\n".join(lines[1:]), line=block.line)
            else:
                continue
        for offset, raw in enumerate(block.text.split("\n")):
            line_no = None if block.line is None else block.line + offset
            line = raw.strip()
            if not line:
                para = None
                continue
            m = HEADER.match(line)
            if m and looks_like_name(m["name"]):
                speak(m["name"])
                para, pending_time = None, _hms(m["time"])
                continue
            m = PREFIX.match(line)
            if m and looks_like_name(m["name"]):
                turn = speak(m["name"])
                text = (m["text"] or "").strip()
                pending_time = _hms(m["time"]) or pending_time
                if text:
                    para = Paragraph(text, line_no, pending_time)
                    turn.paragraphs.append(para)
                    pending_time = None
                else:
                    para = None
                continue
            m = TIMED.match(line)
            turn = current()
            if m and turn is not None and turn.speaker is not None:
                para = Paragraph(m["text"].strip(), line_no, _hms(m["time"]))
                if para.text:
                    turn.paragraphs.append(para)
                else:
                    para, pending_time = None, _hms(m["time"])
                continue
            if turn is None and narrative:
                turns.append(Turn(None))
                turn = turns[-1]
            if turn is None or (turn.speaker is None and not narrative):
                unplaced.append((line_no, line))
                continue
            if para is None:
                para = Paragraph(line, line_no, pending_time)
                pending_time = None
                turn.paragraphs.append(para)
            else:
                para.text += "\n" + line
    turns = [t for t in turns if t.paragraphs]
    speakers = []
    for t in turns:
        if t.speaker is not None and t.speaker not in speakers:
            speakers.append(t.speaker)
    return Layout(turns, unplaced, speakers)


def _cue(block: Block, speak, current, unplaced, narrative, turns) -> None:
    text = block.text.strip()
    if not text:
        return
    speaker = block.speaker
    if speaker is None:
        m = PREFIX.match(text)
        if m and looks_like_name(m["name"]) and (m["text"] or "").strip():
            speaker, text = m["name"], m["text"].strip()
    if speaker is not None:
        turn = speak(speaker)
    else:
        turn = current()
        if turn is None or (turn.speaker is None and not narrative):
            if narrative and turn is None:
                turns.append(Turn(None))
                turn = turns[-1]
            else:
                unplaced.append((block.line, text))
                return
    start, end = _seconds(block.start), _seconds(block.end)
    last = turn.paragraphs[-1] if turn.paragraphs else None
    if last is not None and last._last_end is not None and start - last._last_end < CUE_PAUSE:
        last.text += " " + text
        last.end, last._last_end = _hms(block.end), end
    else:
        turn.paragraphs.append(Paragraph(text, block.line, _hms(block.start), _hms(block.end), end))
