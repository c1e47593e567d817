"""The real-text training pool: folders of labelled real paragraphs read at training time.

Why: the bundled corpus was written to fit the codebook; on text about other towns a model learned
from it alone is precise but deaf (issue 19). Real paragraphs about other towns, labelled by hand
against the codebook, are training material of the register the suggestions meet in the field.

Every folder under the project's ``training/`` that holds ``texts.jsonl`` and ``labels-1.jsonl``
is one lot of the pool (:func:`training_folders`):

* ``texts.jsonl``: one JSON object per line, ``{"id", "text", "town", "region"?, "source"?}``;
* ``labels-1.jsonl``: ``{"id", "codes"}``, the reference labelling (the same role as everywhere in
  the project: a ``labels-2.jsonl``, when present, is a second labelling kept for agreement only).

The town is what the cross-validation groups by (:func:`town_group`): a town is never on both
sides of a fold, whichever lot its paragraphs come from. A malformed line, an unknown code, a text
without labels or a label without text stops the reading with a French error naming the file and
the line: training on half a lot would silently change the model.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Iterable, Sequence

from analyse.errors import EXIT_PROBLEMS, AnalyseError
from analyse.fileio import split_lines
from analyse.messages import msg
from analyse.model.codebook import Codebook
from analyse.textutil import fold

TRAINING_DIR = "training"
TEXTS_FILE = "texts.jsonl"
LABELS_FILE = "labels-1.jsonl"
# doc value of a pool row in the model's input frame (realtext_rows_of recognises it)
POOL_DOC_PREFIX = "apprentissage:"


class TrainingPoolError(AnalyseError):
    """A folder of the real-text training pool cannot be read as it is."""

    exit_code = EXIT_PROBLEMS


def training_folders(root: str | Path) -> list[Path]:
    """The pool's lots: sub-folders of ``<root>/training`` holding both files, sorted by name.

    >>> training_folders("/nonexistent")
    []
    """
    base = Path(root) / TRAINING_DIR
    if not base.is_dir():
        return []
    return sorted(p for p in base.iterdir() if p.is_dir() and (p / TEXTS_FILE).is_file()
                  and (p / LABELS_FILE).is_file())


def town_group(town: str) -> str:
    """Cross-validation group of a pool text: its town, folded (« Brest » and « brest » are one town).

    >>> town_group(" Évian ")
    'ville:evian'
    """
    return "ville:" + fold(town)


def _records(path: Path) -> Iterable[tuple[int, dict]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise TrainingPoolError(msg("pool.unreadable", error=type(exc).__name__), path) from None
    for n, line in enumerate(split_lines(text), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TrainingPoolError(msg("pool.bad_json", error=exc.msg), path, n,
                                    hint=msg("pool.bad_json_hint")) from None
        if not isinstance(record, dict):
            raise TrainingPoolError(msg("pool.not_object"), path, n, hint=msg("pool.bad_json_hint"))
        yield n, record


def _text_field(record: dict, key: str, path: Path, n: int) -> str:
    value = record.get(key)
    if not isinstance(value, str) or not value.strip():
        raise TrainingPoolError(msg("pool.missing_field", field=key), path, n, hint=msg("pool.texts_hint"))
    return value


def read_training_folder(folder: str | Path, codebook: Codebook) -> list[dict]:
    """One lot of the pool: ``{"id", "text", "town", "region", "source", "codes", "folder"}`` per text.

    Raises
    ------
    TrainingPoolError
        With the file and line: a line that is not a JSON object, a text without ``id``,
        ``text`` or ``town``, an id given twice, a code the codebook does not have, a text
        without labels or a label line without a text.
    """
    folder = Path(folder)
    texts_path, labels_path = folder / TEXTS_FILE, folder / LABELS_FILE
    for path in (texts_path, labels_path):
        if not path.is_file():
            raise TrainingPoolError(msg("pool.missing_file", name=path.name), folder,
                                    hint=msg("pool.missing_file_hint"))
    texts: dict[str, tuple[int, dict]] = {}
    for n, record in _records(texts_path):
        key = _text_field(record, "id", texts_path, n)
        if key in texts:
            raise TrainingPoolError(msg("pool.duplicate", id=key, first=texts[key][0]), texts_path, n)
        _text_field(record, "text", texts_path, n)
        _text_field(record, "town", texts_path, n)
        texts[key] = (n, record)
    labels: dict[str, tuple[int, list[str]]] = {}
    for n, record in _records(labels_path):
        key = record.get("id")
        if not isinstance(key, str) or not key.strip():
            raise TrainingPoolError(msg("pool.missing_field", field="id"), labels_path, n,
                                    hint=msg("pool.labels_hint"))
        if key in labels:
            raise TrainingPoolError(msg("pool.duplicate", id=key, first=labels[key][0]), labels_path, n)
        codes = record.get("codes")
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            raise TrainingPoolError(msg("pool.bad_codes", id=key), labels_path, n, hint=msg("pool.labels_hint"))
        unknown = [c for c in codes if c not in codebook.codes]
        if unknown:
            raise TrainingPoolError(msg("pool.unknown_code", codes=", ".join(unknown), id=key), labels_path, n,
                                    hint=msg("pool.unknown_code_hint"))
        if key not in texts:
            raise TrainingPoolError(msg("pool.label_without_text", id=key, texts=TEXTS_FILE), labels_path, n)
        labels[key] = (n, codes)
    for key, (n, _) in texts.items():
        if key not in labels:
            raise TrainingPoolError(msg("pool.text_without_labels", id=key, labels=LABELS_FILE), texts_path, n,
                                    hint=msg("pool.text_without_labels_hint"))
    return [{"id": key, "text": record["text"], "town": record["town"].strip(),
             "region": record.get("region"), "source": record.get("source"),
             "codes": sorted(set(labels[key][1])), "folder": folder.name}
            for key, (_, record) in texts.items()]


def pool_hash(rows: Sequence[dict]) -> str:
    """Hash of a pool's training content (folder, id, text, town, codes): tells a model trained on other material."""
    payload = json.dumps([[r["folder"], r["id"], r["text"], r["town"], r["codes"]] for r in rows],
                         ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def read_training_pool(folders: Sequence[str | Path], codebook: Codebook) -> tuple[list[dict], dict]:
    """Every lot of ``folders`` (in order) and what the model's metadata records about them.

    Returns ``(rows, info)``: ``info`` = ``{"folders": [{"path", "name", "texts", "towns", "uncoded",
    "hash"}…], "texts", "towns", "hash"}``. Two lots may not share a text id: the ids are prefixed by
    the lot's name in the training frame, so they only need to be unique inside a lot.
    """
    rows: list[dict] = []
    lots = []
    for folder in folders:
        lot = read_training_folder(folder, codebook)
        rows += lot
        lots.append({"path": str(folder), "name": Path(folder).name, "texts": len(lot),
                     "towns": len({town_group(r["town"]) for r in lot}),
                     "uncoded": sum(not r["codes"] for r in lot), "hash": pool_hash(lot)})
    info = {"folders": lots, "texts": len(rows), "towns": len({town_group(r["town"]) for r in rows}),
            "hash": pool_hash(rows) if rows else None}
    return rows, info
