"""Figures of the fiches as the synthesis renders them, on the bundled corpus (or ``--project``).

Prints, for the groupe-miroir version: fiches shown (written by the team / drafts), verbatims shown per
fiche, territories per fiche, the highest risk shown, facilitator turns shown; for researchers: verbatims
held back and why. And the time the synthesis's fiches section takes.

    .venv/bin/python bench/fiche_pages.py [--project DOSSIER]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", default=str(ROOT))
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    from analyse.privacy.decontext import decontextualised_verbatims
    from analyse.privacy.masking import load_masker
    from analyse.privacy.risk import corpus_risk_model
    from analyse.project import Project
    from analyse.reporting import fiche_pages
    from analyse.reporting.context import load_context

    project = Project.load(args.project)
    with tempfile.TemporaryDirectory() as out:
        ctx = load_context(project.corpus_dir, project.codebook_path, project.codings_dir,
                           project_dir=project.root, out_dir=out)
        t0 = time.perf_counter()
        fiche_pages.synthesis_fiches(ctx)
        seconds = time.perf_counter() - t0
        data = json.loads((Path(out) / fiche_pages.HANDOUT_DATA).read_text(encoding="utf-8"))
    inv = ctx.invariance()
    codes = inv.loc[inv["class"].str.startswith("invariant"), "code"].tolist()
    masker = load_masker(project, ctx.corpus)
    risk = corpus_risk_model(ctx.tokens, ctx.material.segments, masker.lexicon)
    written = {f.get("code") for f in fiche_pages.load_fiches(project.fiches_dir)}
    pool = decontextualised_verbatims(ctx.material, sorted(set(codes) | {c for c in written if c}),
                                      masker=masker, risk=risk, n=1)
    view = fiche_pages.build_view(project.fiches_dir, ctx.segments, inv, load_masker(project, ctx.corpus, nlp=None),
                                  risk, pool)
    rows = view.rows.merge(ctx.segments[["segment", "role"]], on="segment", how="left")
    shown = rows[rows["public"]]
    per_fiche = shown.groupby("code").agg(verbatims=("segment", "size"), territories=("territory", "nunique"))
    print(f"invariants : {len(codes)} ; fiches rendues : {len(view.fiches)} "
          f"(écrites par l'équipe : {sum(s.written for s in view.fiches)}, brouillons : "
          f"{sum(not s.written for s in view.fiches)})")
    print(f"livret (groupe miroir) : {len(data['fiches'])} fiches, "
          f"{sum(len(f['verbatims']) for f in data['fiches'])} extraits")
    print(f"extraits montrés par fiche : min {per_fiche['verbatims'].min()}, max {per_fiche['verbatims'].max()} ; "
          f"territoires par fiche : min {per_fiche['territories'].min()}, max {per_fiche['territories'].max()}")
    print(f"risque le plus haut montré : {shown['risk'].max():.2f} (seuil {risk.threshold:.2f}) ; "
          f"tours d'animateur montrés : {int((shown['role'] == 'animateur').sum())}")
    held = rows[~rows["public"]]
    print(f"extraits retenus (version chercheurs) : {len(held)}"
          + "".join(f" ; {reason} : {n}" for reason, n in held["reason"].value_counts().items()))
    print(f"section des fiches de la synthèse : {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
