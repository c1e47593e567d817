"""The territory report's figures, drawn once per stored context and audience, then read.

A territory report reads its slice of the shared context (:mod:`analyse.reporting.context`); its three
figures — the code profile, the specific vocabulary, its place among the territories — are drawn from
that slice and the shared summaries only, so they are stored with the context as a part
(:mod:`analyse.reporting.context_store`): a report run again on unchanged inputs shows the stored PNG
and its kernel never imports matplotlib. The drawing is here, in the library (whose source enters the
context's key), not in the notebook.

Examples
--------
>>> ctx.territory_figure("profil")     # doctest: +SKIP
"""

from __future__ import annotations

FIGURES_PART = "figures"
FIGURES_PART_FORMAT = 1
# name → (needs the territory to be coded, differs by audience)
TERRITORY_FIGURES = {"profil": (True, False), "specificites": (False, True), "position": (True, False)}


def draw(ctx, name: str):
    """The figure ``name`` of ``ctx``'s territory (a matplotlib Figure)."""
    from analyse.reporting import plots

    territory = ctx.territory
    if name == "profil":
        return plots.profile_bars(ctx.profile, territory, n=15, labels=ctx.labels)
    if name == "specificites":
        # this territory's rows of the specificities, computed once against the corpus
        return plots.specificity_bars(ctx.for_audience(ctx.specificities), n=12, territories=[territory])
    if name == "position":
        balises = [c.id for c in ctx.codebook.balises]
        return plots.share_spread(ctx.code_spread, codes=balises, labels=ctx.labels,
                                  here=ctx.profile.set_index("code")["share"], territory=territory,
                                  title=f"{ctx.territory_label(territory)} parmi les territoires "
                                        "(part des segments codés)")
    raise KeyError(name)


def stored_figures(ctx) -> tuple[dict, object]:
    """``({name: title}, folder)`` of the territory's figures for the report's audience: read, or drawn
    (every figure at once) and stored first."""
    from analyse.reporting.context_store import part_folder, read_part, write_part
    from analyse.reporting.report import figure_png

    params = {"format": FIGURES_PART_FORMAT, "territory": ctx.territory, "audience": ctx.report.audience}
    folder = part_folder(ctx.store, FIGURES_PART, params)
    got = read_part(folder)
    if got is None:
        coded = ctx.is_coded(ctx.territory)
        titles, files = {}, {}
        for name, (needs_codes, _) in TERRITORY_FIGURES.items():
            if needs_codes and not coded:
                continue
            files[f"{name}.png"], titles[name] = figure_png(draw(ctx, name))
        write_part(folder, {"titles": titles}, {}, files)
        got = read_part(folder)
    return got[0]["titles"], folder
