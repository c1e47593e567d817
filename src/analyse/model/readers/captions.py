"""Captions (.vtt WebVTT, .srt SubRip), read with webvtt-py: one block per cue, with its timecodes."""

from __future__ import annotations

import io
from pathlib import Path

from analyse.errors import CorpusError
from analyse.model.readers import Block, Source, decode, register_source_reader


def read(path: Path, encoding: str | None = None) -> Source:
    import webvtt
    from webvtt.errors import MalformedCaptionError, MalformedFileError

    fmt = path.suffix.lower().lstrip(".")
    text, used = decode(path.read_bytes(), path, encoding)
    try:
        captions = webvtt.WebVTT.from_buffer(io.StringIO(text), format=fmt)
    except (MalformedFileError, MalformedCaptionError) as exc:
        what = "WebVTT (il doit commencer par WEBVTT)" if fmt == "vtt" else "SubRip"
        raise CorpusError(f"fichier de sous-titres {what} mal formé : {exc}", path,
                          hint="vérifier l'export (numéros, lignes « 00:00:01,000 --> 00:00:04,000 »)") from None
    blocks = []
    for n, cue in enumerate(captions, start=1):
        body = " ".join(line.strip() for line in cue.text.split("\n") if line.strip())
        voice = cue.voice.strip() if fmt == "vtt" and cue.voice else None
        if voice:
            voice = voice.split(">")[0].strip()
        blocks.append(Block(body, line=n, speaker=voice or None, start=cue.start, end=cue.end, cue=True))
    return Source(path, fmt, blocks, unit="sous-titre", encoding=used)


register_source_reader((".vtt", ".srt"), read)
