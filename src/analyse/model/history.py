"""What happened to the codings of a segment, a code, a document or a coder: the coder logs, read back.

Every coder file is an event log (see :mod:`analyse.model.codings`): a coding
added, removed, its memo or valence changed, a reconciliation decision (with
the rejected codes), a document marked done. :func:`history` turns the lines
of the logs that concern a target into one table, oldest first, in French.
"""

from __future__ import annotations

import pandas as pd

from analyse.errors import UsageError
from analyse.messages import msg
from analyse.model.codebook import Codebook
from analyse.model.codings import EVENT_ORIGINS, VALENCES, CodingStore, segment_for
from analyse.model.corpus import Corpus

COLUMNS = ["at", "coder", "by", "what", "code", "segment", "origin", "reason", "line"]


def _what(rec: dict) -> str:
    kind = rec.get("type")
    if kind is None:
        return msg("hist.added")
    if kind == "coverage":
        return msg("hist.coverage")
    if kind == "removed":
        return msg("hist.removed")
    if kind == "memo":
        return msg("hist.memo", memo=_short(rec.get("memo") or ""))
    if kind == "valence":
        return msg("hist.valence", valence=rec.get("valence") or VALENCES[0])
    if kind == "decision":
        coders = ", ".join(c for c, on in (rec.get("coders") or {}).items() if on) or "—"
        return msg("hist.decision_yes" if rec.get("decision") == "oui" else "hist.decision_no", coders=coders)
    return str(kind)


def _origin(rec: dict) -> str:
    if rec.get("type") in (None, "coverage"):
        via = rec.get("via")
        base = rec.get("origin") or ""
        return f"{base} ({EVENT_ORIGINS.get(via, via)})" if via else base
    return EVENT_ORIGINS.get(rec.get("origin"), str(rec.get("origin") or ""))


def _short(text: str, width: int = 60) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def history(store: CodingStore, target: str, corpus: Corpus | None = None, codebook: Codebook | None = None,
            coders: list[str] | None = None) -> pd.DataFrame:
    """The log lines about ``target``: a coder id, a segment id (``doc#n``), a document id or a code id.

    Columns: ``at`` (when), ``coder`` and ``by`` (who), ``what``, ``code``,
    ``segment``, ``origin``, ``reason`` and ``line`` (in the coder's file);
    oldest first. A code takes in its sub-codes when the codebook is given.
    ``attrs["kind"]`` says what the target was taken for.

    Examples
    --------
    >>> history(CodingStore("corpus/codings"), "le-mene-valeur#4", corpus)   # doctest: +SKIP
    """
    available = store.coders()
    segments = {s.id: s for s in corpus.segments} if corpus is not None else {}
    by_doc: dict[str, list] = {}
    for s in segments.values():
        by_doc.setdefault(s.doc, []).append(s)
    if target in available:
        kind, wanted_coders = "coder", [target]
    elif target in segments:
        kind, wanted_coders = "segment", available
    elif corpus is not None and target in corpus.documents:
        kind, wanted_coders = "document", available
    elif (codebook is not None and target in codebook) or any(
            rec.get("code") == target for c in available for _, rec in store.history(c)):
        kind, wanted_coders = "code", available       # a retired or renamed code keeps its history
    else:
        raise UsageError(msg("hist.unknown_target", target=target),
                         hint=msg("hist.unknown_target_hint", coders=", ".join(available) or msg("none")))
    if coders:
        wanted_coders = [c for c in wanted_coders if c in coders]
    codes = {target}
    todo = [target] if kind == "code" and codebook is not None and target in codebook else []
    while todo:
        for child in codebook.children(todo.pop()):
            if child.id not in codes:
                codes.add(child.id)
                todo.append(child.id)
    rows = []
    for coder in wanted_coders:
        for lineno, rec in store.history(coder):
            doc, start, end = rec.get("doc"), rec.get("start"), rec.get("end")
            seg = None
            if isinstance(start, int) and isinstance(end, int):
                seg = segment_for(by_doc.get(doc, []), start, end)
            if kind == "segment" and (seg is None or seg.id != target):
                continue
            if kind == "document" and doc != target:
                continue
            if kind == "code" and rec.get("code") not in codes:
                continue
            rows.append({"at": str(rec.get("at") or ""), "coder": coder, "by": str(rec.get("by") or ""),
                         "what": _what(rec), "code": rec.get("code") or "",
                         "segment": seg.id if seg is not None else (doc or ""),
                         "origin": _origin(rec), "reason": str(rec.get("reason") or ""), "line": lineno})
    table = pd.DataFrame(rows, columns=COLUMNS)
    table = table.sort_values(["at", "coder", "line"], kind="stable").reset_index(drop=True)
    table.attrs["kind"] = kind
    return table


def french_table(table: pd.DataFrame) -> pd.DataFrame:
    """The history with French column names (quand, qui, quoi, code, segment, origine, raison)."""
    who = [f"{c} ({b})" if b else c for c, b in zip(table["coder"], table["by"])]
    return pd.DataFrame({
        msg("hist.col.when"): [a.replace("T", " ")[:16] for a in table["at"]],
        msg("hist.col.who"): who,
        msg("hist.col.what"): table["what"],
        msg("hist.col.code"): table["code"],
        msg("hist.col.segment"): table["segment"],
        msg("hist.col.origin"): table["origin"],
        msg("hist.col.reason"): [_short(r, 50) for r in table["reason"]],
    })
