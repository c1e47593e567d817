"""A coding panel for Jupyter: code one document segment by segment, or a passage within a segment.

``coding_panel("le-mene-valeur", "B")`` returns an ipywidgets ``VBox``. On the
left, the current segment framed by the one before and the one after
(:class:`~analyse.ui.segment_view.SegmentView`, where the coder selects a
passage with the mouse; the sentences of the segment are also numbered buttons,
the keyboard-friendly way to pick a passage), the navigation (previous, next,
next uncoded), the passages coded in the segment, one memo box per code, the
machine suggestions when the coder asks for them, and the coding stripes of the
document. On the right, the codebook as a tree (dimension → balise →
sub-codes) with a search box, each code's definition on hover.

Keys (outside text fields; with Alt anywhere): → or j next segment, ← or k
previous, u next uncoded, 1–9 tick the n-th code shown (the codes matching the
search, or those of the open dimension), s ask for suggestions, Échap clear the
selection. With a passage selected, ticking a code codes the passage.

Every change is written at once to ``<codings>/<coder>.jsonl`` through
:class:`~analyse.model.codings.CodingStore` (atomic, locked); nothing is held in
the panel that is not already on disk. The state and the actions live in
:class:`CodingPanel`, whose methods (``toggle``, ``select``, ``set_memo``,
``next_uncoded``, ``handle_key``, ``ask_suggestions``, ``accept``, ``reject``,
``finish``) the widgets call, so the panel can be driven and tested without a
browser.
"""

from __future__ import annotations

import functools
import html
from pathlib import Path

import pandas as pd

from analyse.model.codebook import Codebook, load_codebook
from analyse.model.codings import VALENCES, CodingStore, check_coder_id, coding_record, coverage_record
from analyse.model.corpus import Corpus, Segment, load_corpus
from analyse.errors import AnalyseError, UsageError
from analyse.messages import msg
from analyse.exchange.sheet import segment_of_record
from analyse.ui.panel_widgets import PanelWidgets


