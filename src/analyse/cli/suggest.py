"""``analyse suggest``: machine-suggested codings, written apart from the coders' files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analyse.cli.common import add_nlp_options, load_for_coding, nlp_layer, note
from analyse.errors import EXIT_OK, UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Propose des codes pour des textes libres (--texts) ou pour les segments d'un territoire "
                          "qu'un codeur n'a pas encore couverts (--territory). Rien n'est jamais écrit dans le "
                          "dossier des codages.")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--texts", metavar="IN.jsonl", help='lignes {"id": …, "text": …} à coder')
    what.add_argument("--territory", metavar="SLUG", help="proposer pour les segments non couverts de ce territoire")
    parser.add_argument("--out", metavar="OUT.jsonl",
                        help="fichier de sortie (obligatoire avec --texts ; défaut : outputs/suggestions/<SLUG>.jsonl)")
    parser.add_argument("--coder", default="A",
                        help="codeur dont les segments non couverts reçoivent des propositions (défaut : A)")
    parser.add_argument("--model", default=None,
                        help="fichier du modèle (défaut : outputs/models/model.joblib ; entraîné sur A s'il manque)")
    parser.add_argument("--trust-model", action="store_true",
                        help="accepter un --model pris hors de outputs/models/ (un modèle peut exécuter du code)")
    parser.add_argument("--no-rules", action="store_true", help="pas de propositions par règles")
    parser.add_argument("--no-model", action="store_true", help="pas de propositions du modèle appris")
    add_nlp_options(parser)


def obtain_model(args, project, corpus, book, codings, layer):
    """The model at ``--model``, or one trained and saved now if absent (said on stderr)."""
    from analyse.coding.autocode import current_training_hash, load_model, save_model, train_model

    path = Path(args.model) if args.model else project.model_path
    if path.is_file():
        model, meta = load_model(path, book, layer.key, trusted_dir=project.models_dir,
                                 trust=getattr(args, "trust_model", False))
        if meta.get("training_hash") != current_training_hash(corpus, codings, meta.get("coder", "A")):
            note(f"{path} a été entraîné sur d'autres codages que les actuels : lancer `analyse train` "
                 "pour le mettre à jour")
        pool = meta.get("realtext_pool") or {}
        if pool.get("used"):
            from analyse.coding.realtext import read_training_pool, training_folders
            from analyse.errors import AnalyseError

            try:
                current = read_training_pool(training_folders(Path(corpus.root).parent), book)[1]["hash"]
            except AnalyseError:
                current = None
            if current != pool.get("hash"):
                note(f"{path} a appris d'autres textes réels que ceux de training/ aujourd'hui : lancer `analyse "
                     "train` pour le mettre à jour")
        return model, meta, path
    coder = "A"
    note(f"pas de modèle dans {path} : entraînement sur les codages du codeur {coder} (une minute environ)…")
    model, meta = train_model(corpus, book, codings, coder, layer)
    save_model(model, meta, path)
    note(f"modèle enregistré dans {path} ({len(model.classes_)} codes appris ; {len(model.skipped_)} avec moins de "
         f"{model.min_positives} exemples et {len(model.unreliable_)} sous un F1 interne de {model.min_cv_f1} "
         "laissés de côté)")
    return model, meta, path


def _guard_output(out: Path, codings_dir: Path) -> None:
    out_r, cod_r = out.resolve(), Path(codings_dir).resolve()
    if out_r == cod_r or cod_r in out_r.parents:
        raise UsageError(f"refus d'écrire des propositions dans le dossier des codages {codings_dir}",
                         str(out), hint="écrire les propositions ailleurs, par exemple --out outputs/suggestions/textes.jsonl")


def refuse_blind_coder(coder: str, codings_dir) -> None:
    """A coder working blind (coders registry) must never see machine suggestions: refuse."""
    from analyse.model.coders import load_registry

    registry = load_registry(codings_dir)
    if registry is not None and coder in registry and registry[coder].blind:
        raise UsageError(f"le codeur {coder} code à l'aveugle (« blind: true » dans le registre des codeurs) : "
                         "aucune proposition automatique ne lui est faite",
                         hint="les propositions fausseraient l'étude d'accord ; choisir un codeur qui ne code "
                              "pas à l'aveugle, ou corriger le registre si c'est une erreur")


def run(args: argparse.Namespace) -> int:
    return _suggest_texts(args) if args.texts else _suggest_territory(args)


def _suggest_texts(args) -> int:
    from analyse.coding.suggestions import read_texts, score_texts, text_results, write_lines

    if not args.out:
        raise UsageError("--texts demande --out OUT.jsonl")
    items = read_texts(args.texts)            # every input error surfaces before any work
    out = Path(args.out)
    if out.resolve() == Path(args.texts).resolve():
        raise UsageError("--out ne doit pas être le fichier d'entrée", str(out))
    project, corpus, book, codings = load_for_coding(args)
    _guard_output(out, project.codings_dir)
    layer = nlp_layer(args, project)
    model, meta, _ = obtain_model(args, project, corpus, book, codings, layer)
    proba = score_texts([t for _, t in items], model, layer)
    results = text_results([i for i, _ in items], proba, model)
    from analyse.fileio import dumps_line
    write_lines(out, (dumps_line(r) for r in results))
    coded = sum(1 for r in results if r["codes"])
    print(f"analyse : {len(results)} texte(s) lu(s), {coded} avec au moins un code proposé, "
          f"{len(results) - coded} sans proposition (abstention) → {out}", file=sys.stderr)
    return EXIT_OK


def _suggest_territory(args) -> int:
    import pandas as pd

    from analyse.coding.autocode import RuleSuggester
    from analyse.coding.suggestions import SUGGESTION_FIELDS, SuggestionFile, suggest_segments
    from analyse.model.codings import check_coder_id

    check_coder_id(args.coder)
    project, corpus, book, codings = load_for_coding(args)
    refuse_blind_coder(args.coder, project.codings_dir)
    if args.territory not in corpus.territories:
        raise UsageError(f"territoire inconnu « {args.territory} »",
                         hint=f"territoires : {', '.join(corpus.territories)}")
    covered = set(codings.coverage.loc[codings.coverage["coder"] == args.coder, "doc"])
    segments = [s for s in corpus.segments if s.territory == args.territory and s.doc not in covered]
    out = Path(args.out) if args.out else project.suggestions_dir / f"{args.territory}.jsonl"
    _guard_output(out, project.codings_dir)
    sfile = SuggestionFile(out)
    layer = nlp_layer(args, project)
    rules = None if args.no_rules else RuleSuggester(book, layer.nlp)
    model = meta = None
    if not args.no_model:
        model, meta, _ = obtain_model(args, project, corpus, book, codings, layer)
    already = codings.frame[codings.frame["coder"] == args.coder]
    exclude = set(zip(already["segment"], already["code"])) | sfile.decided_pairs()
    records = suggest_segments(segments, layer=layer, rules=rules, model=model, exclude=exclude,
                               model_version=(meta or {}).get("model_version"), codebook_version=book.version)
    n = sfile.write(records)
    frame = pd.DataFrame(records, columns=SUGGESTION_FIELDS)
    docs = len({s.doc for s in segments})
    print(f"{args.territory} : {len(segments)} segment(s) dans {docs} document(s) non couverts par le codeur "
          f"{args.coder} ; {n} proposition(s) pour {frame['segment'].nunique()} segment(s) "
          f"(règles : {int((frame['origin'] == 'rule').sum())}, modèle : {int((frame['origin'] == 'model').sum())}) "
          f"→ {out}")
    if not segments:
        print(f"(le codeur {args.coder} a couvert tous les documents de {args.territory} : rien à proposer)")
    elif n:
        table = (frame.groupby(["code", "origin"]).size().unstack(fill_value=0)
                 .reindex(columns=["rule", "model"], fill_value=0))
        table = table.reindex([c for c in book.codes if c in table.index])
        print(table.to_string())
    return EXIT_OK
