"""``analyse themes``: lexical classes (Reinert) crossed with territories and balises."""

from __future__ import annotations

import argparse
import json
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--k", type=int, default=10,
                        help="nombre maximal de classes (feuilles de chaque arbre ; défaut : 10, comme IRaMuTeQ)")
    parser.add_argument("--seed", type=int, default=0, help="graine (défaut : 0) ; même graine, même résultat")
    parser.add_argument("--unit-size", type=int, default=40, metavar="N",
                        help="taille des unités de texte, en mots (défaut : 40)")
    parser.add_argument("--min-freq", type=int, default=3, metavar="F",
                        help="nombre minimal d'unités où figure une forme active (défaut : 3)")
    parser.add_argument("--coder", default=None,
                        help="codeur dont les codages sont croisés avec les classes (défaut : celui du projet, sinon A)")
    parser.add_argument("--json", action="store_true",
                        help="JSON : la classe de chaque unité de texte, et par classe taille, mots, territoires, balises")
    parser.add_argument("--promote", type=int, default=None, metavar="CLASSE",
                        help="ajoute la classe à la grille comme code candidat (status: emergent)")
    parser.add_argument("--code-id", default=None, metavar="ID",
                        help="identifiant du code créé par --promote (ex. CON.20 ; le préfixe est sa dimension)")


def _project(args):
    from analyse.project import Project
    return Project.from_args(args)


def _fr(x: float, digits: int = 1) -> str:
    return f"{x:.{digits}f}".replace(".", ",")


def _payload(rep, coder: str) -> dict:
    themes = rep.themes
    w = themes.words
    units = [{"unit": u, "segment": s, "class": int(c) if known else None}
             for u, s, c, known in zip(themes.units["unit"], themes.units["segment"], themes.units["class"],
                                       themes.units["class"].notna())]
    classes = []
    for row in rep.classes.itertuples(index=False):
        cls = int(row[0])
        top = w[(w["class"] == cls) & (w["type"] == "active") & (w["chi2"] >= 3.84)].head(15)
        terr = rep.territories[rep.territories["class"] == cls]
        label = rep.territory_labels.set_index("class").loc[cls]
        codes = rep.codes[(rep.codes["class"] == cls) & (rep.codes["chi2"] >= 3.84)].head(10)
        classes.append({
            "class": cls, "size": int(row.units), "share": round(float(row.share), 4),
            "words": [{"word": t, "chi2": round(float(c), 2)} for t, c in zip(top["lemma"], top["chi2"])],
            "territories": {"label": label["label"], "territory": label["territory"],
                            "stability": round(float(label["stability"]), 3), "fragile": bool(label["fragile"]),
                            "shares": {t: round(float(s), 4) for t, s in zip(terr["territory"], terr["share"])},
                            "ratios": {t: round(float(r), 3) for t, r in zip(terr["territory"], terr["ratio"])}},
            "balises": [{"code": c, "chi2": round(float(x), 2), "units": int(n)}
                        for c, x, n in zip(codes["code"], codes["chi2"], codes["units"])],
            "unseen": bool(row.unseen),
            "topic": row.topic,
        })
    topics = [{"topic": int(t), "words": g["lemma"].tolist(),
               "stability": round(float(rep.topics.stability.set_index("topic").loc[t, "stability"]), 3)}
              for t, g in rep.topics.words.groupby("topic")]
    return {"params": rep.themes.params | {"coder": coder}, "classified_share": round(themes.classified_share, 4),
            "classes": classes, "topics": topics, "units": units}