@functools.lru_cache(maxsize=1)
def _sentencizer():
    """spaCy's rule-based sentence splitter (no model to load: punctuation rules).

    The multi-language tokenizer (``xx``) rather than the French one: sentence edges come out the
    same (« M. », « … », « ? » included), and it builds in 0.15 s where the French tokenizer's
    elision rules take seconds to compile, paid at the first panel opened in a kernel.
    """
    import spacy

    nlp = spacy.blank("xx")
    nlp.add_pipe("sentencizer")
    return nlp


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence of ``text`` (offsets into ``text``, trailing spaces left out).

    >>> sentence_spans("On commence. Et là, le jardin !")
    [(0, 12), (13, 31)]
    """
    spans = []
    for sent in _sentencizer()(text).sents:
        start, end = sent.start_char, sent.end_char
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            spans.append((start, end))
    return spans


class CodingPanel(PanelWidgets):
    """State and actions of the coding panel for one document and one coder.

    Parameters
    ----------
    doc_id : str
    coder : str
        A human coder id; its file receives the codings.
    corpus : Corpus or path
    codebook : Codebook or path
    store : CodingStore or path, optional
        Defaults to ``<corpus root>/codings``.
    suggestions : SuggestionFile or path, optional
        A suggestions file written by ``analyse suggest``; its pending
        suggestions for a segment are shown when the coder asks for them.
    blind : bool
        A blind coder (reliability study) never gets suggestions: the file is
        not even read.

    Examples
    --------
    >>> panel = CodingPanel("le-mene-valeur", "B", corpus="corpus",
    ...                     codebook="codebook/balises.yaml")          # doctest: +SKIP
    >>> panel.toggle("VAL.6")          # writes a coding of the current segment   # doctest: +SKIP
    >>> panel.toggle("VAL.1", span=(0, 42))   # a coding of its first 42 characters  # doctest: +SKIP
    >>> panel.next_uncoded()                                            # doctest: +SKIP
    """

    def __init__(self, doc_id: str, coder: str, corpus: Corpus | str | Path = "corpus",
                 codebook: Codebook | str | Path = "codebook/balises.yaml",
                 store: CodingStore | str | Path | None = None, suggestions=None, blind: bool = False):
        self.coder = check_coder_id(coder)
        if coder in ("rule", "model"):
            raise UsageError(msg("panel.machine_coder", coder=coder), hint=msg("panel.machine_coder_hint"))
        self.corpus = corpus if isinstance(corpus, Corpus) else load_corpus(corpus)
        self.codebook = codebook if isinstance(codebook, Codebook) else load_codebook(codebook)
        if store is None:
            store = Path(self.corpus.root) / "codings"
        self.store = store if isinstance(store, CodingStore) else CodingStore(store)
        if doc_id not in self.corpus.documents:
            raise UsageError(msg("unknown_document", doc=doc_id),
                             hint=msg("panel.documents_hint", docs=", ".join(sorted(self.corpus.documents)[:6])))
        self.doc = self.corpus.documents[doc_id]
        self.segments: list[Segment] = self.corpus.segments_of(doc_id)
        if not self.segments:
            raise UsageError(msg("panel.no_segment", doc=doc_id))
        self.blind = bool(blind)
        if self.blind:
            suggestions = None
        if suggestions is not None and not hasattr(suggestions, "pending"):
            from analyse.coding.suggestions import SuggestionFile
            suggestions = SuggestionFile(suggestions)
        self.suggestion_file = suggestions
        self.index = 0
        self.selection: tuple[int, int] | None = None   # a passage of the current segment (its text's offsets)
        self.asked_suggestions: str | None = None       # the segment whose suggestions the coder asked for
        self.reload()

    # ------------------------------------------------------------------ state read from disk
    def reload(self) -> None:
        """Read the coder's records of this document again (``self.records``: segment id -> records)."""
        self.records: dict[str, list[dict]] = {s.id: [] for s in self.segments}
        self.covered = False
        for rec in self.store.records(self.coder):
            if rec.get("doc") != self.doc.id:
                continue
            if rec.get("type") == "coverage":
                self.covered = True
                continue
            seg = segment_of_record(rec, self.corpus)
            if seg is not None:
                self.records[seg.id].append(rec)

    @property
    def segment(self) -> Segment:
        return self.segments[self.index]

    def codes(self, segment: Segment | None = None) -> list[str]:
        """Codes of a segment (default: the current one), in codebook order."""
        seg = segment or self.segment
        present = {r["code"] for r in self.records[seg.id]}
        return [c for c in self.codebook.codes if c in present] + sorted(present - set(self.codebook.codes))

    def memo(self, code: str, segment: Segment | None = None) -> str:
        recs = [r for r in self.records[(segment or self.segment).id] if r["code"] == code]
        return recs[0].get("memo") or "" if recs else ""

    def _relative(self, rec: dict, seg: Segment) -> tuple[int, int]:
        """A record's offsets in its segment's text (found again by its quote when the text moved)."""
        start, end = rec["start"], rec["end"]
        if self.doc.body[start:end] != rec.get("quote"):
            found = seg.text.find(rec.get("quote") or "\0")
            if found >= 0:
                return found, found + len(rec["quote"])
        return max(0, start - seg.start), min(len(seg.text), end - seg.start)

    def passages(self, segment: Segment | None = None) -> list[dict]:
        """The codings of a segment that cover only a passage of it.

        Each is ``{"code", "start", "end", "quote", "record"}`` with ``start``/``end`` offsets into
        the segment's text, sorted by position.
        """
        seg = segment or self.segment
        out = []
        for rec in self.records[seg.id]:
            start, end = self._relative(rec, seg)
            if start > 0 or end < len(seg.text):
                out.append({"code": rec["code"], "start": start, "end": end, "quote": rec.get("quote", ""),
                            "record": rec})
        return sorted(out, key=lambda p: (p["start"], p["end"], p["code"]))

    def sentences(self, segment: Segment | None = None) -> list[tuple[int, int]]:
        """``(start, end)`` of each sentence of a segment, offsets into its text."""
        return sentence_spans((segment or self.segment).text)

    # ------------------------------------------------------------------ selection of a passage
    def _check_span(self, span) -> tuple[int, int] | None:
        """A span of the current segment's text, its edges' spaces trimmed; None when it is the whole segment."""
        text = self.segment.text
        try:
            start, end = (int(v) for v in span)
        except (TypeError, ValueError):
            raise UsageError(msg("panel.bad_span", span=span), hint=msg("panel.bad_span_hint", n=len(text))) from None
        if not 0 <= start < end <= len(text):
            raise UsageError(msg("panel.bad_span", span=span), hint=msg("panel.bad_span_hint", n=len(text)))
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start == end:
            raise UsageError(msg("panel.empty_span"), hint=msg("panel.bad_span_hint", n=len(text)))
        if start == 0 and end == len(text):
            return None
        return start, end

    def select(self, start: int | None, end: int | None = None) -> tuple[int, int] | None:
        """Select a passage of the current segment (offsets into its text); ``select(None)`` clears it.

        The next code ticked codes the passage rather than the whole segment. A selection of the
        whole segment (spaces aside) is no selection.
        """
        self.selection = None if start is None else self._check_span((start, end))
        self._show_selection()
        return self.selection

    def select_sentences(self, numbers) -> tuple[int, int] | None:
        """Select the sentences ``numbers`` (1-based) of the current segment: from the first to the last."""
        spans = self.sentences()
        numbers = sorted({int(n) for n in numbers})
        if not numbers:
            return self.select(None)
        if numbers[0] < 1 or numbers[-1] > len(spans):
            raise UsageError(msg("panel.bad_sentence", n=numbers[-1] if numbers[-1] > len(spans) else numbers[0]),
                             hint=msg("panel.sentences_hint", total=len(spans)))
        return self.select(spans[numbers[0] - 1][0], spans[numbers[-1] - 1][1])

    # ------------------------------------------------------------------ actions (each one writes)
    def toggle(self, code: str, on: bool | None = None, span: tuple[int, int] | None = None) -> bool:
        """Put ``code`` on the current segment, or on a passage of it, or take it off; return whether it is on.

        Parameters
        ----------
        code : str
        on : bool, optional
            Force on or off; by default the code is switched.
        span : (int, int), optional
            ``(start, end)`` offsets into the segment's text: the coding records that passage's
            offsets in the document and its quote (spaces at its edges left out). Without it the
            whole segment is coded, and taking the code off removes every coding of it on the
            segment, passages included; with it, only that passage's coding is switched.
        """
        if code not in self.codebook:
            raise UsageError(msg("unknown_code", code=code), hint=msg("use_codebook_id"))
        seg = self.segment
        span = None if span is None else self._check_span(span)
        if span is None:
            present = [r for r in self.records[seg.id] if r["code"] == code]
        else:
            present = [r for r in self.records[seg.id] if r["code"] == code and self._relative(r, seg) == span]
        on = (not present) if on is None else on
        if on and not present:
            extra = {} if span is None else {"start": seg.start + span[0], "end": seg.start + span[1],
                                             "body": self.doc.body}
            rec = coding_record(seg, code, self.coder, codebook_version=self.codebook.version, **extra)
            self.store.append(self.coder, [rec])
            self.records[seg.id].append(rec)
        elif not on and present:
            self.store.replace(self.coder, present, [], origin="panel")
            gone = {id(r) for r in present}
            self.records[seg.id] = [r for r in self.records[seg.id] if id(r) not in gone]
        self.refresh()
        return on

    def code_selection(self, code: str, on: bool | None = None) -> bool:
        """Switch ``code`` on the selected passage (the whole segment when nothing is selected), then clear it."""
        span = self.selection
        on = self.toggle(code, on, span=span)
        self.selection = None
        self._show_selection()
        return on

    def set_memo(self, code: str, memo: str) -> None:
        """Save the memo of the coding ``code`` of the current segment."""
        old = [r for r in self.records[self.segment.id] if r["code"] == code]
        if not old:
            raise UsageError(msg("panel.code_not_on_segment", code=code, segment=self.segment.id),
                             hint=msg("panel.code_not_on_segment_hint"))
        new = [dict(r, memo=memo) for r in old]
        self.store.replace(self.coder, old, new, origin="panel")
        self.records[self.segment.id] = [r for r in self.records[self.segment.id] if r["code"] != code] + new
        self.refresh()

    def valence(self, code: str, segment: Segment | None = None) -> str:
        """Valence of the coding ``code`` of a segment (*à l'œuvre* when not said)."""
        recs = [r for r in self.records[(segment or self.segment).id] if r["code"] == code]
        return (recs[0].get("valence") or VALENCES[0]) if recs else VALENCES[0]

    def set_valence(self, code: str, valence: str) -> None:
        """Say whether the balise ``code`` is at work, failing or contested in the current segment."""
        if valence not in VALENCES:
            raise UsageError(f"valence inconnue « {valence} »", hint="valences : " + ", ".join(VALENCES))
        old = [r for r in self.records[self.segment.id] if r["code"] == code]
        if not old:
            raise UsageError(f"le code « {code} » n'est pas posé sur le segment {self.segment.id}",
                             hint="cocher le code avant de dire sa valence")
        new = [{**{k: v for k, v in r.items() if k != "valence"},
                **({"valence": valence} if valence != VALENCES[0] else {})} for r in old]
        self.store.replace(self.coder, old, new, origin="panel")
        self.records[self.segment.id] = [r for r in self.records[self.segment.id] if r["code"] != code] + new
        self.refresh()

    def go(self, index: int) -> Segment:
        index = max(0, min(index, len(self.segments) - 1))
        if index != self.index:
            self.selection = None
            self.asked_suggestions = None      # suggestions are shown only for the segment they were asked for
        self.index = index
        self.refresh()
        return self.segment

    def previous(self) -> Segment:
        return self.go(self.index - 1)

    def next(self) -> Segment:
        return self.go(self.index + 1)

    def next_uncoded(self) -> Segment | None:
        """Move to the next segment without any code (wrapping to the start); None if all are coded."""
        n = len(self.segments)
        for step in range(1, n + 1):
            i = (self.index + step) % n
            if not self.records[self.segments[i].id]:
                return self.go(i)
        return None

    def next_most_useful(self, model=None, layer=None) -> Segment | None:
        """« Le plus utile » : go to the uncoded segment the model is least sure of (:mod:`analyse.coding.active`).

        ``model`` defaults to the project's trained one. None when all have a code or the document is finished.
        """
        from analyse.coding.active import project_layer, project_model, rank_uncoded

        coded = {sid for sid, recs in self.records.items() if recs}
        if self.covered or len(coded) == len(self.segments):
            return None
        model = model or getattr(self, "_model", None) or project_model(self.corpus, self.codebook)
        self._model = model
        self._layer = layer = layer or getattr(self, "_layer", None) or project_layer(self.corpus)
        first = rank_uncoded(self.segments, model, layer, coded)["segment"].iloc[0]
        return self.go(next(i for i, s in enumerate(self.segments) if s.id == first))

    def pending_suggestions(self) -> list[dict]:
        """Undecided suggestions for the current segment, minus codes already on it (best score first)."""
        if self.suggestion_file is None:
            return []
        frame = self.suggestion_file.pending()
        frame = frame[(frame["segment"] == self.segment.id) & ~frame["code"].isin(self.codes())]
        frame = frame.sort_values(["score", "code"], ascending=[False, True]).drop_duplicates("code")
        return frame.to_dict("records")

    def ask_suggestions(self) -> list[dict]:
        """The coder asks for the suggestions of the current segment: they are shown (never to a blind coder)."""
        if self.blind:
            raise UsageError(msg("panel.blind_no_suggestion"), hint=msg("panel.blind_hint"))
        if self.suggestion_file is None:
            raise UsageError(msg("panel.no_suggestion_file"), hint=msg("panel.no_suggestion_file_hint"))
        self.asked_suggestions = self.segment.id
        self.refresh()
        return self.pending_suggestions()

    def accept(self, code: str) -> None:
        """Accept the suggestion ``code`` of the current segment: a human coding is written."""
        self.suggestion_file.accept([(self.segment.id, code)], self.coder, self.corpus, self.store.folder,
                                    codebook_version=self.codebook.version)
        self.reload()
        self.refresh()

    def reject(self, code: str, reason: str = "") -> None:
        """Reject the suggestion ``code`` of the current segment (logged, never proposed again)."""
        self.suggestion_file.reject([(self.segment.id, code)], self.coder, reason)
        self.refresh()

    def finish(self) -> None:
        """Record that the coder has coded the whole document (uncoded segments: no code applies)."""
        self.store.append(self.coder, [coverage_record(self.doc.id, self.coder)])
        self.covered = True
        self.refresh()

    def stripes(self) -> pd.DataFrame:
        """The coding stripes of the document for this coder (see :func:`analyse.ui.stripes.coding_stripes`)."""
        from analyse.ui.stripes import coding_stripes

        rows = [{"segment": sid, "code": r["code"], "start": r["start"], "end": r["end"]}
                for sid, recs in self.records.items() for r in recs]
        frame = pd.DataFrame(rows, columns=["segment", "code", "start", "end"])
        return coding_stripes(frame, self.segments, self.codebook)

    # ------------------------------------------------------------------ keyboard
    def visible_codes(self) -> list[str]:
        """The codes the keys 1–9 tick: those matching the search, else those of the open dimension."""
        query = getattr(self, "search", None)
        if query is not None and query.value.strip():
            return self.filter_codes(query.value, show=False)
        tree = getattr(self, "tree", None)
        if tree is None or tree.selected_index is None:
            return []
        dim = self._tree_dims[tree.selected_index]
        return [c.id for d, rows in self._tree for c, _ in rows if d == dim]

    def handle_key(self, key: str, alt: bool = False) -> str | None:
        """Do what a key pressed in the panel asks (see the module docstring); return the action's name."""
        if key in ("ArrowRight", "j"):
            self.next()
            return "next"
        if key in ("ArrowLeft", "k"):
            self.previous()
            return "previous"
        if key == "u":
            self._next_uncoded_clicked()
            return "next_uncoded"
        if key == "s":
            self.ask_suggestions()
            return "suggestions"
        if key == "Escape":
            self.select(None)
            return "clear_selection"
        if key.isdigit() and key != "0":
            visible = self.visible_codes()
            n = int(key)
            if n > len(visible):
                raise UsageError(msg("panel.no_nth_code", n=n), hint=msg("panel.no_nth_code_hint"))
            self.code_selection(visible[n - 1])
            return f"toggle:{visible[n - 1]}"
        return None

