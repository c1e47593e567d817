"""The browser-side piece of the coding panel: the segment's text, its selection and the keyboard.

ipywidgets cannot tell Python which characters a coder selected, nor pass key
presses on; :class:`SegmentView` is a small `anywidget <https://anywidget.dev>`_
(a widget whose JavaScript is the ``_esm`` string below, shipped with the
package: nothing is fetched at run time) that does both:

- it shows the segment framed by the segment before and the one after, the
  passages already coded within it highlighted (``<mark>``, codes on hover);
- a text selection inside the segment sets the synced ``selection`` trait to
  ``[start, end]``, character offsets into the segment's text (Python ``str``
  indices, as the coding store counts them);
- a key press anywhere in the panel's output area (outside text fields, or
  with Alt anywhere) is sent to Python as ``{"event": "key", "key": …,
  "alt": …}``; JupyterLab's own shortcuts are suspended there
  (``data-lm-suppress-shortcuts``) so « j » or « 1 » reach the panel.

Everything the panel does with these lives in Python
(:meth:`analyse.ui.panel.CodingPanel.handle_key`), so tests drive it by setting
``selection`` or calling ``_handle_custom_msg`` exactly as the browser would.
"""

from __future__ import annotations

import anywidget
import traitlets

_ESM = r"""
function render({ model, el }) {
  el.classList.add("balises-segment-view");
  el.tabIndex = 0;
  const root = document.createElement("div");
  el.appendChild(root);

  // Offsets into the segment's text: characters before the selection's edges inside the text box.
  function offsetIn(box, node, offset) {
    const r = document.createRange();
    r.selectNodeContents(box);
    r.setEnd(node, offset);
    return r.toString().length;
  }

  function draw() {
    const text = model.get("text");
    const spans = model.get("spans") || [];
    const sel = model.get("selection") || [];
    root.innerHTML = "";
    const before = document.createElement("div");
    before.className = "balises-before";
    before.innerHTML = model.get("before_html");
    const current = document.createElement("div");
    current.className = "balises-current";
    current.style.cssText = "border-left:3px solid #1a6;padding-left:6px";
    const head = document.createElement("p");
    head.innerHTML = model.get("header_html");
    const box = document.createElement("p");
    box.className = "balises-text";
    box.style.cssText = "white-space:pre-wrap;cursor:text";
    // cut the text at every span edge; each piece is highlighted by the spans covering it
    const cuts = new Set([0, text.length]);
    for (const s of spans) { cuts.add(s.start); cuts.add(s.end); }
    if (sel.length === 2) { cuts.add(sel[0]); cuts.add(sel[1]); }
    const edges = [...cuts].filter((c) => c >= 0 && c <= text.length).sort((a, b) => a - b);
    for (let i = 0; i + 1 < edges.length; i++) {
      const a = edges[i], b = edges[i + 1];
      const piece = text.slice(a, b);
      const on = spans.filter((s) => s.start <= a && s.end >= b);
      const selected = sel.length === 2 && sel[0] <= a && sel[1] >= b;
      if (!on.length && !selected) { box.appendChild(document.createTextNode(piece)); continue; }
      const mark = document.createElement("mark");
      mark.textContent = piece;
      if (on.length) {
        const codes = [...new Set(on.flatMap((s) => s.codes))];
        mark.className = "balises-span";
        mark.dataset.codes = codes.join(" ");
        mark.title = on.map((s) => s.title).join("\n");
        mark.style.background = on[0].color || "#ffe58a";
      }
      if (selected) {
        mark.classList.add("balises-selection");
        mark.style.outline = "2px solid #1a6";
        if (!on.length) mark.style.background = "#cdeedd";
      }
      box.appendChild(mark);
    }
    current.appendChild(head);
    current.appendChild(box);
    const after = document.createElement("div");
    after.className = "balises-after";
    after.innerHTML = model.get("after_html");
    root.appendChild(before);
    root.appendChild(current);
    root.appendChild(after);

    box.addEventListener("mouseup", () => {
      const s = window.getSelection();
      if (!s || s.rangeCount === 0 || s.isCollapsed) return;
      const r = s.getRangeAt(0);
      if (!box.contains(r.startContainer) || !box.contains(r.endContainer)) return;
      const start = offsetIn(box, r.startContainer, r.startOffset);
      const end = offsetIn(box, r.endContainer, r.endOffset);
      if (end > start) {
        model.set("selection", [start, end]);
        model.save_changes();
      }
    });
  }

  // Keys: the whole output area of the panel listens, so a key works after clicking a check box too.
  // Only the view rendered last in that area answers (the workbench replaces the panel when the
  // document or the coder changes, and the old view may be removed after the new one is drawn).
  const area = el.closest(".jp-OutputArea-output") || el.closest(".output_subarea") || el;
  area.setAttribute("data-lm-suppress-shortcuts", "true");
  const token = {};
  area.balisesActive = token;
  function onKey(e) {
    if (area.balisesActive !== token || !el.isConnected) return;
    const t = e.target;
    const typing = t && (t.tagName === "TEXTAREA" || t.tagName === "SELECT" ||
      (t.tagName === "INPUT" && !["checkbox", "radio", "button"].includes(t.type)) || t.isContentEditable);
    if (typing && !e.altKey) return;
    if (e.ctrlKey || e.metaKey) return;
    const keys = model.get("shortcut_keys") || [];
    const key = e.key;
    if (!keys.includes(key)) return;
    e.preventDefault();
    e.stopPropagation();
    model.send({ event: "key", key: key, alt: e.altKey });
  }
  area.addEventListener("keydown", onKey);
  model.on("change:text", draw);
  model.on("change:spans", draw);
  model.on("change:selection", draw);
  model.on("change:before_html", draw);
  model.on("change:after_html", draw);
  model.on("change:header_html", draw);
  draw();
  return () => {
    area.removeEventListener("keydown", onKey);
    if (area.balisesActive === token) delete area.balisesActive;
  };
}
export default { render };
"""


class SegmentView(anywidget.AnyWidget):
    """The current segment, its coded passages and the coder's selection (see the module docstring)."""

    _esm = _ESM
    text = traitlets.Unicode("").tag(sync=True)
    header_html = traitlets.Unicode("").tag(sync=True)
    before_html = traitlets.Unicode("").tag(sync=True)
    after_html = traitlets.Unicode("").tag(sync=True)
    # passages coded inside the segment: {"start", "end", "codes": [...], "title", "color"}
    spans = traitlets.List(traitlets.Dict()).tag(sync=True)
    # the coder's selection, [start, end] in the segment's text, or [] for none
    selection = traitlets.List(traitlets.Int()).tag(sync=True)
    # the keys the browser passes on to Python (everything else is left to the page)
    shortcut_keys = traitlets.List(traitlets.Unicode()).tag(sync=True)


_STRIPES_ESM = r"""
function render({ model, el }) {
  function draw() { el.innerHTML = model.get("value"); }
  el.addEventListener("click", (e) => {
    const cell = e.target.closest("[data-n]");
    if (cell && el.contains(cell)) model.send({ event: "go", n: Number(cell.dataset.n) });
  });
  model.on("change:value", draw);
  draw();
}
export default { render };
"""


class StripeView(anywidget.AnyWidget):
    """The coding stripes (HTML from :func:`analyse.ui.stripes.stripes_html`); a click on a cell or a
    segment number sends ``{"event": "go", "n": …}`` (1-based) to go to that segment."""

    _esm = _STRIPES_ESM
    value = traitlets.Unicode("").tag(sync=True)
