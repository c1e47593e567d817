"""Measuring the masking against hand-labelled identifying spans.

The labelled set (``tests/data/masking/``) marks every identifying span of a
sample of documents (``doc, start, end, text, kind``; offsets into the document
body) and splits the documents into a development part and a held-out part.
:func:`evaluate_masking` masks every segment of those documents with a
:class:`~analyse.privacy.masking.Masker` and scores, per kind:

* **recall**: share of labelled spans whose letters and digits are all covered
  by masked spans;
* **precision**: share of masked spans (of that kind, as the masker labelled
  them) that overlap a labelled span of any kind.

Examples
--------
>>> labels = load_labels("tests/data/masking/labels.jsonl")           # doctest: +SKIP
>>> scores, errors = evaluate_masking(corpus, masker, labels, docs)  # doctest: +SKIP
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import pandas as pd
import yaml

from analyse.errors import AnalyseError

KINDS = ("personne", "lieu", "organisation", "projet", "gentile", "fait")
LABEL_COLUMNS = ["doc", "start", "end", "text", "kind"]
SCORE_COLUMNS = ["kind", "labelled", "found", "recall", "masked", "correct", "precision"]


def load_labels(path: str | Path) -> pd.DataFrame:
    """The labelled spans (``doc, start, end, text, kind``) of a JSONL file."""
    rows = []
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise AnalyseError("fichier d'étiquettes introuvable", str(path)) from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            rows.append({k: row[k] for k in LABEL_COLUMNS})
        except (ValueError, KeyError, TypeError):
            raise AnalyseError("ligne invalide : il faut un objet JSON avec doc, start, end, text, kind",
                               str(path), n) from None
    return pd.DataFrame(rows, columns=LABEL_COLUMNS)


def load_split(path: str | Path) -> dict[str, list[str]]:
    """``{"dev": [doc ids], "heldout": [doc ids]}`` from ``split.yaml``."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return {part: list(data.get(part) or []) for part in ("dev", "heldout")}


def check_labels(labels: pd.DataFrame, corpus) -> list[str]:
    """French messages for labels whose text is not at their offsets in the body."""
    problems = []
    for row in labels.itertuples():
        doc = corpus.documents.get(row.doc)
        if doc is None:
            problems.append(f"{row.doc} : document inconnu")
        elif doc.body[row.start:row.end] != row.text:
            problems.append(f"{row.doc}:{row.start}-{row.end} : « {row.text} » ne correspond pas au texte")
    return problems


def predicted_spans(corpus, masker, docs: Sequence[str]) -> pd.DataFrame:
    """Masked spans of every segment of ``docs``, as body offsets: ``doc, start, end, text, kind, replacement``."""
    rows = []
    for doc_id in docs:
        doc = corpus.documents[doc_id]
        segments = corpus.segments_of(doc_id)
        results = masker.mask_many([s.text for s in segments],
                                   [s.territory or doc.territory for s in segments])
        for seg, (_, spans) in zip(segments, results):
            for sp in spans:
                rows.append({"doc": doc_id, "start": seg.start + sp.start, "end": seg.start + sp.end,
                             "text": seg.text[sp.start:sp.end], "kind": sp.kind, "replacement": sp.replacement})
    return pd.DataFrame(rows, columns=["doc", "start", "end", "text", "kind", "replacement"])