def coding_panel(doc_id: str, coder: str, corpus: Corpus | str | Path = "corpus",
                 codebook: Codebook | str | Path = "codebook/balises.yaml",
                 store: CodingStore | str | Path | None = None, suggestions=None):
    """The coding panel widget (an ipywidgets ``VBox``) for one document and one coder.

    The :class:`CodingPanel` behind it is ``widget.panel``.

    Examples
    --------
    >>> coding_panel("le-mene-valeur", "B", corpus="../corpus",
    ...              codebook="../codebook/balises.yaml")        # doctest: +SKIP
    """
    return CodingPanel(doc_id, coder, corpus=corpus, codebook=codebook, store=store,
                       suggestions=suggestions).widget()


def project_inputs(corpus, codebook, store) -> tuple[Corpus, Codebook, CodingStore]:
    """Corpus, codebook and coding store from objects or paths (the store defaults to <corpus>/codings)."""
    corpus = corpus if isinstance(corpus, Corpus) else load_corpus(corpus)
    codebook = codebook if isinstance(codebook, Codebook) else load_codebook(codebook)
    store = Path(corpus.root) / "codings" if store is None else store
    return corpus, codebook, store if isinstance(store, CodingStore) else CodingStore(store)


class PanelChooser:
    """Choose the document and the coder in the notebook before anything is written.

    A drop-down of the corpus's documents, a drop-down of the coders who already have a file (or
    « nouveau codeur… ») and a text box for a new coder id; « Ouvrir » opens the
    :class:`CodingPanel` below. No coder is preselected: nothing can be written to a real coder's
    file by running the notebook as it is.

    Examples
    --------
    >>> chooser = PanelChooser(corpus="../corpus", codebook="../codebook/balises.yaml")   # doctest: +SKIP
    >>> chooser.widget()                                                                 # doctest: +SKIP
    """

    NEW = "— nouveau codeur —"

    def __init__(self, corpus: Corpus | str | Path = "corpus", codebook: Codebook | str | Path = "codebook/balises.yaml",
                 store: CodingStore | str | Path | None = None, suggestions=None):
        self.corpus, self.codebook, self.store = project_inputs(corpus, codebook, store)
        self.suggestions = suggestions
        self.panel: CodingPanel | None = None
        self._widget = None

    def documents(self) -> list[tuple[str, str]]:
        """``(label, doc id)`` of every document, sorted by territory then id."""
        docs = sorted(self.corpus.documents.values(), key=lambda d: (d.territory, d.id))
        return [(f"{d.territory} — {d.id} — {d.title}", d.id) for d in docs]

    def coders(self) -> list[str]:
        return [c for c in self.store.coders() if c not in ("rule", "model")]

    def open(self, doc_id: str | None, coder: str | None) -> CodingPanel:
        """The panel for ``doc_id`` and ``coder``; both must be chosen (a one-line French error otherwise)."""
        if not doc_id:
            raise UsageError("choisir un document avant d'ouvrir le panneau")
        if not coder or not str(coder).strip():
            raise UsageError("saisir l'identifiant du codeur avant de coder",
                             hint="par exemple vos initiales ; chaque codeur écrit dans son propre fichier")
        self.panel = CodingPanel(doc_id, str(coder).strip(), corpus=self.corpus, codebook=self.codebook,
                                 store=self.store, suggestions=self.suggestions)
        return self.panel

    def widget(self):
        import ipywidgets as w

        doc = w.Dropdown(options=[("— choisir un document —", None), *self.documents()], value=None,
                         description="Document", layout=w.Layout(width="95%"))
        known = w.Dropdown(options=[("— choisir —", None), *[(c, c) for c in self.coders()], (self.NEW, self.NEW)],
                           value=None, description="Codeur")
        new = w.Text(placeholder="identifiant du nouveau codeur", description="Nouveau")
        button = w.Button(description="Ouvrir", button_style="primary")
        message = w.HTML()
        area = w.Output()

        def clicked(_):
            coder = new.value if known.value == self.NEW else known.value
            try:
                panel = self.open(doc.value, coder)
            except AnalyseError as exc:
                message.value = f"<span style='color:#a00'>{html.escape(str(exc))}</span>"
                return
            message.value = ""
            area.clear_output()
            with area:
                from IPython.display import display
                display(panel.widget())

        button.on_click(clicked)
        self._widget = w.VBox([doc, w.HBox([known, new, button]), message, area])
        return self._widget
