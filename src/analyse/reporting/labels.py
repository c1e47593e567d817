"""Display names of territories, shared by figures, tables and headlines (no matplotlib here).

Set from the project (``balises.toml`` ``[territories]``) by :mod:`analyse.reporting.context`; a
territory without one is shown by its slug. Kept apart from :mod:`analyse.reporting.plots` so that a
report that shows stored figures only never imports matplotlib.
"""

from __future__ import annotations

TERRITORY_LABELS: dict[str, str] = {}
# Past this many territories a code × territory map or one panel per territory no longer reads:
# reports show the spread of each code (share_spread) and sorted tables instead.
MAX_TERRITORY_COLUMNS = 12


def set_territory_labels(names: dict[str, str]) -> None:
    """Use these display names (``{slug: name}``, from the project) in every figure."""
    TERRITORY_LABELS.clear()
    TERRITORY_LABELS.update(names)


def territory_label(slug: str) -> str:
    """The territory's display name from the project (balises.toml), else the slug itself.

    Examples
    --------
    >>> set_territory_labels({"le-mene": "Le Mené"})
    >>> territory_label("le-mene"), territory_label("pays-de-bray")
    ('Le Mené', 'pays-de-bray')
    """
    return TERRITORY_LABELS.get(slug, slug)
