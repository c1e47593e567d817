"""A coding panel for Jupyter: code one document segment by segment.

``coding_panel("le-mene-valeur", "B")`` returns an ipywidgets ``VBox``: the
current segment (speaker, role, text), navigation (previous, next, next
uncoded), the codebook as check boxes grouped by dimension with a search box
and the definition of the last code touched, one memo box per code of the
segment, the machine suggestions for the segment (accept / reject) and a
« document terminé » button that records the coder's coverage.

Every change is written at once to ``<codings>/<coder>.jsonl`` through
:class:`~analyse.model.codings.CodingStore` (atomic, locked); nothing is held in
the panel that is not already on disk. The state and the actions live in
:class:`CodingPanel`, whose methods (``toggle``, ``set_memo``, ``next_uncoded``,
``accept``, ``reject``, ``finish``) the widgets call, so the panel can be
driven and tested without a browser.
"""

from __future__ import annotations

import html
from pathlib import Path

from analyse.model.codebook import Codebook, load_codebook
from analyse.model.codings import VALENCES, CodingStore, check_coder_id, coding_record, coverage_record
from analyse.model.corpus import Corpus, Segment, load_corpus
from analyse.errors import AnalyseError, UsageError
from analyse.messages import msg
from analyse.textutil import fold, fr_number
from analyse.exchange.sheet import segment_of_record

ORIGIN_LABELS = {"rule": msg("panel.origin.rule"), "model": msg("panel.origin.model")}


