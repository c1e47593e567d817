"""``analyse invariants``: which codes recur in every territory, which belong to one."""

from __future__ import annotations

import argparse
import json

from analyse.cli.common import note
from analyse.errors import EXIT_OK

# Same values as analyse.analysis.invariants (literal so that --help imports no pandas; tested).
HOWS = ("union", "majority")
LEVELS = ("code", "dimension")
UNITS = ("segments", "words")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--coders", nargs="+", metavar="CODEUR",
                        help="codeur(s), par exemple A, ou A B, ou consensus (défaut : la règle du projet, "
                             "consensus s'il existe, sinon le codeur principal de balises.toml)")
    parser.add_argument("--how", choices=HOWS, default="union",
                        help="réunir plusieurs codeurs par union (défaut) ou majorité")
    parser.add_argument("--level", choices=LEVELS, default="code", help="codes (défaut) ou dimensions")
    parser.add_argument("--unit", choices=UNITS, default="segments",
                        help="fréquences en segments codés (défaut) ou en mots codés")
    parser.add_argument("--n-boot", type=int, default=500, help="tirages du bootstrap (défaut : 500)")
    parser.add_argument("--seed", type=int, default=0, help="graine du bootstrap (défaut : 0)")
    seuils = parser.add_argument_group("seuils (défauts : ceux de la méthode, rappelés avec les résultats)")
    seuils.add_argument("--min-segments", type=int, help="rare en dessous de ce nombre de segments codés")
    seuils.add_argument("--min-per-territory", type=int,
                        help="un invariant demande ce nombre de segments dans chaque territoire")
    seuils.add_argument("--d-inv", type=float, help="un invariant demande D supérieur ou égal à ce seuil")
    seuils.add_argument("--s-sing", type=float,
                        help="singulier quand le premier territoire détient cette part")
    seuils.add_argument("--d-sing", type=float, help="singulier quand D est inférieur à ce seuil")
    seuils.add_argument("--min-coded-segments", type=int, default=None,
                        help="un territoire qui a moins de segments codés est signalé et laissé hors du "
                             "classement (défaut : [analysis] min_coded_segments de balises.toml)")
    parser.add_argument("--json", action="store_true", help="écrire du JSON plutôt qu'un tableau")


def load_material_inputs(args, coders):
    """Corpus, codebook (None when absent) and the chosen coders' codings."""
    from analyse.project import Project

    project = Project.from_args(args)
    corpus = project.load_corpus()
    book = project.load_codebook() if project.codebook_path.exists() else None
    return corpus, book, project.load_codings(corpus, book, coders=coders or None)


def analysed_coders(args) -> list[str]:
    """``--coders``, else the project's one rule (the same as the batch and the notebooks)."""
    from analyse.project import Project

    return list(args.coders or [Project.from_args(args).analysed_coder()])


def run(args: argparse.Namespace) -> int:
    from dataclasses import fields

    import pandas as pd

    from analyse.analysis.invariants import Thresholds, codebook_labels, coded_material, invariance_table

    from analyse.analysis.material import align, coverage_table
    from analyse.model.corpus import segments_frame
    from analyse.project import Project

    coders = analysed_coders(args)
    corpus, book, codings = load_material_inputs(args, coders)
    material = align(segments_frame(corpus), coded_material(corpus, codings, coders=coders, how=args.how)).material
    minimum = (args.min_coded_segments if args.min_coded_segments is not None
               else Project.from_args(args).min_coded_segments)
    given = {f.name: getattr(args, f.name) for f in fields(Thresholds) if getattr(args, f.name, None) is not None}
    t = Thresholds(**given)
    table = invariance_table(material, level=args.level, unit=args.unit, n_boot=args.n_boot,
                             seed=args.seed, thresholds=t, labels=codebook_labels(book, args.level),
                             min_coded_segments=minimum)
    for n in material.notes:
        note(n)
    excluded = table.attrs["excluded_territories"]
    if excluded:
        note(f"peu de matériau codé (moins de {minimum} segments, balises.toml) : {', '.join(excluded)} — "
             "hors du classement")
    partial = coverage_table(segments_frame(corpus), material, minimum)
    partial = partial[partial["segments_coded"] < partial["segments"]]
    if len(partial) and not args.json:
        note("codage partiel : " + ", ".join(f"{t} {round(100 * s)} % codé" for t, s in
                                              zip(partial["territory"], partial["coded_share"].fillna(0))))
    if args.json:
        out = {"coders": list(material.coders), "how": material.how, **table.attrs,
               "coverage": json.loads(coverage_table(segments_frame(corpus), material, minimum)
                                      .to_json(orient="records", force_ascii=False)),
               "rows": json.loads(table.to_json(orient="records", force_ascii=False))}
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return EXIT_OK
    shown = table.copy()
    shown["label"] = shown["label"].str.slice(0, 40)
    for col in ("top_share", "D", "D_low", "D_high", "entropy", "entropy_low", "entropy_high"):
        shown[col] = pd.to_numeric(shown[col]).round(3)
    print(f"Codeur(s) analysé(s) : {', '.join(material.coders)} ({material.how}) ; niveau : {args.level} ; "
          f"unité : {args.unit} ; {len(table.attrs['territories'])} territoires ; "
          f"bootstrap : {args.n_boot} tirages, graine {args.seed}")
    print(f"Seuils : rare < {t.min_segments} segments ; invariant : partout ≥ {t.min_per_territory} "
          f"segments et D ≥ {t.d_inv} ; singulier : part du premier ≥ {t.s_sing} ou D < {t.d_sing}")
    with pd.option_context("display.max_rows", 500, "display.width", 200, "display.max_colwidth", 40):
        print(shown[["code", "label", "territories", "segments", "top_territory", "top_share",
                     "D", "D_low", "D_high", "entropy", "class"]].to_string(index=False))
    return EXIT_OK
