"""Helpers the report notebooks use to show and save tables, figures and verbatims.

Everything a notebook shows goes through a :class:`Report`, which

* saves tables as CSV and figures as PNG in the run's output folder (the batch
  index links them);
* escapes document text, so a transcript holding ``<script>`` or HTML markup is
  shown as text in the rendered HTML, never interpreted;
* for the ``groupe-miroir`` audience, pseudonymises participants' names in any
  text shown (tables included), with the run's stable mapping.
"""

from __future__ import annotations

import html
import io
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from analyse.errors import UsageError
from analyse.messages import COLUMNS, msg
from analyse.textutil import check_choice, fr_number, fr_percent
from analyse.privacy.pseudonymise import Pseudonymiser

if TYPE_CHECKING:     # the batch's parent checks AUDIENCES without importing pandas
    import pandas as pd

AUDIENCES = ("chercheurs", "groupe-miroir")
_SAFE_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


class Report:
    """Output side of a report notebook.

    Parameters
    ----------
    out_dir : path or None
        Folder of the run; tables go to ``tables/``, figures to ``figures/``.
        None shows without saving (interactive use).
    audience : {"chercheurs", "groupe-miroir"}
    pseudonymiser : Pseudonymiser, optional
        Required for the groupe-miroir audience.
    prefix : str
        Prefix of saved file names (e.g. the territory slug).
    """

    def __init__(self, out_dir=None, audience: str = "chercheurs",
                 pseudonymiser: Pseudonymiser | None = None, prefix: str = ""):
        check_choice("audience", audience, AUDIENCES)
        if audience == "groupe-miroir" and pseudonymiser is None:
            raise UsageError(msg("rep.needs_pseudonymiser"))
        self.out_dir = None if out_dir in (None, "") else Path(out_dir)
        self.audience = audience
        self.pseudonymiser = pseudonymiser
        self.prefix = prefix

    @property
    def public(self) -> bool:
        return self.audience == "groupe-miroir"

    def _file(self, kind: str, name: str, suffix: str) -> Path | None:
        if self.out_dir is None:
            return None
        stem = f"{self.prefix}-{name}" if self.prefix else name
        if not _SAFE_NAME.match(stem):
            raise UsageError(msg("rep.bad_output_name", name=stem))
        folder = self.out_dir / kind
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{stem}{suffix}"

    def text(self, value: str) -> str:
        """Text as this audience may see it (pseudonymised for the groupe miroir)."""
        if self.public and isinstance(value, str):
            return self.pseudonymiser.apply(value)
        return value

    def frame(self, df: pd.DataFrame, text_columns: tuple[str, ...] = ()) -> pd.DataFrame:
        """A copy of ``df`` with the given text columns made fit for the audience."""
        out = df.copy()
        for col in text_columns:
            if col in out:
                out[col] = out[col].map(self.text)
        return out

    def table(self, df: pd.DataFrame, name: str, caption: str = "", text_columns: tuple[str, ...] = (),
              float_format: str | int = 2, index: bool = False, percent: tuple[str, ...] = ()):
        """Save ``df`` as CSV and return an escaped HTML table for display.

        Columns a notebook has not named are given their French header
        (:data:`analyse.messages.COLUMNS`). Numbers are written the French way
        with ``float_format`` decimals (an int, or a format such as ``"{:.2f}"``);
        ``percent`` columns hold shares (0–1) shown as « 12,5 % » (the CSV
        keeps the numbers).
        """
        from IPython.display import HTML

        shown = self.frame(df, text_columns).rename(columns=COLUMNS)
        path = self._file("tables", name, ".csv")
        if path is not None:
            shown.to_csv(path, index=index, lineterminator="\n")
        for col in dict.fromkeys(COLUMNS.get(c, c) for c in percent):
            if col in shown:
                shown[col] = shown[col].map(fr_percent)
        digits = float_format if isinstance(float_format, int) else len(float_format.format(0.0).split(".")[-1])
        body = shown.to_html(index=index, escape=True, border=0, classes="balises-table", na_rep="—",
                             float_format=lambda x: fr_number(x, digits))
        head = f"<p class='caption'><strong>{html.escape(caption)}</strong></p>" if caption else ""
        return HTML(head + body)

    def figure(self, fig, name: str, dpi: int = 150, alt: str | None = None):
        """Save a matplotlib figure as PNG and return it as an image for display.

        ``alt`` (default: the figure's title) is the text read by screen
        readers and shown when the image cannot be.
        """
        data, title = figure_png(fig, dpi)
        return self.image(data, name, alt if alt is not None else (title or name))

    def image(self, data: bytes, name: str, alt: str):
        """Save PNG bytes drawn earlier (:func:`figure_png`, e.g. stored with the shared context) and
        return them as an image for display, exactly as :meth:`figure` does with a live figure."""
        from IPython.display import Image

        path = self._file("figures", name, ".png")
        if path is not None:
            path.write_bytes(data)
        return Image(data=data, format="png", alt=alt)

    @staticmethod
    def md(text) -> str:
        """See :func:`md`: user text made inert inside a Markdown display."""
        return md(text)

    def verbatims(self, df: pd.DataFrame, text_column: str = "text",
                  meta_columns: tuple[str, ...] = ("territory", "role"), shown: bool = False):
        """Escaped block quotes of segment texts, with a small caption of metadata.

        ``shown=True`` when the texts are already made fit for the audience
        (e.g. by ``Context.shown_text``): they are pseudonymised once, not twice.
        """
        import pandas as pd
        from IPython.display import HTML

        parts = []
        for _, row in df.iterrows():
            meta = " · ".join(html.escape(str(row[c])) for c in meta_columns if c in row and pd.notna(row[c]))
            text = str(row[text_column])
            quote = html.escape(text if shown else self.text(text)).replace("\n", "<br>")
            parts.append(f"<blockquote class='verbatim'>« {quote} »<br><small>{meta}</small></blockquote>")
        return HTML("\n".join(parts) if parts else f"<p><em>{html.escape(msg('rep.no_verbatim'))}</em></p>")


