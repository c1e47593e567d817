"""Suggestion files: machine codings kept apart from human ones, and their review.

Suggestions are never mixed with human codings. ``analyse suggest`` writes
them under ``outputs/suggestions/<territory>.jsonl``, one JSON object a line,
shaped like a human coding plus the segment id::

    {"doc": "malaunay-valeur", "start": 812, "end": 830, "quote": "coût de l'inaction",
     "code": "VAL.M3", "coder": "rule", "at": "…", "origin": "rule", "score": 0.5,
     "memo": "règles : « coût de l'inaction »", "segment": "malaunay-valeur#14"}

A researcher then accepts or rejects them (:meth:`SuggestionFile.accept`,
:meth:`SuggestionFile.reject`, e.g. from a notebook). Accepting writes a
*human* coding of the whole segment into that coder's file through
:class:`~analyse.model.codings.CodingStore` (origin ``human``, a memo saying which
suggestion it came from); every decision goes to the side log
``<territory>.decisions.jsonl`` so that a rejected or accepted suggestion is
not proposed again by the next run.

Accepting writes two files in two folders (the coder's file, the decisions
log), which no single rename can switch together. A small write-ahead file
(``<territory>.accepting.json``: the coder, the codings, the decision lines)
is written first; at the next open of the suggestions file it is finished if
the codings reached the coder's file (the decisions are logged) and dropped
otherwise. A crash at any point thus leaves the suggestion pending with no
coding, or accepted with its coding — never a coding whose suggestion is
still proposed (accepting it again would code the segment twice).

This module also holds the ``analyse suggest`` and ``analyse train`` commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
from filelock import FileLock

from analyse.model.codings import CodingStore, check_coder_id, coding_record, now_iso
from analyse.model.corpus import Corpus, Segment
from analyse.fileio import atomic_write, dumps_line, split_lines, step
from analyse.errors import CodingsError, UsageError
from analyse.messages import msg
from analyse.textutil import check_choice, fr_json_error, fr_number

SUGGESTION_FIELDS = ["doc", "start", "end", "quote", "code", "coder", "at", "origin", "score", "memo", "segment",
                     "confidence", "model_version", "codebook_version"]
DECISION_FIELDS = ["decision", "segment", "doc", "code", "origin", "coder", "at", "reason"]
SUGGESTIONS_DIR = Path("outputs") / "suggestions"
MACHINE_CODERS = ("rule", "model")
ASSISTED_ORIGIN = "model-assisted"   # origin of a coding accepted from a suggestion
TEXT_UNIT = 1000   # input lines per NLP cache unit for `suggest --texts`


# --------------------------------------------------------------------------- making suggestions

def rule_records(rules_frame: pd.DataFrame, at: str | None = None) -> list[dict]:
    """Suggestion records from :meth:`analyse.coding.autocode.RuleSuggester.suggest` rows."""
    at = at or now_iso()
    return [{"doc": r.doc, "start": int(r.start), "end": int(r.end), "quote": r.quote, "code": r.code,
             "coder": "rule", "at": at, "origin": "rule", "score": round(float(r.score), 4),
             "memo": msg("sug.memo_rules", terms=r.terms), "segment": r.segment}
            for r in rules_frame.itertuples(index=False)]


def model_records(segments: Sequence[Segment], decided: np.ndarray, confidence: np.ndarray,
                  classes: Sequence[str], at: str | None = None, model_version: str | None = None,
                  codebook_version: str | None = None) -> list[dict]:
    """Suggestion records for every (segment, code) the model decided on (thresholds and abstention applied).

    ``confidence`` holds calibrated probabilities; the record's ``score`` is that probability and
    ``confidence`` its French word. A model suggestion covers the whole segment: the model reads
    the segment as a whole and has no span to point at.
    """
    from analyse.coding.autocode import confidence_word

    at = at or now_iso()
    out = []
    rows, cols = np.nonzero(np.asarray(decided))
    for i, j in zip(rows, cols):
        seg, p = segments[i], float(confidence[i, j])
        word = confidence_word(p)
        out.append({"doc": seg.doc, "start": seg.start, "end": seg.end, "quote": seg.text,
                    "code": str(classes[j]), "coder": "model", "at": at, "origin": "model",
                    "score": round(p, 4), "memo": msg("sug.memo_model", word=word, p=fr_number(p, 2)),
                    "segment": seg.id, "confidence": word, "model_version": model_version,
                    "codebook_version": codebook_version})
    return out


def suggest_segments(segments: Sequence[Segment], *, layer, rules=None, model=None,
                     exclude: set[tuple[str, str]] = frozenset(), at: str | None = None,
                     model_version: str | None = None, codebook_version: str | None = None) -> list[dict]:
    """Rule and model suggestions for segments, minus the excluded (segment, code) pairs.

    Parameters
    ----------
    segments : sequence of Segment
    layer : analyse.nlp.NLPLayer
    rules : RuleSuggester, optional
    model : SegmentCoder, optional
    exclude : set of (segment id, code)
        Pairs already coded by the coder or already decided on.

    Returns
    -------
    list of dict
        Suggestion records sorted by document, segment number, code, origin.

    Examples
    --------
    >>> records = suggest_segments(corpus.segments_of("malaunay-valeur"), layer=layer,
    ...                            rules=rules, model=model)        # doctest: +SKIP
    """
    from analyse.nlp import lemma_text, parse_segments

    segments = list(segments)
    at = at or now_iso()
    records: list[dict] = []
    if rules is not None:
        lemmas = []

        def tee():
            for seg, doc in parse_segments(segments, layer):
                lemmas.append(lemma_text(doc))
                yield seg, doc

        records += rule_records(rules.suggest(tee()), at)
    else:
        from analyse.nlp import segment_lemmas
        by_id = segment_lemmas(segments, layer)
        lemmas = [by_id[s.id] for s in segments]
    if model is not None and segments:
        from analyse.coding.autocode import segments_frame_for_model
        X = segments_frame_for_model(segments, lemmas)
        scores = model._all_proba(X)
        records += model_records(segments, model.decide(scores), model.calibrate(scores[:, :len(model.classes_)]),
                                 model.classes_, at, model_version, codebook_version)
    records = [r for r in records if (r["segment"], r["code"]) not in exclude]
    order = {s.id: (s.doc, s.n) for s in segments}
    return sorted(records, key=lambda r: (order[r["segment"]], r["code"], r["origin"]))


def most_useful_segments(segments: Sequence[Segment], model, layer, k: int = 1) -> list[tuple[str, float]]:
    """« Segment suivant le plus utile » : the ``k`` segments whose coding would most help the model.

    Uncertainty sampling: for each segment and each learned head, the calibrated probability's
    closeness to 0.5 (``1 - |2p - 1|``, 1 when the model cannot tell); a segment's usefulness is the
    largest of these over the codes and the « rien à coder » head. Returns ``[(segment id,
    usefulness), …]``, most useful first (ties in corpus order).

    Examples
    --------
    >>> most_useful_segments(corpus.segments_of("malaunay-valeur"), model, layer, k=3)   # doctest: +SKIP
    [('malaunay-valeur#7', 0.98), ...]
    """
    from analyse.coding.autocode import segments_frame_for_model
    from analyse.nlp import segment_lemmas

    segments = list(segments)
    if not segments:
        return []
    by_id = segment_lemmas(segments, layer)
    scores = model._all_proba(segments_frame_for_model(segments, [by_id[s.id] for s in segments]))
    n = len(model.classes_)
    probs = model.calibrate(scores[:, :n])
    if getattr(model, "nothing_threshold_", None) is not None:
        probs = np.c_[probs, scores[:, -1]]        # the « rien à coder » head, uncalibrated score
    usefulness = (1 - np.abs(2 * probs - 1)).max(axis=1) if probs.shape[1] else np.zeros(len(segments))
    order = np.argsort(-usefulness, kind="stable")[:k]
    return [(segments[i].id, round(float(usefulness[i]), 4)) for i in order]


# --------------------------------------------------------------------------- suggestion files

def write_lines(path: Path, lines: Iterable[str]) -> None:
    atomic_write(path, "".join(line + "\n" for line in lines))


def _read_jsonl(path: Path) -> list[dict]:
    # a suggestions file can be made again; a decisions log cannot
    hint = msg("sug.log_hint") if path.name.endswith(".decisions.jsonl") else msg("sug.regenerate_hint")
    if not path.is_file():
        return []
    out = []
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CodingsError(msg("not_utf8"), path, raw[:exc.start].count(b"\n") + 1, hint=hint) from None
    for lineno, line in enumerate(split_lines(text), start=1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise CodingsError(msg("not_json", error=fr_json_error(exc.msg)), path, lineno, hint=hint) from None
    return out


class SuggestionFile:
    """A suggestions file and its decisions log.

    Parameters
    ----------
    path : path
        e.g. ``outputs/suggestions/malaunay.jsonl``; decisions go to
        ``outputs/suggestions/malaunay.decisions.jsonl``.

    Examples
    --------
    >>> sf = SuggestionFile("outputs/suggestions/malaunay.jsonl")          # doctest: +SKIP
    >>> todo = sf.pending()                                                # doctest: +SKIP
    >>> sf.accept(todo[todo.score > 0.8], coder="B", corpus=corpus,
    ...           codings_folder="corpus/codings")                         # doctest: +SKIP
    >>> sf.reject(todo[todo.code == "ECH"], coder="B", reason="hors sujet") # doctest: +SKIP
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.log_path = self.path.with_name(self.path.name.removesuffix(".jsonl") + ".decisions.jsonl")
        self.intent_path = self.path.with_name(self.path.name.removesuffix(".jsonl") + ".accepting.json")

    def _lock(self) -> FileLock:
        return FileLock(str(self.path) + ".lock", timeout=60)

    def recover(self) -> str | None:
        """Finish or drop an acceptance a crash interrupted; return ``"finished"``, ``"dropped"`` or None.

        Finished when every coding it names is in the coder's file (its
        decisions are then logged), dropped otherwise: the suggestions and
        decisions files and the coder's file agree again.
        """
        stale = any(self.path.parent.glob(f".{self.path.name.removesuffix('.jsonl')}.*.tmp"))
        if not self.intent_path.exists() and not stale:
            return None
        with self._lock():
            return self._recover_locked()

    def _recover_locked(self) -> str | None:
        from analyse.fileio import clean_temps

        for path in (self.path, self.log_path, self.intent_path):
            clean_temps(path)
        if not self.intent_path.exists():
            return None
        try:
            intent = json.loads(self.intent_path.read_text(encoding="utf-8"))
            store = CodingStore(intent["codings_folder"])
            have = {json.dumps(r, sort_keys=True, ensure_ascii=False) for r in store.records(intent["coder"])}
            done = all(json.dumps(r, sort_keys=True, ensure_ascii=False) in have for r in intent["codings"])
            decisions = [str(line) for line in intent["decisions"]]
        except (OSError, ValueError, KeyError, TypeError):
            done, decisions = False, []      # an intent that cannot be read was never acted on
        if done:
            old = self._log_lines()
            write_lines(self.log_path, old + [line for line in decisions if line not in old])
        self.intent_path.unlink()
        return "finished" if done else "dropped"

    def _log_lines(self) -> list[str]:
        if not self.log_path.is_file():
            return []
        _read_jsonl(self.log_path)          # refuses (in French) a log it could not rewrite whole
        return [line for line in split_lines(self.log_path.read_text(encoding="utf-8")) if line.strip()]

    def write(self, records: Iterable[dict]) -> int:
        """Replace the suggestions (not the decisions log) by ``records``; pairs decided on are dropped."""
        decided = self.decided_pairs()
        kept = [r for r in records if (r["segment"], r["code"]) not in decided]
        for r in kept:
            if r.get("coder") not in MACHINE_CODERS or r.get("origin") not in MACHINE_CODERS:
                raise CodingsError(msg("sug.bad_origin", coder=r.get("coder"), origin=r.get("origin")),
                                   self.path, hint=msg("sug.bad_origin_hint"))
        with self._lock():
            write_lines(self.path, (dumps_line({k: r.get(k) for k in SUGGESTION_FIELDS}) for r in kept))
        return len(kept)

    def read(self) -> pd.DataFrame:
        """Every suggestion, with a ``status`` column: pending, accepted or rejected."""
        self.recover()
        frame = pd.DataFrame(_read_jsonl(self.path), columns=SUGGESTION_FIELDS)
        status = {}
        for d in _read_jsonl(self.log_path):
            status[(d.get("segment"), d.get("code"))] = d.get("decision")
        frame["status"] = [status.get((s, c), "pending") for s, c in zip(frame["segment"], frame["code"])]
        return frame

    def pending(self) -> pd.DataFrame:
        """The suggestions nobody has decided on yet."""
        frame = self.read()
        return frame[frame["status"] == "pending"].reset_index(drop=True)

    def decisions(self) -> pd.DataFrame:
        self.recover()
        return pd.DataFrame(_read_jsonl(self.log_path), columns=DECISION_FIELDS)

    def decided_pairs(self) -> set[tuple[str, str]]:
        """``(segment, code)`` pairs accepted or rejected: never proposed again."""
        self.recover()
        return {(d.get("segment"), d.get("code")) for d in _read_jsonl(self.log_path)}

    def _select(self, selection) -> list[dict]:
        """Suggestions named by a DataFrame of rows or by ``(segment, code[, origin])`` tuples."""
        if isinstance(selection, pd.DataFrame):
            wanted = [(s, c, o) for s, c, o in zip(selection["segment"], selection["code"], selection["origin"])]
        else:
            wanted = [tuple(x) + (None,) * (3 - len(x)) for x in selection]
        records = _read_jsonl(self.path)
        out = []
        for seg, code, origin in wanted:
            match = [r for r in records if r["segment"] == seg and r["code"] == code
                     and (origin is None or r["origin"] == origin)]
            if not match:
                raise UsageError(msg("sug.no_such_suggestion", code=code, segment=seg)
                                 + (msg("sug.from_origin", origin=origin) if origin else ""),
                                 self.path, hint=msg("sug.pick_pending_hint"))
            # prefer the best-scored one when rules and model agree on the pair
            out.append(max(match, key=lambda r: (r.get("score") or 0)))
        return out

    @staticmethod
    def _decision_lines(decision: str, records: list[dict], coder: str, reason: str) -> list[str]:
        at = now_iso()
        return [dumps_line({"decision": decision, "segment": r["segment"], "doc": r["doc"], "code": r["code"],
                            "origin": r["origin"], "coder": coder, "at": at, "reason": reason})
                for r in records]

    def _log(self, decision: str, records: list[dict], coder: str, reason: str) -> None:
        if not records:
            return
        lines = self._decision_lines(decision, records, coder, reason)
        with self._lock():
            self._recover_locked()
            write_lines(self.log_path, self._log_lines() + lines)

    def accept(self, selection, coder: str, corpus: Corpus, codings_folder: str | Path,
               span: str = "segment", codebook_version: str | None = None) -> int:
        """Turn suggestions into codings of ``coder`` (origin ``model-assisted``); return how many were written.

        Parameters
        ----------
        selection : DataFrame or list of (segment, code[, origin])
        coder : str
            A human coder id (its file ``<codings_folder>/<coder>.jsonl`` gets the codings).
        corpus : Corpus
            Used to check that the text has not changed since the suggestion.
        codings_folder : path
        span : {"segment", "match"}
            Code the whole segment (the coding unit, default) or only the
            matched span of a rule suggestion.
        codebook_version : str, optional
            Recorded in each coding (the codebook the coder works with).
        """
        check_coder_id(coder)
        if coder in MACHINE_CODERS:
            raise UsageError(msg("panel.machine_coder", coder=coder), hint=msg("sug.machine_coder_hint"))
        check_choice("span", span, ("segment", "match"))
        chosen = self._select(selection)
        decided = self.decided_pairs()
        segments = {s.id: s for s in corpus.segments}
        codings, done = [], []
        for r in chosen:
            if (r["segment"], r["code"]) in decided:
                continue
            seg = segments.get(r["segment"])
            body = corpus.documents[r["doc"]].body if r["doc"] in corpus.documents else None
            if seg is None or body is None or body[r["start"]:r["end"]] != r["quote"]:
                raise CodingsError(msg("sug.text_changed", code=r["code"], segment=r["segment"]),
                                   self.path, hint=msg("sug.text_changed_hint"))
            memo = msg("sug.memo_accepted_rule" if r["origin"] == "rule" else "sug.memo_accepted_model",
                       score=fr_number(r["score"], 2), memo=r["memo"])
            if r.get("model_version"):
                memo += f" ; modèle {r['model_version']}"
            # A coding accepted from a suggestion is not a blind human coding: reliability studies
            # must be able to tell it apart.
            kw = dict(memo=memo, origin=ASSISTED_ORIGIN, score=r.get("score"), codebook_version=codebook_version)
            if span == "match":
                codings.append(coding_record(seg, r["code"], coder, start=r["start"], end=r["end"], body=body, **kw))
            else:
                codings.append(coding_record(seg, r["code"], coder, **kw))
            done.append(r)
            decided.add((r["segment"], r["code"]))
        if not codings:
            return 0
        decisions = self._decision_lines("accepted", done, coder, "")
        intent = {"coder": coder, "codings_folder": str(Path(codings_folder).resolve()), "codings": codings,
                  "decisions": decisions}
        with self._lock():
            self._recover_locked()
            # write-ahead, then the coder's file, then the log (see the module's docstring)
            atomic_write(self.intent_path, json.dumps(intent, ensure_ascii=False))
            CodingStore(codings_folder).append(coder, codings)
            write_lines(self.log_path, self._log_lines() + decisions)
            self.intent_path.unlink()
            step("accept intent removed")
        return len(codings)

    def reject(self, selection, coder: str, reason: str = "") -> int:
        """Record that ``coder`` rejected these suggestions; they will not be proposed again."""
        check_coder_id(coder)
        chosen = self._select(selection)
        decided = self.decided_pairs()
        fresh = []
        for r in chosen:
            if (r["segment"], r["code"]) not in decided:
                fresh.append(r)
                decided.add((r["segment"], r["code"]))
        self._log("rejected", fresh, coder, reason)
        return len(fresh)


