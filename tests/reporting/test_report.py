"""Report helpers: escaping, pseudonymisation for the groupe miroir, saved files."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pandas as pd
import pytest

from analyse.errors import UsageError
from analyse.privacy.pseudonymise import Pseudonymiser
from analyse.reporting.report import Report

matplotlib.use("Agg")


def test_table_escapes_markup_and_saves_csv(tmp_path: Path):
    report = Report(tmp_path, prefix="le-mene")
    df = pd.DataFrame({"texte": ["<script>alert('x')</script> <b>gras</b>"], "part": [0.5]})
    shown = report.table(df, "extraits", caption="Extraits <i>")
    assert "<script>" not in shown.data and "&lt;script&gt;" in shown.data
    assert "&lt;i&gt;" in shown.data
    assert "0,50" in shown.data                      # French decimal comma
    saved = pd.read_csv(tmp_path / "tables" / "le-mene-extraits.csv")
    assert saved.loc[0, "texte"].startswith("<script>")   # CSV keeps the raw text


def test_groupe_miroir_pseudonymises_text_columns_and_verbatims(tmp_path: Path):
    p = Pseudonymiser({"Nadine Testu": "Élu·e 1"})
    report = Report(tmp_path, audience="groupe-miroir", pseudonymiser=p)
    df = pd.DataFrame({"text": ["Merci Nadine <3"], "territory": ["le-mene"], "role": ["elu"]})
    shown = report.table(df, "t", text_columns=("text",))
    assert "Nadine" not in shown.data and "Élu·e 1" in shown.data
    assert "Nadine" not in (tmp_path / "tables" / "t.csv").read_text(encoding="utf-8")
    quotes = report.verbatims(df)
    assert "Nadine" not in quotes.data and "&lt;3" in quotes.data


def test_researchers_see_names(tmp_path: Path):
    report = Report(tmp_path)
    assert report.text("Merci Nadine") == "Merci Nadine"


def test_figure_saved_as_png(tmp_path: Path):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    img = Report(tmp_path, prefix="x").figure(fig, "courbe")
    png = (tmp_path / "figures" / "x-courbe.png").read_bytes()
    assert png.startswith(b"\x89PNG") and img.data == png


def test_bad_audience_or_names_are_refused(tmp_path: Path):
    with pytest.raises(UsageError):
        Report(tmp_path, audience="public")
    with pytest.raises(UsageError):
        Report(tmp_path, audience="groupe-miroir")
    with pytest.raises(UsageError):
        Report(tmp_path).table(pd.DataFrame({"a": [1]}), "../evil")


def test_tables_get_french_headers_and_french_numbers(tmp_path):
    report = Report(tmp_path, audience="chercheurs")
    df = pd.DataFrame({"label": ["Engagement"], "percent_agreement": [0.125], "kappa": [-0.4567],
                       "n_units": [1234]})
    page = report.table(df, "essai", percent=("percent_agreement",), float_format=3).data
    assert "<th>libellé</th>" in page and "<th>accord</th>" in page and "<th>unités</th>" in page
    assert "12,5\xa0%" in page and "−0,457" in page       # babel, fr_FR: comma, no-break space, minus sign
    assert (tmp_path / "tables" / "essai.csv").read_text(encoding="utf-8").startswith("libellé,accord,kappa,unités\n")
