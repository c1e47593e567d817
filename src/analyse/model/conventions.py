"""Transcription conventions: marks a transcriber adds that are not words of the speaker.

« (rires) », « [rires] », « [inaudible] », « (silence) », « [00:12:31] », « … » and the like stay in the
text (reports show them: they say how something was said) but are not vocabulary: the NLP layer sees
them blanked out (same length, so offsets hold), hence they are absent from token and entity frames,
specificities, learned models and name masking.

The built-in list below covers the usual French conventions; a project adds its own in ``balises.toml``:

    [transcription]
    conventions = ['\\{[^}]*\\}', '#\\w+']     # Python regular expressions

Examples
--------
>>> spans("Oui (rires) [00:12:31] on y va… [inaudible]")
[(4, 11), (12, 22), (30, 31), (32, 43)]
>>> blank("Oui (rires), bon.")
'Oui        , bon.'
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable, Sequence

# Words a transcriber writes between brackets or parentheses (accents optional, plural allowed).
_NOTES = (r"rires?|sourires?|silence|pause|inaudible|incompr[ée]hensibles?|h[ée]sitations?|toux|soupirs?"
          r"|applaudissements?|bruits?|brouhaha|coupure|interruption|inaudibles?|\.\.\.|…")
CONVENTIONS: tuple[str, ...] = (
    # « (rires) », « [rires] », « (silence 3 s) », « [inaudible 00:12] »: a known note, then anything short.
    rf"[\(\[]\s*(?:{_NOTES})\b[^\)\]\n]{{0,40}}[\)\]]",
    r"[\(\[](?:\.\.\.|…)[\)\]]",
    # Time codes: « [00:12:31] », « (12:31) », « [00:12:31.500] ».
    r"[\(\[]\s*\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?\s*[\)\]]",
    # Ellipsis of an interruption (« on y va… »), typographic or three dots.
    r"…|\.\.\.",
)


@lru_cache(maxsize=16)
def compile_conventions(extra: tuple[str, ...] = ()) -> re.Pattern:
    """One pattern for the built-in conventions and ``extra`` ones (invalid ones raise ``re.error``)."""
    return re.compile("|".join(f"(?:{p})" for p in (*CONVENTIONS, *extra)), re.IGNORECASE)


def _pattern(extra: Iterable[str] | None) -> re.Pattern:
    return compile_conventions(tuple(extra or ()))


def spans(text: str, extra: Sequence[str] | None = None) -> list[tuple[int, int]]:
    """``(start, end)`` of every convention mark in ``text``, in order."""
    return [m.span() for m in _pattern(extra).finditer(text or "")]


def blank(text: str, extra: Sequence[str] | None = None) -> str:
    """``text`` with every convention mark replaced by spaces (same length: offsets hold)."""
    if not text:
        return text
    return _pattern(extra).sub(lambda m: " " * len(m.group(0)), text)


def is_convention(text: str, extra: Sequence[str] | None = None) -> bool:
    """Whether ``text`` is one convention mark (« [rires] »), nothing else."""
    return bool(text) and _pattern(extra).fullmatch(text.strip()) is not None
