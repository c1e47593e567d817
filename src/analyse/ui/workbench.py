"""The coding workbench: choose the document and the coder in drop-downs, then code in the panel.

``Workbench(corpus="../corpus", codebook="../codebook/balises.yaml").widget()``
shows two drop-downs and, once both a document and a coder are chosen, the
:class:`~analyse.ui.panel.CodingPanel` for them. Nothing can be written
before a coder is chosen, and no coder is chosen by default: the coder says
who they are. The coders offered are those who code by hand, read from the
coders registry (``corpus/codings/coders.yaml``: kinds ``human`` and
``model-assisted``) and the coder files it does not describe; coders the
registry records as a language model, a consensus or an import are not
offered, and a new coder id can be typed. A coder the registry marks
``blind`` gets no machine suggestions, nor does a coder it does not describe
on a document another coder coded first (blind mode by default for a second
coder: see :meth:`Workbench.blind_reason`).

Below the panel, the memos (``corpus/memos.jsonl``) on the current segment,
the document and the project are listed, and a new one can be written, signed
by the coder.

The choices are methods (:meth:`Workbench.choose_document`,
:meth:`Workbench.choose_coder`, :meth:`Workbench.add_memo`) that the widgets
call, so tests drive it without a browser.
"""

from __future__ import annotations

import html
from pathlib import Path

from analyse.errors import AnalyseError, UsageError
from analyse.model.codebook import Codebook
from analyse.model.coders import Registry, validate_registry, registry_path
from analyse.model.codings import CodingStore, check_coder_id
from analyse.model.corpus import Corpus
from analyse.model.memos import MemoStore, memos_path
from analyse.messages import msg
from analyse.ui.panel import CodingPanel, project_inputs

MACHINE_CODERS = ("rule", "model")
NOT_BY_HAND = ("llm", "consensus", "imported")   # registry kinds whose files are not coded in the panel
NEW_CODER = "__nouveau__"
MEMO_TARGETS = (("ce segment", "segment"), ("ce document", "document"), ("le projet (journal)", "project"))


class _BenchPanel(CodingPanel):
    """The coding panel, telling the workbench when it shows another segment (to list its memos)."""

    bench = None

    def refresh(self) -> None:
        super().refresh()
        if self.bench is not None:
            self.bench._show_memos()