def _covered(body: str, start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    need = [i for i in range(start, end) if body[i].isalnum()]
    return all(any(s <= i < e for s, e in spans) for i in need)


def evaluate_masking(corpus, masker, labels: pd.DataFrame, docs: Sequence[str],
                     predicted: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Recall and precision per kind on ``docs``, and the errors.

    Returns
    -------
    scores : DataFrame
        ``kind, labelled, found, recall, masked, correct, precision``, one row per
        kind and a last row ``ensemble``.
    errors : DataFrame
        ``doc, start, end, text, kind, error`` where error is ``oubli`` (a
        labelled span not fully masked) or ``en trop`` (a masked span that
        overlaps no label).
    """
    docs = list(docs)
    gold = labels[labels["doc"].isin(docs)]
    pred = predicted if predicted is not None else predicted_spans(corpus, masker, docs)
    pred = pred[pred["doc"].isin(docs)]
    gold_found, pred_ok, errors = [], [], []
    for doc_id in docs:
        body = corpus.documents[doc_id].body
        g = gold[gold["doc"] == doc_id]
        p = pred[pred["doc"] == doc_id]
        pspans = list(zip(p["start"], p["end"]))
        gspans = list(zip(g["start"], g["end"]))
        for row in g.itertuples():
            ok = _covered(body, row.start, row.end, pspans)
            gold_found.append((row.kind, ok))
            if not ok:
                errors.append({"doc": doc_id, "start": row.start, "end": row.end, "text": row.text,
                               "kind": row.kind, "error": "oubli"})
        for row in p.itertuples():
            ok = any(s < row.end and row.start < e for s, e in gspans)
            pred_ok.append((row.kind, ok))
            if not ok:
                errors.append({"doc": doc_id, "start": row.start, "end": row.end, "text": row.text,
                               "kind": row.kind, "error": "en trop"})
    rows = []
    for kind in [*KINDS, "ensemble"]:
        g = [ok for k, ok in gold_found if kind in (k, "ensemble")]
        p = [ok for k, ok in pred_ok if kind in (k, "ensemble")]
        rows.append({"kind": kind, "labelled": len(g), "found": sum(g),
                     "recall": round(sum(g) / len(g), 3) if g else float("nan"),
                     "masked": len(p), "correct": sum(p),
                     "precision": round(sum(p) / len(p), 3) if p else float("nan")})
    errs = pd.DataFrame(errors, columns=["doc", "start", "end", "text", "kind", "error"])
    return pd.DataFrame(rows, columns=SCORE_COLUMNS), errs.sort_values(["doc", "start"], ignore_index=True)


def labels_from_annotations(annotations: dict, corpus) -> pd.DataFrame:
    """Offsets of hand-written annotations (see ``tests/data/masking/annotations.yaml``).

    Each ``[text, kind]`` marks every whole-word, case-sensitive occurrence of
    ``text`` inside the segments of the document; ``[text, kind, [i, …]]`` marks
    only the listed occurrences (1-based). A text found nowhere is an error.
    """
    import re

    rows = []
    for doc_id, spec in (annotations.get("documents") or {}).items():
        doc = corpus.documents.get(doc_id)
        if doc is None:
            raise AnalyseError(f"document inconnu dans les annotations : {doc_id}")
        segments = corpus.segments_of(doc_id)
        taken: list[tuple[int, int]] = []
        # Longest texts first: « Bertrand » inside « Bertrand Lemonnier » is not a second span.
        for item in sorted(spec.get("spans") or [], key=lambda i: -len(str(i[0]))):
            text, kind = item[0], item[1]
            if kind not in KINDS:
                raise AnalyseError(f"{doc_id} : type inconnu « {kind} »", hint="types : " + ", ".join(KINDS))
            wanted = set(item[2]) if len(item) > 2 else None
            pattern = re.compile(r"(?<![\w-])" + re.escape(str(text)) + r"(?![\w-])")
            occurrences = [(s.start + m.start(), s.start + m.end()) for s in segments
                           for m in pattern.finditer(s.text)]
            if not occurrences:
                raise AnalyseError(f"{doc_id} : « {text} » n'apparaît dans aucun segment")
            for n, (start, end) in enumerate(occurrences, 1):
                if any(s < end and start < e for s, e in taken):
                    continue
                taken.append((start, end))
                if wanted is None or n in wanted:
                    rows.append({"doc": doc_id, "start": start, "end": end, "text": str(text), "kind": kind})
    frame = pd.DataFrame(rows, columns=LABEL_COLUMNS)
    return frame.sort_values(["doc", "start", "end"], ignore_index=True)


def rule_masks(corpus, masker, docs: Sequence[str] | None = None) -> pd.DataFrame:
    """What the local-name rules change on ``docs`` (all the corpus by default), mask by mask.

    Masks ``docs`` with ``masker`` and with the same masker without the rules
    (:attr:`~analyse.privacy.masking.Masker.local_names` false) and lists every mask
    that differs: ``doc, start, end, text, replacement, change`` where change is
    ``ajouté`` (masked only with the rules), ``remplacé`` (masked either way, here with
    the rule's words) or ``retiré`` (masked only without them, ``replacement`` being
    the old words); a mask grown by a rule shows as a ``retiré`` and an ``ajouté``.
    The researcher reads each to count the wrong ones.
    """
    from dataclasses import replace

    docs = sorted(corpus.documents) if docs is None else list(docs)
    with_rules = predicted_spans(corpus, masker, docs)
    without = predicted_spans(corpus, replace(masker, local_names=False), docs)
    key = ["doc", "start", "end"]
    merged = with_rules.merge(without, on=key, how="outer", suffixes=("", "_old"), indicator="side")
    rows = []
    for row in merged.itertuples(index=False):
        if row.side == "left_only":
            rows.append((row.doc, row.start, row.end, row.text, row.replacement, "ajouté"))
        elif row.side == "right_only":
            rows.append((row.doc, row.start, row.end, row.text_old, row.replacement_old, "retiré"))
        elif row.replacement != row.replacement_old:
            rows.append((row.doc, row.start, row.end, row.text, row.replacement, "remplacé"))
    out = pd.DataFrame(rows, columns=["doc", "start", "end", "text", "replacement", "change"])
    return out.sort_values(key, ignore_index=True)

