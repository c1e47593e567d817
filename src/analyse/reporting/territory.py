"""Report figures drawn once per stored context and audience, then read: a territory's and the synthesis's.

A report reads the shared context (:mod:`analyse.reporting.context`); its figures are drawn from that
context only, so they are stored with it as a part (:mod:`analyse.reporting.context_store`): a report
run again on unchanged inputs shows the stored PNG, and its kernel never imports matplotlib. The drawing
is here, in the library (whose source enters the context's key), not in the notebooks; each drawer
returns None where the report shows no such figure (a territory nobody coded yet has no profile).

Examples
--------
>>> ctx.figure("profil")     # doctest: +SKIP
"""

from __future__ import annotations

from analyse.reporting.labels import MAX_TERRITORY_COLUMNS

FIGURES_PART = "figures"
FIGURES_PART_FORMAT = 1


# ---------------------------------------------------------------------------
# A territory's report
# ---------------------------------------------------------------------------

def _profile(ctx):
    from analyse.reporting import plots

    return plots.profile_bars(ctx.profile, ctx.territory, n=15, labels=ctx.labels)


def _territory_specificities(ctx):
    from analyse.reporting import plots

    # this territory's rows of the specificities, computed once against the corpus
    return plots.specificity_bars(ctx.for_audience(ctx.specificities), n=12, territories=[ctx.territory])


def _position(ctx):
    from analyse.reporting import plots

    balises = [c.id for c in ctx.codebook.balises]
    return plots.share_spread(ctx.code_spread, codes=balises, labels=ctx.labels,
                              here=ctx.profile.set_index("code")["share"], territory=ctx.territory,
                              title=f"{ctx.territory_label(ctx.territory)} parmi les territoires "
                                    "(part des segments codés)")


def _coded(draw):
    return lambda ctx: draw(ctx) if ctx.is_coded(ctx.territory) else None


TERRITORY_FIGURES = {"profil": _coded(_profile), "specificites": _territory_specificities,
                     "position": _coded(_position)}


# ---------------------------------------------------------------------------
# The synthesis
# ---------------------------------------------------------------------------

def _balises(ctx) -> list[str]:
    return [c.id for c in ctx.codebook.balises]


def _dispersion(ctx):
    from analyse.reporting import plots

    inv = ctx.invariance()
    if len(inv.attrs["territories"]) < 2:    # no classification without two classed territories
        return None
    return plots.dispersion_chart(inv[inv["code"].isin(_balises(ctx))], thresholds=inv.attrs["thresholds"],
                                  labels=ctx.labels, title="Dispersion des balises entre territoires")


def _map(ctx):
    from analyse.reporting import plots

    if ctx.material.codes.empty or len(ctx.territories) > MAX_TERRITORY_COLUMNS:
        return None
    table, balises = ctx.code_territory, _balises(ctx)
    return plots.heatmap_shares(table[table["code"].isin(balises)], codes=balises, labels=ctx.labels,
                                title="Balises par territoire (part des segments codés)")


def _spread(ctx):
    from analyse.reporting import plots

    if ctx.material.codes.empty or len(ctx.territories) <= MAX_TERRITORY_COLUMNS:
        return None
    return plots.share_spread(ctx.code_spread, codes=_balises(ctx), labels=ctx.labels,
                              title="Balises d'un territoire à l'autre (part des segments codés)")


def _saturation(ctx):
    from analyse.reporting import plots

    return plots.saturation_curve(ctx.saturation())


def _network(ctx):
    from analyse.analysis import cooccurrence
    from analyse.reporting import plots

    if ctx.material.codes.empty:
        return None
    pairs = cooccurrence.cooccurrence(ctx.material, unit="segment")
    return plots.cooccurrence_network(pairs, cooccurrence.code_frequencies(ctx.material), top=30, min_together=3,
                                      labels=ctx.labels, title="Réseau des co-occurrences (segments)")


def _specificities(ctx):
    from analyse.reporting import plots

    if len(ctx.territories) > MAX_TERRITORY_COLUMNS:    # a table of five words each instead
        return None
    return plots.specificity_bars(ctx.for_audience(ctx.specificities), n=10)


SYNTHESIS_FIGURES = {"dispersion": _dispersion, "carte": _map, "repartition": _spread, "saturation": _saturation,
                     "reseau": _network, "specificites": _specificities}


def draw(ctx, name: str):
    """The figure ``name`` of ``ctx``'s report (a matplotlib Figure, or None where it has none)."""
    return (TERRITORY_FIGURES if ctx.territory is not None else SYNTHESIS_FIGURES)[name](ctx)


def stored_figures(ctx) -> tuple[dict, object]:
    """``({name: title}, folder)`` of the report's figures for its audience: read, or drawn (every figure
    at once) and stored first."""
    from analyse.reporting.context_store import part_folder, read_part, write_part
    from analyse.reporting.report import figure_png

    drawers = TERRITORY_FIGURES if ctx.territory is not None else SYNTHESIS_FIGURES
    params = {"format": FIGURES_PART_FORMAT, "report": ctx.territory or "synthese", "audience": ctx.report.audience}
    folder = part_folder(ctx.store, FIGURES_PART, params)
    got = read_part(folder)
    if got is None:
        titles, files = {}, {}
        for name, drawer in drawers.items():
            fig = drawer(ctx)
            if fig is not None:
                files[f"{name}.png"], titles[name] = figure_png(fig)
        write_part(folder, {"titles": titles}, {}, files)
        got = read_part(folder)
    return got[0]["titles"], folder