def escape(text: str) -> str:
    """HTML-escape document text for display in Markdown or HTML output."""
    return html.escape(text)


_MD_SPECIAL = re.compile(r"([\\`*_\[\]!|~])")
# an address would become a link: break its scheme and « www. » (a French « : » stays as it is)
_LINKS = re.compile(r"(?i)\b(https?|ftp|file|mailto|javascript|vbscript|data)(:)|\b(www)(\.)")


def md(text) -> str:
    r"""User text (a code label, a title, a name) made inert inside Markdown.

    HTML is escaped (no tag, iframe or script survives) and the Markdown
    characters that make links, images, emphasis or tables are backslashed,
    so a label such as ``![x](https://…)`` or ``[y](javascript:…)`` shows as
    written and loads nothing; the ``:`` of an address scheme and ``www.`` are
    escaped too, so that no bare address becomes a link.

    Examples
    --------
    >>> md("![pixel](https://exemple.org/p.png) <b>gras</b>")
    '\\!\\[pixel\\](https\\://exemple.org/p.png) &lt;b&gt;gras&lt;/b&gt;'
    """
    text = _MD_SPECIAL.sub(r"\\\1", html.escape(str(text), quote=False))
    return _LINKS.sub(lambda m: f"{m.group(1)}\\:" if m.group(1) else f"{m.group(3)}\\.", text)


def figure_png(fig, dpi: int = 150) -> tuple[bytes, str]:
    """``(PNG bytes, title)`` of a matplotlib figure, the way :meth:`Report.figure` saves it.

    The title (the figure's or its first axes') is the default alternative text. Library code that
    stores a figure for a report to show later (:mod:`analyse.reporting.themes`) draws it with this.
    """
    buf = io.BytesIO()
    # a figure with a layout engine already fits its labels: a "tight" box would draw it twice
    tight = None if getattr(fig, "get_layout_engine", lambda: None)() is not None else "tight"
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches=tight)
    if "matplotlib.pyplot" in sys.modules:   # no pyplot, no pyplot figure (and no 0.5 s import)
        # figures made with pyplot would otherwise be shown a second time
        sys.modules["matplotlib.pyplot"].close(fig)
    titles = [fig._suptitle.get_text()] if getattr(fig, "_suptitle", None) else []
    titles += [ax.get_title() for ax in fig.axes if ax.get_title()]
    return buf.getvalue(), (titles[0] if titles else "")
