"""``analyse invariants``: which codes recur in every territory, which belong to one — and how sure we are."""

from __future__ import annotations

import argparse
import json

from analyse.cli.common import note
from analyse.errors import EXIT_OK

# Same values as analyse.analysis.invariants (literal so that --help imports no pandas; tested).
HOWS = ("union", "majority")
LEVELS = ("code", "dimension")
UNITS = ("segments", "words")
THRESHOLDS = ("min_segments", "min_per_territory", "d_inv", "s_sing", "d_sing", "alpha", "min_reliability")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--coders", nargs="+", metavar="CODEUR",
                        help="codeur(s), par exemple A, ou A B, ou consensus (défaut : tous les codeurs)")
    parser.add_argument("--how", choices=HOWS, default="union",
                        help="réunir plusieurs codeurs par union (défaut) ou majorité")
    parser.add_argument("--level", choices=LEVELS, default="code", help="codes (défaut) ou dimensions")
    parser.add_argument("--unit", choices=UNITS, default="segments",
                        help="fréquences en segments codés (défaut) ou en mots codés")
    parser.add_argument("--n-boot", type=int, default=None,
                        help="tirages du bootstrap à deux niveaux (défaut : balises.toml, 500)")
    parser.add_argument("--n-perm", type=int, default=None,
                        help="permutations des territoires par strate (défaut : balises.toml, 999)")
    parser.add_argument("--seed", type=int, default=0, help="graine du bootstrap et des permutations (défaut : 0)")
    parser.add_argument("--facilitators", action="store_true",
                        help="garder les tours d'animation (laissés de côté par défaut)")
    seuils = parser.add_argument_group("seuils (défauts : balises.toml, section [method], rappelés avec les résultats)")
    seuils.add_argument("--min-segments", type=int, help="rare en dessous de ce nombre de segments codés")
    seuils.add_argument("--min-per-territory", type=int,
                        help="un invariant demande ce nombre de segments dans chaque territoire")
    seuils.add_argument("--d-inv", type=float, help="seuil de D pour un invariant (borne basse : robuste)")
    seuils.add_argument("--s-sing", type=float,
                        help="part du territoire dominant qui fait un singulier (pour quatre territoires)")
    seuils.add_argument("--d-sing", type=float, help="singulier quand la borne haute de D est sous ce seuil")
    seuils.add_argument("--alpha", type=float, help="seuil des tests de permutation")
    seuils.add_argument("--min-reliability", type=float,
                        help="alpha de Krippendorff minimal pour qu'un code puisse être invariant ou singulier")
    parser.add_argument("--json", action="store_true", help="écrire du JSON plutôt qu'un tableau")


def load_material_inputs(args, coders):
    """Project, corpus, codebook (None when absent) and the codings of every coder."""
    from analyse.project import Project

    project = Project.from_args(args)
    corpus = project.load_corpus()
    book = project.load_codebook() if project.codebook_path.exists() else None
    return project, corpus, book, project.load_codings(corpus, book)


def run(args: argparse.Namespace) -> int:
    import dataclasses

    import pandas as pd

    from analyse.analysis.invariants import codebook_labels, coded_material, invariance_table
    from analyse.analysis.material import rollup_parents
    from analyse.reliability.per_code import shared_sample_reliability

    project, corpus, book, codings = load_material_inputs(args, args.coders)
    given = {k: getattr(args, k) for k in THRESHOLDS if getattr(args, k, None) is not None}
    t = dataclasses.replace(project.thresholds(), **given)
    method = project.settings["method"]
    n_boot = method["n_boot"] if args.n_boot is None else args.n_boot
    n_perm = method["n_perm"] if args.n_perm is None else args.n_perm
    material = coded_material(corpus, codings, coders=args.coders or None, how=args.how,
                              facilitators=args.facilitators).rolled_up(rollup_parents(book))
    reliability = shared_sample_reliability(corpus, book, codings, project.agreement_coders, seed=args.seed,
                                            threshold=t.min_reliability)
    table = invariance_table(material, level=args.level, unit=args.unit, n_boot=n_boot, n_perm=n_perm,
                             seed=args.seed, thresholds=t, labels=codebook_labels(book, args.level),
                             reliability=reliability if args.level == "code" else None)
    for n in material.notes:
        note(n)
    if reliability is None:
        note("pas d'échantillon double-codé : la fiabilité des codes n'est pas mesurée, les classes sont provisoires")
    if args.json:
        out = {"coders": list(material.coders), "how": material.how, **table.attrs,
               "rows": json.loads(table.to_json(orient="records", force_ascii=False))}
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return EXIT_OK
    shown = table.copy()
    shown["label"] = shown["label"].str.slice(0, 34)
    for col in ("top_share", "D", "D_low", "D_high", "p_even", "p_conc", "alpha"):
        shown[col] = shown[col].round(3)
    print(f"Codeur(s) : {', '.join(material.coders)} ({material.how}) ; niveau : {args.level} ; "
          f"unité : {args.unit} ; {len(table.attrs['territories'])} territoires ; "
          f"bootstrap : {n_boot} tirages, permutations : {n_perm}, graine {args.seed}")
    print("Règle :")
    for line in t.describe():
        print(f"  - {line}")
    with pd.option_context("display.max_rows", 500, "display.width", 220, "display.max_colwidth", 34):
        print(shown[["code", "label", "segments", "territories", "top_territory", "top_share",
                     "D", "D_low", "D_high", "p_conc", "reliability", "class"]].to_string(index=False))
    return EXIT_OK