class Workbench:
    """Document and coder drop-downs around a coding panel.

    Parameters
    ----------
    corpus, codebook, store, suggestions
        As for :class:`~analyse.ui.panel.CodingPanel`.
    doc_id, coder : str, optional
        Preselect a document or a coder (a notebook parameter); by default
        neither is chosen.
    """

    def __init__(self, corpus: Corpus | str | Path = "corpus",
                 codebook: Codebook | str | Path = "codebook/balises.yaml",
                 store: CodingStore | str | Path | None = None, suggestions=None,
                 doc_id: str | None = None, coder: str | None = None):
        self.corpus, self.codebook, self.store = project_inputs(corpus, codebook, store)
        self.suggestions = suggestions
        self.memos = MemoStore(memos_path(self.corpus.root))
        self.registry: Registry | None = validate_registry(registry_path(self.store.folder))[0]
        self.doc_id: str | None = None
        self.coder: str | None = None
        self.panel: CodingPanel | None = None
        self._box = None
        if doc_id:
            self.choose_document(doc_id)
        if coder:
            self.choose_coder(coder)

    # ------------------------------------------------------------------ choices
    def documents(self) -> list[tuple[str, str]]:
        """``(label, id)`` of every document, by territory then id."""
        docs = sorted(self.corpus.documents.values(), key=lambda d: (d.territory, d.id))
        return [(f"{d.territory} · {d.title} ({d.id})", d.id) for d in docs]

    def coders(self) -> list[tuple[str, str]]:
        """``(label, id)`` of the coders who may code by hand here (see the module docstring)."""
        out, seen = [], set()
        if self.registry is not None:
            for c in self.registry.coders.values():
                seen.add(c.id)
                if c.kind not in NOT_BY_HAND and c.id not in MACHINE_CODERS:
                    out.append((f"{c.id} — {c.who}" + (" (à l'aveugle)" if c.blind else ""), c.id))
        for cid in self.store.coders():
            if cid not in seen and cid not in MACHINE_CODERS:
                out.append((f"{cid} (non décrit dans le registre)", cid))
        return out

    def is_blind(self, coder: str) -> bool:
        return self.blind_reason(coder) is not None

    def blind_reason(self, coder: str, doc_id: str | None = None) -> str | None:
        """Why ``coder`` codes blind (no suggestions) on the document, or None.

        The registry decides for the coders it describes (``blind: true``). A coder it does not
        describe codes blind on a document another coder coded first (a second coder, for a
        reliability study): their first line on it is older than this coder's, or this coder has none.
        """
        if self.registry is not None and coder in self.registry:
            return "registre" if self.registry[coder].blind else None
        doc_id = doc_id or self.doc_id
        if not doc_id:
            return None
        first = {}
        for other in self.store.coders():
            times = [str(r.get("at") or "") for r in self.store.records(other) if r.get("doc") == doc_id]
            if times:
                first[other] = min(times)
        mine = first.pop(coder, None)
        if any(mine is None or at < mine for at in first.values()):
            return "second"
        return None

    def choose_document(self, doc_id: str | None) -> None:
        if doc_id is not None and doc_id not in self.corpus.documents:
            raise UsageError(f"document inconnu « {doc_id} »")
        self.doc_id = doc_id
        self._rebuild()

    def choose_coder(self, coder: str | None) -> None:
        """Choose who codes; refuses machine coders and coders the registry says are not coded by hand."""
        if coder is not None:
            check_coder_id(coder)
            if coder in MACHINE_CODERS:
                raise UsageError(f"« {coder} » est un codeur automatique", hint="choisir un codeur humain")
            if self.registry is not None and coder in self.registry and self.registry[coder].kind in NOT_BY_HAND:
                raise UsageError(f"le registre décrit {coder} comme « {self.registry[coder].kind} » : "
                                 "ses codages ne se font pas à la main", hint="choisir ou créer un autre codeur")
        self.coder = coder
        self._rebuild()

    def _rebuild(self) -> None:
        self.panel = None
        if self.doc_id and self.coder:
            blind = self.is_blind(self.coder)
            self.panel = _BenchPanel(self.doc_id, self.coder, corpus=self.corpus, codebook=self.codebook,
                                     store=self.store, suggestions=None if blind else self.suggestions, blind=blind)
            self.panel.bench = self
        self._show()

    # ------------------------------------------------------------------ memos
    def memo_targets(self) -> dict[str, str]:
        """``{target type: target}`` of the memos shown: current segment, document, project."""
        if self.panel is None:
            return {}
        return {"segment": self.panel.segment.id, "document": self.panel.doc.id, "project": ""}

    def current_memos(self) -> list[dict]:
        """Memos on the current segment, its document and the project, oldest first."""
        targets = self.memo_targets()
        return [m for m in self.memos.records() if targets.get(m["target_type"], None) == m.get("target")]

    def add_memo(self, text: str, on: str = "segment") -> dict:
        """Write a memo on the current segment, document or the project, signed by the coder."""
        if self.panel is None:
            raise UsageError("choisir le document et le codeur avant d'écrire un mémo")
        targets = self.memo_targets()
        if on not in targets:
            raise UsageError(f"cible de mémo « {on} » inconnue", hint=", ".join(targets))
        rec = self.memos.add(on, targets[on], text, author=self.coder)
        self._show_memos()
        return rec

    def summary(self) -> str:
        """One line saying what there is to choose from (for the notebook)."""
        names = ", ".join(cid for _, cid in self.coders()) or "aucun pour l'instant"
        return (f"{len(self.corpus.documents)} documents ; codeurs qui codent à la main : {names} "
                "(ou un nouveau codeur)")

    # ------------------------------------------------------------------ widgets
    def widget(self):
        """The ipywidgets view (a ``VBox``); ``widget.bench`` is this object."""
        if self._box is None:
            self._build()
        return self._box

    def _build(self) -> None:
        import ipywidgets as w

        self.w = w
        self.doc_menu = w.Dropdown(options=[("— choisir un document —", None)] + self.documents(),
                                   value=self.doc_id, description="Document", layout=w.Layout(width="60%"))
        self.coder_menu = w.Dropdown(options=self._coder_options(), value=self.coder, description="Codeur")
        self.new_coder = w.Text(placeholder="identifiant du nouveau codeur (lettres, chiffres, - ou _)",
                                layout=w.Layout(display="none", width="40%"))
        self.b_new_coder = w.Button(description="Coder sous ce nom", layout=w.Layout(display="none", width="auto"))
        self.message = w.HTML()
        self.area = w.VBox()
        self.memo_list = w.HTML()
        self.memo_text = w.Textarea(placeholder="Un mémo (daté et signé par le codeur)…", layout=w.Layout(width="70%"))
        self.memo_on = w.Dropdown(options=MEMO_TARGETS, value="segment", description="sur",
                                  layout=w.Layout(width="auto"))
        self.b_memo = w.Button(description="Ajouter le mémo", layout=w.Layout(width="auto"))
        self.b_memo.on_click(lambda _: self._safe(self._memo_clicked))
        self.memo_box = w.VBox([w.HTML("<b>Mémos (segment, document, projet)</b>"), self.memo_list,
                                w.HBox([self.memo_text, w.VBox([self.memo_on, self.b_memo])])])
        self.doc_menu.observe(lambda ch: self._safe(lambda: self.choose_document(ch["new"])), names="value")
        self.coder_menu.observe(lambda ch: self._coder_menu_changed(ch["new"]), names="value")
        self.b_new_coder.on_click(lambda _: self._safe(lambda: self._new_coder_clicked()))
        self._box = w.VBox([w.HBox([self.doc_menu, self.coder_menu]),
                            w.HBox([self.new_coder, self.b_new_coder]), self.message, self.area,
                            self.memo_box])
        self._box.bench = self
        self._show()

    def _coder_options(self) -> list[tuple[str, str | None]]:
        options = [("— choisir (qui code ?) —", None)] + self.coders()
        if self.coder and self.coder not in [cid for _, cid in options]:
            options.append((self.coder, self.coder))
        return options + [("nouveau codeur…", NEW_CODER)]

    def _coder_menu_changed(self, value) -> None:
        if value == NEW_CODER:
            self.new_coder.layout.display = None
            self.b_new_coder.layout.display = None
            return
        self.new_coder.layout.display = "none"
        self.b_new_coder.layout.display = "none"
        self._safe(lambda: self.choose_coder(value))

    def _new_coder_clicked(self) -> None:
        coder = self.new_coder.value.strip()
        if not coder:
            raise UsageError("écrire l'identifiant du nouveau codeur")
        self.choose_coder(coder)
        self.coder_menu.options = self._coder_options()
        self.coder_menu.value = coder

    def _memo_clicked(self) -> None:
        self.add_memo(self.memo_text.value, self.memo_on.value)
        self.memo_text.value = ""

    def _show_memos(self) -> None:
        if self._box is None:
            return
        self.memo_box.layout.display = None if self.panel is not None else "none"
        names = dict((kind, label) for label, kind in MEMO_TARGETS)
        rows = [f"<li><small>{html.escape(m['at'][:16].replace('T', ' '))} · {html.escape(m['author'])} · "
                f"{names[m['target_type']]}</small><br>{html.escape(m['text'])}</li>" for m in self.current_memos()]
        self.memo_list.value = f"<ul>{''.join(rows)}</ul>" if rows else "<i>Aucun mémo ici.</i>"

    def _safe(self, action) -> None:
        try:
            action()
        except AnalyseError as exc:
            if self._box is not None:
                self.message.value = f"<span style='color:#b00'>Erreur : {html.escape(str(exc))}</span>"

    def _show(self) -> None:
        if self._box is None:
            return
        self._show_memos()
        if self.panel is not None:
            self.area.children = [self.panel.widget()]
            reason = self.blind_reason(self.coder)
            note = msg("bench.blind.registre") if reason == "registre" else msg("bench.blind.second")
            blind = "" if reason is None else " · " + note
            self.message.value = f"<small>Codeur <b>{html.escape(self.coder)}</b>{blind}</small>"
            return
        self.area.children = []
        missing = [what for what, value in (("le document", self.doc_id), ("le codeur", self.coder)) if not value]
        self.message.value = ("<i>Choisissez " + " et ".join(missing)
                              + " : rien n'est écrit tant que le codeur n'est pas choisi.</i>")


def workbench(corpus: Corpus | str | Path = "corpus", codebook: Codebook | str | Path = "codebook/balises.yaml",
              store: CodingStore | str | Path | None = None, suggestions=None,
              doc_id: str | None = None, coder: str | None = None):
    """The workbench widget; the :class:`Workbench` behind it is ``widget.bench``."""
    return Workbench(corpus, codebook, store, suggestions, doc_id, coder).widget()