def _print(rep, coder: str) -> None:
    from analyse.reporting.plots import territory_label

    t = rep.themes
    p = t.params
    print(f"Classification descendante hiérarchique (méthode Reinert, double classification sur unités de "
          f"{p['unit_size']} et {p['second_size']} mots) — k = {p['k']}, graine {p['seed']}")
    print(f"{len(t.units)} unités de texte, {_fr(100 * t.classified_share, 0)} % classées, {t.k} classes.\n")
    labels = rep.territory_labels.set_index("class")
    for row in rep.classes.itertuples(index=False):
        cls = int(row[0])
        lab = labels.loc[cls]
        where = f"{lab['label']} ({territory_label(lab['territory'])})" if lab["label"] == "local" else lab["label"]
        fragile = " (fragile : moins de la moitié des rééchantillonnages le confirment)" if lab["fragile"] else ""
        print(f"Classe {cls} — {row.units} unités ({_fr(100 * row.share, 0)} %) — {where}, "
              f"stabilité {_fr(lab['stability'], 2)}{fragile}")
        w = t.words[(t.words["class"] == cls) & (t.words["type"] == "active") & (t.words["chi2"] >= 3.84)].head(10)
        print("  mots : " + ", ".join(f"{m} ({_fr(c)})" for m, c in zip(w["lemma"], w["chi2"])))
        terr = rep.territories[rep.territories["class"] == cls]
        print("  territoires : " + ", ".join(f"{territory_label(x)} {_fr(100 * s, 0)} % (×{_fr(r)})"
                                             for x, s, r in zip(terr["territory"], terr["share"], terr["ratio"])))
        codes = rep.codes[(rep.codes["class"] == cls) & (rep.codes["chi2"] >= 3.84)].head(6)
        print(f"  balises ({coder}) : " + (", ".join(f"{c} ({_fr(x)})" for c, x in zip(codes["code"], codes["chi2"]))
                                           or "aucune sur-représentée"))
        print(f"  thème NMF le plus proche : {row.topic}\n")
    if rep.codes.empty:
        print(f"Ce que la grille ne voit pas : le codeur {coder} n'a couvert aucun de ces documents "
              "(lignes de couverture), rien à comparer.")
    elif len(rep.unseen):
        print("Ce que la grille ne voit pas :")
        for row in rep.unseen.itertuples(index=False):
            print(f"  classe {row[0]} ({row.units} unités ; {_fr(100 * row.coded_share, 0)} % codées contre "
                  f"{_fr(100 * row.corpus_coded_share, 0)} % dans le corpus) : {row.words}")
    else:
        print("Ce que la grille ne voit pas : aucune classe (toutes ont des balises sur-représentées).")
    print(f"\nThèmes NMF (stabilité moyenne sur 5 graines : {_fr(rep.topics.mean_stability, 2)}) :")
    stab = rep.topics.stability.set_index("topic")["stability"]
    for topic, g in rep.topics.words.groupby("topic"):
        print(f"  thème {topic} ({_fr(stab[topic], 2)}) : {', '.join(g['lemma'].head(8))}")


def run(args: argparse.Namespace) -> int:
    from analyse import nlp
    from analyse.errors import UsageError
    from analyse.reporting.themes import themes_report

    if (args.promote is None) != (args.code_id is None):
        raise UsageError("--promote et --code-id vont ensemble", hint="ex. --promote 3 --code-id CON.20")
    project = _project(args)
    corpus = project.load_corpus()
    book = project.load_codebook()
    coder = args.coder or project.settings["coders"]["primary"]
    codings = project.load_codings(corpus, book, [coder])
    layer = nlp.NLPLayer(cache_dir=nlp.default_cache_dir(corpus.root), progress=None)
    tokens = nlp.token_frame(corpus, layer, sentences=True)
    rep = themes_report(corpus, book, codings, tokens, coder=coder, k=args.k, seed=args.seed,
                        unit_size=args.unit_size, min_freq=args.min_freq, mask=False, figures=False)
    if args.promote is not None:
        from analyse.analysis.theme_crossing import emergent_code
        from analyse.model.codebook import append_code

        code = emergent_code(rep.themes, args.promote, args.code_id, book)
        append_code(project.codebook_path, code)
        print(f"Code {args.code_id} ajouté à {project.codebook_path} (status: emergent) : « {code['label']} ». "
              "Relisez sa définition et ses critères avant de coder avec.", file=sys.stderr)
    if args.json:
        json.dump(_payload(rep, coder), sys.stdout, ensure_ascii=False, indent=1)
        print()
    else:
        _print(rep, coder)
    return 0
