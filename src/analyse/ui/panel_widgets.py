"""The widgets of the coding panel (ipywidgets, and the anywidget text view), kept apart from its state.

:class:`PanelWidgets` is mixed into :class:`analyse.ui.panel.CodingPanel`: the panel's
actions (``toggle``, ``select``, ``next``…) live there and call :meth:`refresh`; the
widgets built here call the actions back, each through :meth:`_safe`, so that a failed
write is shown in French and the widgets go back to what is on disk.
"""

from __future__ import annotations

import html

from analyse.errors import AnalyseError, UsageError
from analyse.messages import msg
from analyse.model.codings import VALENCES
from analyse.model.codebook import Code, Codebook
from analyse.model.corpus import Segment
from analyse.textutil import fold, fr_number

ORIGIN_LABELS = {"rule": msg("panel.origin.rule"), "model": msg("panel.origin.model")}
# keys the browser passes on to the panel (see CodingPanel.handle_key)
KEYS = ("ArrowRight", "ArrowLeft", "j", "k", "u", "s", "Escape", *"123456789")
SPAN_COLOR = "#ffe58a"


def codebook_tree(codebook: Codebook) -> list[tuple[str, list[tuple[Code, int]]]]:
    """The codebook as a tree: ``[(dimension, [(code, depth), …]), …]``, each code followed by its sub-codes.

    A code whose parent is missing or in another dimension is a root of its own dimension.
    """
    out = []
    for dim in codebook.dimensions:
        codes = [c for c in codebook.codes.values() if c.dimension == dim]
        if not codes:
            continue
        ids = {c.id for c in codes}
        rows: list[tuple[Code, int]] = []

        def walk(code: Code, depth: int) -> None:
            rows.append((code, depth))
            for child in codes:
                if child.parent == code.id and depth < 6:
                    walk(child, depth + 1)

        for c in codes:
            if c.parent not in ids:
                walk(c, 0)
        seen = {c.id for c, _ in rows}
        rows += [(c, 0) for c in codes if c.id not in seen]   # a parent cycle: still listed, never lost
        out.append((dim, rows))
    return out


def code_title(code: Code) -> str:
    """What hovering a code shows: label, definition, inclusion and exclusion criteria (plain text)."""
    lines = [f"{code.id} — {code.label}", code.definition]
    if code.include:
        lines.append(msg("panel.include", items=" ; ".join(code.include)))
    if code.exclude:
        lines.append(msg("panel.exclude", items=" ; ".join(code.exclude)))
    return "\n".join(line for line in lines if line)


