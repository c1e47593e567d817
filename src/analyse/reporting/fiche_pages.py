"""Fiches de décontextualisation rendered: a section of the synthesis report and the groupe-miroir handout.

The fiches are the researchers' work (``fiches/<code>.yaml``, see
:mod:`analyse.privacy.fiches`); this module only reads them. The flow:

1. :func:`collect_fiches`: every fiche the team wrote, as written, then an
   in-memory draft (:func:`analyse.privacy.fiches.prefill`, never written to
   disk) for each current invariant that has no fiche yet;
2. :func:`verbatim_rows`: one row per verbatim of each fiche, re-checked
   against today's corpus and masking: its segment must exist and not be a
   facilitator's turn, its text is masked again (a safety net over a fiche
   written months ago) and scored (:func:`analyse.privacy.risk.reidentification_risk`).
   A fiche whose showable verbatims come from fewer than two territories is
   completed from the analysis's own low-risk choices; if that is not enough,
   the groupe miroir sees none of them. Every row says why it is held back;
3. :func:`render_section` turns fiches and rows into HTML through the Jinja
   templates of ``templates/pages`` (autoescaped: a fiche holding ``<script>``
   shows it as text). ``public=True`` gives the groupe-miroir version: masked,
   pseudonymised, no territory, segment or score.

:func:`synthesis_fiches` does all three for a report notebook and leaves the
public version, as data, in the report's folder (:data:`HANDOUT_DATA`); the
batch turns it into the handout page (:func:`write_handout`).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from analyse.messages import msg

if TYPE_CHECKING:
    import pandas as pd
# pandas and the privacy modules are imported inside the functions that need them: the batch's parent
# imports this module for the handout only, before and after the reports run (≈ 0.4 s serial).

TEMPLATES = Path(__file__).parent / "templates" / "pages"
HANDOUT_DATA = "fiches-groupe-miroir.json"    # written by the synthesis notebook into its own folder
HANDOUT_PAGE = "fiches.html"                  # written by the batch into the published folder
MIN_TERRITORIES = 2
ROW_COLUMNS = ["code", "source", "segment", "territory", "original", "text", "risk", "risk_terms",
               "public", "reason"]
_PLACEHOLDER = re.compile(r"\[[^\]\n]{1,40}\]")


@dataclass
class ShownFiche:
    """A fiche as the reports show it: its content, and whether the team wrote it."""

    fiche: dict
    written: bool                      # False: a draft made from the analysis (no file yet)
    current_class: str | None = None   # the code's class today (None: not in the invariance table)

    @property
    def code(self) -> str:
        return str(self.fiche.get("code", ""))

    @property
    def still_invariant(self) -> bool:
        return self.current_class is None or self.current_class.startswith("invariant")


@dataclass
class FicheView:
    """Fiches, their verbatims (shown or held back, and why) and the problems of the fiche files."""

    fiches: list[ShownFiche]
    rows: pd.DataFrame
    threshold: float
    problems: list[str] = field(default_factory=list)


def collect_fiches(folder: str | Path, invariants: pd.DataFrame | None = None,
                   pool: pd.DataFrame | None = None, per_fiche: int = 4) -> list[ShownFiche]:
    """The team's fiches (sorted by file), then a draft for each invariant of ``invariants`` without one.

    Nothing is written: drafts live in memory (``analyse fiches`` writes them).
    """
    from analyse.privacy.fiches import load_fiches, prefill

    classes = {} if invariants is None else dict(zip(invariants["code"], invariants["class"].astype(str)))
    out = [ShownFiche(f, True, classes.get(f.get("code"))) for f in load_fiches(folder)]
    have = {s.code for s in out}
    if invariants is not None:
        import pandas as pd

        empty = pd.DataFrame(columns=["code", "territory", "rank", "segment", "masked", "risk", "proposed"])
        chosen = pool if pool is not None else empty
        for _, row in invariants[invariants["class"].astype(str).str.startswith("invariant")].iterrows():
            if row["code"] not in have:
                out.append(ShownFiche(prefill(row["code"], row, chosen, per_fiche), False, str(row["class"])))
    return out


def _risk(text: str, spans, risk_model) -> tuple[float, list[str]]:
    from analyse.privacy.risk import reidentification_risk

    if risk_model is None:
        return 0.0, []
    # the placeholders of a masked text (« [la commune] ») are not words of the verbatim
    shown = [(s.start, s.end) for s in spans] + [m.span() for m in _PLACEHOLDER.finditer(text)]
    return reidentification_risk(text, shown, risk_model)


def verbatim_rows(fiches: Sequence[ShownFiche], segments: pd.DataFrame, masker=None, risk_model=None,
                  pool: pd.DataFrame | None = None, min_territories: int = MIN_TERRITORIES) -> pd.DataFrame:
    """One row per verbatim of each fiche: the text to show, its risk, and whether the groupe miroir sees it.

    Parameters
    ----------
    fiches : list of ShownFiche
    segments : DataFrame
        ``segment, territory, role, text`` of every segment (e.g. ``Context.segments``).
    masker : analyse.privacy.masking.Masker, optional
        Masks each verbatim's text again (a fiche's text may predate today's lexicons). Use
        one without spaCy (``load_masker(project, corpus, nlp=None)``): run on a text that is
        masked already, the statistical NER takes words next to a placeholder for names
        (« [un·e habitant·e]. Moi, … » → « [une personne], … »).
    risk_model : analyse.privacy.risk.RiskModel, optional
        Scores what stays visible; above its threshold a verbatim is held back.
    pool : DataFrame, optional
        :func:`analyse.privacy.decontext.decontextualised_verbatims` for the fiches' codes:
        the analysis's low-risk choices, used to reach ``min_territories``.

    Returns
    -------
    DataFrame
        ``code, source (fiche | analyse), segment, territory, original, text, risk,
        risk_terms, public, reason`` (``reason`` empty when ``public``).
    """
    from analyse.privacy.decontext import FACILITATOR

    threshold = getattr(risk_model, "threshold", math.inf)
    by_id = segments.set_index("segment")
    rows: list[dict] = []
    for shown in fiches:
        code = shown.code
        mine: list[dict] = []
        for v in shown.fiche.get("verbatims") or []:
            if not isinstance(v, dict):
                continue
            seg_id = str(v.get("segment", ""))
            written = str(v.get("texte") or "").strip()
            row = {"code": code, "source": "fiche" if shown.written else "analyse", "segment": seg_id,
                   "territory": v.get("territoire"), "original": "", "text": written, "risk": float("nan"),
                   "risk_terms": "", "public": False, "reason": ""}
            if seg_id not in by_id.index:
                row["reason"] = msg("fp.reason.not_in_corpus")
            else:
                seg = by_id.loc[seg_id]
                row["territory"], row["original"] = seg["territory"], str(seg["text"])
                base = written or row["original"]
                if seg.get("role") == FACILITATOR:
                    row["reason"] = msg("fp.reason.facilitator")
                else:
                    masked, spans = masker.mask(base, seg["territory"]) if masker is not None else (base, [])
                    score, terms = _risk(base, spans, risk_model)
                    row.update(text=masked, risk=score, risk_terms="; ".join(terms))
                    if score > threshold:
                        row["reason"] = msg("fp.reason.risk", threshold=_num(threshold))
                    else:
                        row["public"] = True
            mine.append(row)
        territories = {r["territory"] for r in mine if r["public"]}
        if pool is not None and len(territories) < min_territories and len(pool):
            listed = {r["segment"] for r in mine}
            extra = pool[(pool["code"] == code) & pool["proposed"].astype(bool) & ~pool["segment"].isin(listed)]
            for r in extra.sort_values(["rank", "territory", "segment"]).itertuples():
                if len(territories) >= min_territories:
                    break
                if r.territory in territories:
                    continue
                territories.add(r.territory)
                mine.append({"code": code, "source": "analyse", "segment": r.segment, "territory": r.territory,
                             "original": r.original, "text": r.masked, "risk": float(r.risk),
                             "risk_terms": r.risk_terms, "public": True, "reason": ""})
        if len(territories) < min_territories:
            for r in mine:
                if r["public"]:
                    r["public"], r["reason"] = False, msg("fp.reason.one_territory")
        rows += mine
    import pandas as pd

    return pd.DataFrame(rows, columns=ROW_COLUMNS)


def _num(value) -> str:
    from analyse.textutil import fr_number

    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else fr_number(value, 2)


def build_view(folder: str | Path, segments: pd.DataFrame, invariants: pd.DataFrame | None = None,
               masker=None, risk_model=None, pool: pd.DataFrame | None = None, codes: Sequence[str] = (),
               corpus=None) -> FicheView:
    """:func:`collect_fiches` and :func:`verbatim_rows` together, with the fiche files' problems.

    ``codes`` (the codebook's ids) and ``corpus`` let the fiche files be checked
    (:func:`analyse.privacy.fiches.validate_fiches`); a fiche that does not read as YAML is
    left out and named among the problems.
    """
    from analyse.privacy.fiches import validate_fiches

    fiches = collect_fiches(folder, invariants, pool)
    rows = verbatim_rows(fiches, segments, masker, risk_model, pool)
    problems = []
    if corpus is not None and Path(folder).is_dir():
        problems = [str(p) for p in validate_fiches(folder, list(codes), corpus).items]
    return FicheView(fiches, rows, getattr(risk_model, "threshold", math.inf), problems)


# ---------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------

def _env():
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html", "j2"]),
                       trim_blocks=True, lstrip_blocks=True)


def labels() -> dict[str, str]:
    """The French words of the fiche templates."""
    return {"title": msg("fp.title"), "todo": msg("fp.todo"), "verbatims": msg("fp.verbatims"),
            "no_public_verbatim": msg("fp.no_public_verbatim")}


def fiche_entries(view: FicheView, public: bool, text: Callable[[str], str] = lambda s: s,
                  territory_label: Callable[[str], str] = str,
                  verbatim_text: Callable[[str], str] | None = None) -> list[dict]:
    """Plain data of each fiche for the templates (and the handout's JSON).

    ``text`` makes a researcher's text fit for the audience (:func:`analyse.privacy.fiches.public_text` for
    the groupe miroir); ``verbatim_text`` (default ``text``) does it for verbatims,
    which are masked already. Public entries hold showable verbatims only.
    """
    from analyse.privacy.fiches import field_items

    verbatim_text = verbatim_text or text
    out = []
    for shown in view.fiches:
        f = shown.fiche
        notes = []
        if not public:
            if not shown.written:
                notes.append(msg("fp.draft"))
            if not shown.still_invariant:
                notes.append(msg("fp.not_invariant", classe=shown.current_class))
        rows = view.rows[view.rows["code"] == shown.code]
        verbatims = []
        for r in rows.itertuples():
            if public:
                if r.public:
                    verbatims.append({"text": verbatim_text(r.text)})
                continue
            terms = f" ({r.risk_terms})" if r.risk_terms else ""
            verbatims.append({
                "text": r.text, "original": r.original, "public": bool(r.public),
                "status": msg("fp.shown") if r.public else msg("fp.held", reason=r.reason),
                "meta": msg("fp.meta", territory=territory_label(r.territory) if r.territory else "—",
                            segment=r.segment, risk=_num(r.risk), terms=terms),
                "source": msg("fp.source.fiche" if r.source == "fiche" else "fp.source.analyse")})
        spread = f.get("diffusion") or {}
        entry = {
            "code": shown.code, "libelle": str(f.get("libelle") or ""),
            "notes": notes,
            "fields": [{"title": title, "text": text(str(f.get(name) or "").strip())}
                       for title, name in ((msg("fp.concept"), "concept_operationnel"), (msg("fp.method"), "methode"),
                                           (msg("fp.conditions"), "conditions"))],
            "lists": [{"title": title, "items": [text(i) for i in field_items(f.get(name))]}
                      for title, name in ((msg("fp.counter"), "contre_exemples"),
                                          (msg("fp.questions"), "questions"))],
            "verbatims": verbatims,
        }
        if not public:
            entry["classe"] = str(f.get("classe") or shown.current_class or "")
            entry["territoires"] = ", ".join(territory_label(t) for t in (f.get("territoires") or []))
            entry["diffusion"] = ", ".join(f"{k} {v}" for k, v in spread.items()) if isinstance(spread, dict) else ""
        out.append(entry)
    return out


def render_section(entries: list[dict], public: bool, intro: str = "", problems: Sequence[str] = ()) -> str:
    """HTML of the fiches (``templates/pages/fiches_section.html.j2``), ready to display or to include."""
    return _env().get_template("fiches_section.html.j2").render(
        fiches=entries, public=public, intro=intro, problems=list(problems), empty=msg("fp.none"),
        words=labels())


def handout_html(data: dict) -> str:
    """The groupe-miroir handout page (``templates/pages/fiches.html.j2``) from :data:`HANDOUT_DATA`."""
    return _env().get_template("fiches.html.j2").render(
        title=msg("fp.handout"), intro=msg("fp.intro_public"), fiches=data.get("fiches", []),
        illustrative=bool(data.get("illustrative")), words=labels(), empty=msg("fp.none"))


def write_handout(work_dir: str | Path, out_dir: str | Path, ok: bool = True) -> Path | None:
    """Render the handout from the synthesis's data (in its ``work_dir``) into ``out_dir``.

    Without data, or when the synthesis failed (``ok`` false), no page: an old one is removed.
    """
    data_path = Path(work_dir) / HANDOUT_DATA
    page = Path(out_dir) / HANDOUT_PAGE
    if not ok or not data_path.is_file():
        if page.exists():
            page.unlink()
        return None
    data = json.loads(data_path.read_text(encoding="utf-8"))
    page.write_text(handout_html(data), encoding="utf-8")
    return page


# ---------------------------------------------------------------------------
# The synthesis notebook's one call
# ---------------------------------------------------------------------------

def synthesis_fiches(ctx, masker=None, risk_model=None):
    """The fiches section of the synthesis, for the report's audience; also leaves the handout's data.

    Researchers see every fiche with each verbatim's risk score, the terms that drive
    it, and why a verbatim is held back; the groupe miroir sees the fiches masked and
    pseudonymised, with showable verbatims only. Either way, the public version is saved
    as :data:`HANDOUT_DATA` in the report's folder, for the batch's handout page.
    Fiche files are only read.
    """
    from IPython.display import HTML

    from analyse.privacy.decontext import decontextualised_verbatims
    from analyse.privacy.fiches import load_fiches, public_text
    from analyse.privacy.masking import load_masker
    from analyse.privacy.risk import corpus_risk_model

    project = ctx.project
    inv = ctx.invariance()
    codes = inv.loc[inv["class"].astype(str).str.startswith("invariant"), "code"].tolist()
    if masker is None:   # the report's masker (memoised with the shared context: no spaCy when warm)
        masker = ctx.masker() if hasattr(ctx, "masker") else load_masker(project, ctx.corpus)
    # fiche texts are masked already: lexicons, participants and rules again, not spaCy (see verbatim_rows)
    again = ctx.light_masker() if hasattr(ctx, "light_masker") else load_masker(project, ctx.corpus, nlp=None)
    if risk_model is None:
        risk_model = (ctx.risk_model(masker.lexicon) if hasattr(ctx, "risk_model")
                      else corpus_risk_model(ctx.tokens, ctx.material.segments, masker.lexicon))
    folder = project.fiches_dir
    written = {f.get("code") for f in load_fiches(folder)}
    pool = decontextualised_verbatims(ctx.material, sorted(set(codes) | {c for c in written if c}),
                                      masker=masker, risk=risk_model, n=1)
    view = build_view(folder, ctx.segments, inv, again, risk_model, pool, codes=list(ctx.codebook.codes),
                      corpus=ctx.corpus)
    names = [*ctx.corpus.territories, *(ctx.territory_label(t) for t in ctx.corpus.territories)]
    public_entries = fiche_entries(view, True, lambda s: public_text(s, again, names, ctx.pseudonymiser.apply),
                                   verbatim_text=lambda s: public_text(s, None, names, ctx.pseudonymiser.apply))
    out_dir = ctx.report.out_dir
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        data = {"illustrative": bool(project.illustrative), "fiches": public_entries}
        (out_dir / HANDOUT_DATA).write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    if ctx.report.public:
        return HTML(render_section(public_entries, True, msg("fp.intro_public")))
    entries = fiche_entries(view, False, territory_label=ctx.territory_label)
    intro = msg("fp.intro_researchers", threshold=_num(view.threshold))
    problems = [msg("fp.problems", problems=" ; ".join(view.problems))] if view.problems else []
    return HTML(render_section(entries, False, intro, problems))