class CodingPanel:
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
        suggestions for the document are shown as proposals.

    Examples
    --------
    >>> panel = CodingPanel("le-mene-valeur", "B", corpus="corpus",
    ...                     codebook="codebook/balises.yaml")          # doctest: +SKIP
    >>> panel.toggle("VAL.6")          # writes a coding of the current segment   # doctest: +SKIP
    >>> panel.next_uncoded()                                            # doctest: +SKIP
    """

    def __init__(self, doc_id: str, coder: str, corpus: Corpus | str | Path = "corpus",
                 codebook: Codebook | str | Path = "codebook/balises.yaml",
                 store: CodingStore | str | Path | None = None, suggestions=None):
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
        if suggestions is not None and not hasattr(suggestions, "pending"):
            from analyse.coding.suggestions import SuggestionFile
            suggestions = SuggestionFile(suggestions)
        self.suggestion_file = suggestions
        self.index = 0
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

    # ------------------------------------------------------------------ actions (each one writes)
    def toggle(self, code: str, on: bool | None = None) -> bool:
        """Put ``code`` on the current segment or take it off; return whether it is now on."""
        if code not in self.codebook:
            raise UsageError(msg("unknown_code", code=code), hint=msg("use_codebook_id"))
        present = code in self.codes()
        on = (not present) if on is None else on
        if on and not present:
            rec = coding_record(self.segment, code, self.coder, codebook_version=self.codebook.version)
            self.store.append(self.coder, [rec])
            self.records[self.segment.id].append(rec)
        elif not on and present:
            old = [r for r in self.records[self.segment.id] if r["code"] == code]
            self.store.replace(self.coder, old, [], origin="panel")
            self.records[self.segment.id] = [r for r in self.records[self.segment.id] if r["code"] != code]
        self.refresh()
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
        self.index = max(0, min(index, len(self.segments) - 1))
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
                self.index = i
                self.refresh()
                return self.segment
        return None

    def pending_suggestions(self) -> list[dict]:
        """Undecided suggestions for the current segment, minus codes already on it (best score first)."""
        if self.suggestion_file is None:
            return []
        frame = self.suggestion_file.pending()
        frame = frame[(frame["segment"] == self.segment.id) & ~frame["code"].isin(self.codes())]
        frame = frame.sort_values(["score", "code"], ascending=[False, True]).drop_duplicates("code")
        return frame.to_dict("records")

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

    # ------------------------------------------------------------------ widgets
    def widget(self):
        """Build the ipywidgets view (a ``VBox``) bound to this panel."""
        if getattr(self, "_box", None) is None:
            self._build()
        return self._box

    def _build(self) -> None:
        import ipywidgets as w

        self._syncing = False
        self.w = w
        self.header = w.HTML()
        self.text = w.HTML(layout=w.Layout(border="1px solid #ccc", padding="6px", max_height="24em",
                                           overflow="auto"))
        self.b_prev = w.Button(description=msg("panel.previous"), tooltip=msg("panel.previous_tip"))
        self.b_next = w.Button(description=msg("panel.next"), tooltip=msg("panel.next_tip"))
        self.b_uncoded = w.Button(description=msg("panel.next_uncoded"), tooltip=msg("panel.next_uncoded_tip"),
                                  layout=w.Layout(width="auto"))
        self.b_finish = w.Button(description=msg("panel.finish"), button_style="success",
                                 tooltip=msg("panel.finish_tip"), layout=w.Layout(width="auto"))
        self.b_prev.on_click(lambda _: self._safe(self.previous))
        self.b_next.on_click(lambda _: self._safe(self.next))
        self.b_uncoded.on_click(lambda _: self._safe(self._next_uncoded_clicked))
        self.b_finish.on_click(lambda _: self._safe(self.finish))
        self.search = w.Text(placeholder=msg("panel.search_placeholder"), description=msg("panel.search"),
                             continuous_update=True)
        self.search.observe(lambda ch: self.filter_codes(ch["new"]), names="value")
        self.definition = w.HTML(value=f"<i>{html.escape(msg('panel.definition_prompt'))}</i>")
        self.checkboxes: dict[str, object] = {}
        groups, titles = [], []
        for dim, label in self.codebook.dimensions.items():
            codes = [c for c in self.codebook.codes.values() if c.dimension == dim]
            if not codes:
                continue
            boxes = []
            for c in codes:
                depth = 0
                parent = c.parent
                while parent and parent in self.codebook.codes and depth < 4:
                    depth += 1
                    parent = self.codebook.codes[parent].parent
                cb = w.Checkbox(value=False, description=f"{c.id} — {c.label}", indent=False,
                                tooltip=c.definition,
                                layout=w.Layout(margin=f"0 0 0 {1.5 * depth}em", width="auto"))
                cb.observe(lambda ch, cid=c.id: self._box_changed(cid, ch["new"]), names="value")
                self.checkboxes[c.id] = cb
                boxes.append(cb)
            groups.append(w.VBox(boxes))
            titles.append(f"{dim} — {label}")
        self.tree = w.Accordion(children=groups, titles=tuple(titles))
        self.memos = w.VBox()
        self.suggestions = w.VBox()
        self.status = w.HTML()
        self._box = w.VBox([
            w.HTML(f"<h3>{html.escape(self.doc.title)}</h3><p>{html.escape(self.doc.id)} · "
                   f"{html.escape(self.doc.territory)} · {msg('panel.coder')} <b>{html.escape(self.coder)}</b></p>"),
            self.header, self.text,
            w.HBox([self.b_prev, self.b_next, self.b_uncoded, self.b_finish]),
            w.HTML(f"<b>{msg('panel.suggestions')}</b>"), self.suggestions,
            w.HTML(f"<b>{msg('panel.codes')}</b>"), self.search, self.tree, self.definition,
            w.HTML(f"<b>{msg('panel.memos')}</b>"), self.memos,
            self.status,
        ])
        self._box.panel = self
        self.refresh()

    def _safe(self, action) -> bool:
        """Run a widget's action; on failure show a French error and the state really on disk.

        A widget callback's exception would vanish into the browser log while
        the box stays ticked: the panel must never look « enregistré » when the
        write failed (lock held too long, no permission, disk full).
        """
        try:
            action()
            return True
        except Exception as exc:  # noqa: BLE001 - every failure must reach the user
            message = _failure_message(exc)
        try:
            self.reload()      # what is on disk now, whatever the failed write left
        except Exception:  # noqa: BLE001 - the file itself may be unreadable; keep the last known state
            pass
        self.refresh()         # put the check boxes and memos back as they are on disk
        if getattr(self, "status", None) is not None:
            self.status.value = (f"<span style='color:#b00'><b>Non enregistré.</b> {html.escape(message)}</span>")
        self.last_error = message
        return False

    def _next_uncoded_clicked(self) -> None:
        if self.next_uncoded() is None:
            raise UsageError(msg("panel.all_coded"))

    def _box_changed(self, code: str, value: bool) -> None:
        if self._syncing:
            return
        self.show_definition(code)
        self._safe(lambda: self.toggle(code, value))

    def show_definition(self, code: str) -> None:
        """Show a code's definition, inclusion and exclusion criteria in the definition area."""
        if getattr(self, "_box", None) is None:
            return
        c = self.codebook[code]
        parts = [f"<b>{html.escape(c.id)} — {html.escape(c.label)}</b> ({html.escape(c.kind)})",
                 f"<p>{html.escape(c.definition)}</p>"]
        if c.include:
            parts.append("<p><i>Inclure :</i> " + html.escape(" ; ".join(c.include)) + "</p>")
        if c.exclude:
            parts.append("<p><i>Exclure :</i> " + html.escape(" ; ".join(c.exclude)) + "</p>")
        self.definition.value = "".join(parts)

    def filter_codes(self, query: str) -> list[str]:
        """Show only the codes matching ``query`` (accents and case ignored); return their ids."""
        q = fold(query)
        shown = []
        for cid, cb in getattr(self, "checkboxes", {}).items():
            c = self.codebook[cid]
            hay = fold(" ".join([c.id, c.label, c.definition, " ".join(c.keywords)]))
            visible = not q or q in hay
            cb.layout.display = None if visible else "none"
            if visible:
                shown.append(cid)
        if q and shown and getattr(self, "tree", None) is not None:
            dims = [d for d in self.codebook.dimensions
                    if any(self.codebook[c].dimension == d for c in self.codebook.codes)]
            self.tree.selected_index = dims.index(self.codebook[shown[0]].dimension)
        return shown

    @staticmethod
    def _speaker_html(s: Segment) -> str:
        who = html.escape(s.speaker or "narration")
        if s.speaker_label:
            who += f" ({html.escape(s.speaker_label)})"
        role = f" · rôle : {html.escape(s.role)}" if s.role else ""
        return f"<b>{who}</b>{role}"

    def _context_html(self) -> str:
        """The current segment, framed by the segment before and the one after (greyed, for context)."""
        s = self.segment
        parts = []
        if self.index > 0:
            before = self.segments[self.index - 1]
            parts.append(f"<div class='balises-before' style='color:#777'><small>avant · "
                         f"{self._speaker_html(before)}</small><p style='white-space:pre-wrap;margin:2px 0'>"
                         f"{html.escape(before.text)}</p></div>")
        # where to find the passage in the recording, when the transcript has timecodes
        when = ""
        if s.start_time:
            span = s.start_time + (f"–{s.end_time}" if s.end_time else "")
            when = f" <span class='balises-time' style='color:#555'>⏱ {html.escape(msg('panel.timecode', span=span))}</span>"
        parts.append(f"<div class='balises-current' style='border-left:3px solid #1a6;padding-left:6px'>"
                     f"<p>{self._speaker_html(s)}{when}</p><p style='white-space:pre-wrap'>{html.escape(s.text)}</p></div>")
        if self.index + 1 < len(self.segments):
            after = self.segments[self.index + 1]
            parts.append(f"<div class='balises-after' style='color:#777'><small>après · "
                         f"{self._speaker_html(after)}</small><p style='white-space:pre-wrap;margin:2px 0'>"
                         f"{html.escape(after.text)}</p></div>")
        return "".join(parts)

    def refresh(self) -> None:
        """Bring the widgets in line with the state (the current segment and its codes)."""
        if getattr(self, "_box", None) is None:
            return
        w, s = self.w, self.segment
        ncoded = sum(1 for recs in self.records.values() if recs)
        self.header.value = (f"<b>{msg('panel.segment_of', n=self.index + 1, total=len(self.segments))}</b> · "
                             f"{html.escape(s.id)} · {msg('panel.coded_count', n=ncoded)}"
                             + (f" · <span style='color:#070'>{msg('panel.finished')}</span>" if self.covered else ""))
        self.text.value = self._context_html()
        present = set(self.codes())
        self._syncing = True
        try:
            for cid, cb in self.checkboxes.items():
                cb.value = cid in present
        finally:
            self._syncing = False
        memo_boxes = []
        for code in self.codes():
            box = w.Textarea(value=self.memo(code), description=code, placeholder=msg("panel.memo_placeholder"),
                             continuous_update=False, layout=w.Layout(width="95%"))
            box.observe(lambda ch, c=code: self._safe(lambda: self.set_memo(c, ch["new"])), names="value")
            memo_boxes.append(box)
        self.memos.children = memo_boxes or [w.HTML(f"<i>{html.escape(msg('panel.no_code'))}</i>")]
        rows = []
        for sug in self.pending_suggestions():
            code = sug["code"]
            label = self.codebook[code].label if code in self.codebook else ""
            info = w.HTML(f"{html.escape(code)} — {html.escape(label)} "
                          f"<small>({ORIGIN_LABELS.get(sug['origin'], sug['origin'])}, "
                          f"{msg('panel.score', score=fr_number(float(sug['score'] or 0), 2))})</small>")
            ok = w.Button(description=msg("panel.accept"), button_style="info", layout=w.Layout(width="auto"))
            no = w.Button(description=msg("panel.reject"), layout=w.Layout(width="auto"))
            ok.on_click(lambda _, c=code: self._safe(lambda: self.accept(c)))
            no.on_click(lambda _, c=code: self._safe(lambda: self.reject(c)))
            rows.append(w.HBox([ok, no, info]))
        self.suggestions.children = rows or [w.HTML(f"<i>{html.escape(msg('panel.no_suggestion'))}</i>")]
        self.status.value = f"<small>{html.escape(msg('panel.saved_in', path=self.store.path(self.coder)))}</small>"


def _failure_message(exc: Exception) -> str:
    """One French sentence for a failed panel action."""
    if isinstance(exc, AnalyseError):
        return msg("panel.error", error=exc)
    if isinstance(exc, PermissionError):
        return (f"Erreur : pas le droit d'écrire {exc.filename or 'le fichier des codages'} : "
                "vérifier les droits du dossier des codages.")
    if isinstance(exc, OSError) and exc.errno == 28:
        return "Erreur : le disque est plein : libérer de la place puis recommencer."
    if isinstance(exc, OSError):
        return f"Erreur d'écriture : {exc.strerror or exc} : recommencer, ou vérifier le dossier des codages."
    return f"Erreur inattendue ({type(exc).__name__}) : {exc} : rien n'a été enregistré."


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
