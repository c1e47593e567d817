"""Balises: qualitative analysis of territorial-transition transcripts."""

__version__ = "0.1.0"