class PanelWidgets:
    """The panel's widgets; mixed into :class:`~analyse.ui.panel.CodingPanel` (see the module docstring)."""

    # ------------------------------------------------------------------ widgets
    def widget(self):
        """Build the ipywidgets view (a ``VBox``) bound to this panel."""
        if getattr(self, "_box", None) is None:
            self._build()
        return self._box

    def _build(self) -> None:
        import ipywidgets as w
        from analyse.ui.segment_view import SegmentView, StripeView

        self._syncing = False
        self.w = w
        self.header = w.HTML()
        self.text = SegmentView(shortcut_keys=list(KEYS), layout=w.Layout(border="1px solid #ccc", padding="6px",
                                                                 max_height="28em", overflow="auto"))
        self.text.observe(lambda ch: self._view_selected(ch["new"]), names="selection")
        self.text.on_msg(self._view_message)
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
        self.b_suggest = w.Button(description=msg("panel.ask_suggestions"), tooltip=msg("panel.ask_suggestions_tip"),
                                  icon="lightbulb-o", layout=w.Layout(width="auto",
                                                                      display="none" if self.blind else None))
        self.b_suggest.on_click(lambda _: self._safe(self.ask_suggestions))
        # « Le plus utile » (active learning, analyse.coding.active): the uncoded segment the model is least sure of.
        self.b_useful = w.Button(description=msg("panel.next_useful"), tooltip=msg("panel.next_useful_tip"),
                                 layout=w.Layout(width="auto"))
        self.b_useful.on_click(lambda _: self._safe(self._next_useful_clicked))
        self.tools = w.HBox([self.b_suggest, self.b_useful])
        # selecting a passage: the mouse in the text above, or the sentences' numbered buttons
        self.selection_info = w.HTML()
        self.sentence_buttons = w.HBox()
        self.b_clear = w.Button(description=msg("panel.clear_selection"), layout=w.Layout(width="auto"))
        self.b_clear.on_click(lambda _: self._safe(lambda: self.select(None)))
        self.passage_list = w.VBox()
        self.search = w.Text(placeholder=msg("panel.search_placeholder"), description=msg("panel.search"),
                             continuous_update=True, layout=w.Layout(width="98%"))
        self.search.observe(lambda ch: self._filter_changed(ch["new"]), names="value")
        self.definition = w.HTML(value=f"<i>{html.escape(msg('panel.definition_prompt'))}</i>")
        self.checkboxes: dict[str, object] = {}
        self._tree = codebook_tree(self.codebook)
        self._tree_dims = [dim for dim, _ in self._tree]
        groups, titles = [], []
        for dim, rows in self._tree:
            boxes = []
            for c, depth in rows:
                cb = w.Checkbox(value=False, description=f"{c.id} — {c.label}", indent=False,
                                tooltip=code_title(c),
                                layout=w.Layout(margin=f"0 0 0 {1.5 * depth}em", width="auto"))
                cb.observe(lambda ch, cid=c.id: self._box_changed(cid, ch["new"]), names="value")
                self.checkboxes[c.id] = cb
                boxes.append(cb)
            groups.append(w.VBox(boxes))
            titles.append(f"{dim} — {self.codebook.dimensions.get(dim, dim)}")
        self.tree = w.Accordion(children=groups, titles=tuple(titles))
        self.tree.observe(lambda ch: self._number_visible(), names="selected_index")
        self.memos = w.VBox()
        self.valences = w.VBox()                 # one drop-down per ticked code: at work, failing, contested
        self.suggestions = w.VBox()
        self.stripe_view = StripeView()          # a click on a cell goes to that segment
        self.stripe_view.on_msg(self._stripe_message)
        self.status = w.HTML()
        left = w.VBox([
            self.text,
            w.HBox([self.b_prev, self.b_next, self.b_uncoded, self.b_finish]),
            w.HTML(f"<small>{html.escape(msg('panel.keys_help'))}</small>"),
            w.HBox([self.selection_info, self.b_clear]),
            w.HBox([w.HTML(f"<small>{html.escape(msg('panel.sentences'))}</small>"), self.sentence_buttons]),
            w.HTML(f"<b>{msg('panel.passages')}</b>"), self.passage_list,
            w.HTML(f"<b>{msg('panel.memos')}</b>"), self.memos,
            w.HTML(f"<b>{msg('panel.valences')}</b>"), self.valences,
            w.HTML(f"<b>{msg('panel.suggestions')}</b>"), self.tools, self.suggestions,
            w.HTML(f"<b>{msg('panel.stripes')}</b>"), self.stripe_view,
        ], layout=w.Layout(width="62%", padding="0 8px 0 0"))
        right = w.VBox([w.HTML(f"<b>{msg('panel.codes')}</b>"), self.search, self.tree, self.definition],
                       layout=w.Layout(width="38%"))
        self._box = w.VBox([
            w.HTML(f"<h3>{html.escape(self.doc.title)}</h3><p>{html.escape(self.doc.id)} · "
                   f"{html.escape(self.doc.territory)} · {msg('panel.coder')} <b>{html.escape(self.coder)}</b>"
                   + (f" · {html.escape(msg('panel.blind'))}" if self.blind else "") + "</p>"),
            self.header, w.HBox([left, right]), self.status,
        ])
        self._box.add_class("balises-panel")
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

    def _next_useful_clicked(self) -> None:
        if self.next_most_useful() is None:
            raise UsageError(msg("panel.all_coded"))

    def _box_changed(self, code: str, value: bool) -> None:
        if self._syncing:
            return
        self.show_definition(code)
        self._safe(lambda: self.code_selection(code, True) if value else self.toggle(code, False))

    def _view_selected(self, value) -> None:
        """The coder selected a passage in the browser (``[start, end]`` in the segment's text)."""
        if self._syncing:
            return
        self._safe(lambda: self.select(*value) if len(value) == 2 else self.select(None))

    def _view_message(self, _widget, content, _buffers) -> None:
        if isinstance(content, dict) and content.get("event") == "key":
            self._safe(lambda: self.handle_key(str(content.get("key", "")), bool(content.get("alt"))))

    def _stripe_message(self, _widget, content, _buffers) -> None:
        if isinstance(content, dict) and content.get("event") == "go":
            self._safe(lambda: self.go(int(content.get("n", 1)) - 1))

    def _sentence_toggled(self) -> None:
        if self._syncing:
            return
        picked = [i + 1 for i, b in enumerate(self.sentence_buttons.children) if b.value]
        self._safe(lambda: self.select_sentences(picked))

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

    def filter_codes(self, query: str, show: bool = True) -> list[str]:
        """The codes matching ``query`` (accents and case ignored), in tree order.

        With ``show``, the tree shows only them and the codes above them (their place in the
        tree), and opens the dimension of the first one.
        """
        q = fold(query)
        order = [c.id for _, rows in codebook_tree(self.codebook) for c, _ in rows]
        matches = []
        for cid in order:
            c = self.codebook[cid]
            hay = fold(" ".join([c.id, c.label, c.definition, " ".join(c.keywords)]))
            if not q or q in hay:
                matches.append(cid)
        if show and getattr(self, "checkboxes", None):
            keep = set(matches)
            for cid in matches:               # ancestors stay visible: a code is read in its place
                parent = self.codebook[cid].parent
                while parent in self.codebook and parent not in keep:
                    keep.add(parent)
                    parent = self.codebook[parent].parent
            for cid, cb in self.checkboxes.items():
                cb.layout.display = None if cid in keep else "none"
            if q and matches:
                self.tree.selected_index = self._tree_dims.index(self.codebook[matches[0]].dimension)
        return matches

    def _filter_changed(self, query: str) -> None:
        self.filter_codes(query)
        self._number_visible()

    def _number_visible(self) -> None:
        """Number the codes the keys 1–9 tick, in their check boxes' labels."""
        if getattr(self, "_box", None) is None:
            return
        numbers = {cid: i + 1 for i, cid in enumerate(self.visible_codes()[:9])}
        for cid, cb in self.checkboxes.items():
            c = self.codebook[cid]
            prefix = f"[{numbers[cid]}] " if cid in numbers else ""
            cb.description = f"{prefix}{c.id} — {c.label}"

    @staticmethod
    def _speaker_html(s: Segment) -> str:
        who = html.escape(s.speaker or "narration")
        if s.speaker_label:
            who += f" ({html.escape(s.speaker_label)})"
        role = f" · rôle : {html.escape(s.role)}" if s.role else ""
        return f"<b>{who}</b>{role}"

    def _neighbour_html(self, index: int, where: str) -> str:
        if not 0 <= index < len(self.segments):
            return ""
        s = self.segments[index]
        return (f"<div class='balises-{'before' if where == 'avant' else 'after'}' style='color:#777'><small>{where} · "
                f"{self._speaker_html(s)}</small><p style='white-space:pre-wrap;margin:2px 0'>"
                f"{html.escape(s.text)}</p></div>")

    def _current_header_html(self) -> str:
        s = self.segment
        # where to find the passage in the recording, when the transcript has timecodes
        when = ""
        if s.start_time:
            span = s.start_time + (f"–{s.end_time}" if s.end_time else "")
            when = f" <span class='balises-time' style='color:#555'>⏱ {html.escape(msg('panel.timecode', span=span))}</span>"
        return f"{self._speaker_html(s)}{when}"

    def _show_selection(self) -> None:
        """Bring the selection's widgets (text view, sentence buttons, line under the text) in line."""
        if getattr(self, "_box", None) is None:
            return
        sel = self.selection
        self._syncing = True
        try:
            self.text.selection = list(sel) if sel else []
            if sel is None:
                for b in self.sentence_buttons.children:
                    b.value = False
        finally:
            self._syncing = False
        if sel is None:
            self.selection_info.value = f"<small><i>{html.escape(msg('panel.no_selection'))}</i></small>"
            self.b_clear.layout.display = "none"
        else:
            quote = self.segment.text[sel[0]:sel[1]]
            short = quote if len(quote) <= 90 else quote[:87] + "…"
            self.selection_info.value = (f"<small class='balises-selection-info'>"
                                         f"{html.escape(msg('panel.selection', quote=short, start=sel[0], end=sel[1]))}"
                                         f"</small>")
            self.b_clear.layout.display = None

    def refresh(self) -> None:
        """Bring the widgets in line with the state (the current segment and its codes)."""
        if getattr(self, "_box", None) is None:
            return
        w, s = self.w, self.segment
        ncoded = sum(1 for recs in self.records.values() if recs)
        self.header.value = (f"<b>{msg('panel.segment_of', n=self.index + 1, total=len(self.segments))}</b> · "
                             f"{html.escape(s.id)} · {msg('panel.coded_count', n=ncoded)}"
                             + (f" · <span style='color:#070'>{msg('panel.finished')}</span>" if self.covered else ""))
        passages = self.passages()
        spans = [{"start": p["start"], "end": p["end"], "codes": [p["code"]], "color": SPAN_COLOR,
                  "title": f"{p['code']} — {self.codebook[p['code']].label if p['code'] in self.codebook else ''}"}
                 for p in passages]
        self._syncing = True
        try:
            self.text.set_state({"text": s.text, "header_html": self._current_header_html(),
                                 "before_html": self._neighbour_html(self.index - 1, "avant"),
                                 "after_html": self._neighbour_html(self.index + 1, "après"),
                                 "spans": spans, "selection": list(self.selection) if self.selection else []})
            present = set(self.codes())
            for cid, cb in self.checkboxes.items():
                cb.value = cid in present
            sentences = self.sentences()
            if len(self.sentence_buttons.children) != len(sentences) or getattr(self, "_sentences_of", None) != s.id:
                buttons = []
                for i, (a, b) in enumerate(sentences):
                    tb = w.ToggleButton(value=False, description=str(i + 1), tooltip=s.text[a:b][:200],
                                        layout=w.Layout(width="2.6em"))
                    tb.observe(lambda ch: self._sentence_toggled(), names="value")
                    buttons.append(tb)
                self.sentence_buttons.children = buttons
                self._sentences_of = s.id
        finally:
            self._syncing = False
        self._show_selection()
        rows = []
        for p in passages:
            label = self.codebook[p["code"]].label if p["code"] in self.codebook else ""
            quote = p["quote"] if len(p["quote"]) <= 80 else p["quote"][:77] + "…"
            remove = w.Button(description=msg("panel.remove_passage"), layout=w.Layout(width="auto"),
                              tooltip=msg("panel.remove_passage_tip"))
            remove.on_click(lambda _, p=p: self._safe(lambda: self.toggle(p["code"], False, span=(p["start"], p["end"]))))
            rows.append(w.HBox([remove, w.HTML(f"<span class='balises-passage' data-code='{html.escape(p['code'])}'>"
                                               f"<b>{html.escape(p['code'])}</b> — {html.escape(label)} : "
                                               f"« {html.escape(quote)} »</span>")]))
        self.passage_list.children = rows or [w.HTML(f"<small><i>{html.escape(msg('panel.no_passage'))}</i></small>")]
        memo_boxes = []
        for code in self.codes():
            box = w.Textarea(value=self.memo(code), description=code, placeholder=msg("panel.memo_placeholder"),
                             continuous_update=False, layout=w.Layout(width="95%"))
            box.observe(lambda ch, c=code: self._safe(lambda: self.set_memo(c, ch["new"])), names="value")
            memo_boxes.append(box)
        self.memos.children = memo_boxes or [w.HTML(f"<i>{html.escape(msg('panel.no_code'))}</i>")]
        valence_boxes = []
        for code in self.codes():
            menu = w.Dropdown(options=list(VALENCES), value=self.valence(code), description=code,
                              tooltip=msg("panel.valence_tip"))
            menu.observe(lambda ch, c=code: self._safe(lambda: self.set_valence(c, ch["new"])), names="value")
            valence_boxes.append(menu)
        self.valences.children = valence_boxes
        self._show_suggestions()
        from analyse.ui.stripes import stripes_html
        self.stripe_view.value = stripes_html(self.stripes(), len(self.segments), self.codebook, current=self.index + 1)
        self._number_visible()
        self.status.value = f"<small>{html.escape(msg('panel.saved_in', path=self.store.path(self.coder)))}</small>"

    def _show_suggestions(self) -> None:
        w = self.w
        if self.blind:
            self.suggestions.children = [w.HTML(f"<i>{html.escape(msg('panel.blind_no_suggestion'))}</i>")]
            return
        if self.asked_suggestions != self.segment.id:
            self.suggestions.children = [w.HTML(f"<small><i>{html.escape(msg('panel.suggestions_on_demand'))}"
                                                f"</i></small>")]
            return
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