# --------------------------------------------------------------------------- input of `suggest --texts`

def read_texts(path: str | Path) -> list[tuple[object, str]]:
    """Read ``{"id": …, "text": …}`` lines; any bad line raises :class:`UsageError` naming it.

    Ids are strings or integers, unique; ``text`` is a string. Empty lines,
    invalid JSON, missing fields, duplicate ids and non-UTF-8 bytes are errors.

    Examples
    --------
    >>> read_texts("in.jsonl")                       # doctest: +SKIP
    [('a', 'Les habitants du quartier…'), ('b', '…')]
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(msg("texts.unreadable", error=exc.strerror), path) from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(msg("texts.not_utf8", byte=raw[exc.start]), path, raw[:exc.start].count(b"\n") + 1,
                         hint=msg("resave_utf8")) from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()           # the final newline does not make an empty line
    if not lines:
        raise UsageError(msg("texts.empty"), path, hint=msg("texts.empty_hint"))
    seen: dict[object, int] = {}
    out = []
    for lineno, line in enumerate(lines, start=1):
        line = line.rstrip("\r")
        if not line.strip():
            raise UsageError(msg("texts.empty_line"), path, lineno, hint=msg("texts.empty_line_hint"))
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(msg("not_json", error=fr_json_error(exc.msg)), path, lineno) from None
        if not isinstance(rec, dict):
            raise UsageError(msg("line_not_object"), path, lineno, hint=msg("texts.object_hint"))
        if "id" not in rec or rec["id"] is None or rec["id"] == "":
            raise UsageError(msg("texts.missing_id"), path, lineno, hint=msg("texts.missing_id_hint"))
        rid = rec["id"]
        if isinstance(rid, bool) or not isinstance(rid, (str, int)):
            raise UsageError(msg("texts.bad_id", type=type(rid).__name__), path, lineno)
        if rid in seen:
            raise UsageError(msg("texts.duplicate_id", id=repr(rid), line=seen[rid]), path, lineno,
                             hint=msg("texts.duplicate_id_hint"))
        seen[rid] = lineno
        if "text" not in rec:
            raise UsageError(msg("texts.missing_text"), path, lineno, hint=msg("texts.missing_text_hint"))
        if not isinstance(rec["text"], str):
            raise UsageError(msg("texts.bad_text", type=type(rec["text"]).__name__), path, lineno)
        out.append((rid, rec["text"]))
    return out


def score_texts(texts: Sequence[str], model, layer, unit: int = TEXT_UNIT) -> np.ndarray:
    """Scores of every model head for free texts (parsed through the NLP cache in units of ``unit`` texts).

    Pass the result to :func:`text_results`.
    """
    from analyse.coding.autocode import texts_lemmas

    lemmas = texts_lemmas(list(texts), layer, "texts", unit)
    return model._all_proba(pd.DataFrame({"text": list(texts), "lemmas": lemmas}))


def text_results(ids: Sequence, scores: np.ndarray, model) -> list[dict]:
    """``{"id", "codes", "scores", "confidence"}`` per input text.

    ``codes``: the codes above their precision threshold, empty when the model abstains (no code
    reliable enough, or « rien à coder »); ``scores``: the calibrated probability of every learned
    code; ``confidence``: the French word of each suggested code.
    """
    from analyse.coding.autocode import confidence_word

    classes = [str(c) for c in model.classes_]
    decided = model.decide(scores).astype(bool)
    calibrated = model.calibrate(scores[:, :len(classes)])
    rounded = np.round(calibrated, 4).tolist()
    out = []
    for rid, row_dec, row in zip(ids, decided.tolist(), rounded):
        codes = [c for c, d in zip(classes, row_dec) if d]
        probs = dict(zip(classes, row))
        out.append({"id": rid, "codes": codes, "scores": probs,
                    "confidence": {c: confidence_word(probs[c]) for c in codes}})
    return out
