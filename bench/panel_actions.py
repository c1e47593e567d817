"""How long a coder waits after each action of the coding panel (target: every action under 150 ms).

The panel is opened on the longest bundled document with the real codebook (widgets built, as in
JupyterLab, without a browser: what is timed is the kernel's side — the write to the coder's file,
the re-reading of state, the widgets' new values; the browser then only redraws). The coder's file
goes to a temporary folder: the bundled codings are never touched. Each action is repeated in
rounds; min and median are printed.

Usage: ``python bench/panel_actions.py [--rounds 15]``. Exits 1 if a median misses the target.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_MS = 150.0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args(argv)

    from analyse.model.codebook import load_codebook
    from analyse.model.corpus import load_corpus
    from analyse.model.codings import CodingStore
    from analyse.ui.panel import CodingPanel

    corpus = load_corpus(ROOT / "corpus")
    book = load_codebook(ROOT / "codebook" / "balises.yaml")
    doc = max(corpus.documents, key=lambda d: len(corpus.segments_of(d)))
    with tempfile.TemporaryDirectory() as tmp:
        store = CodingStore(Path(tmp))
        t0 = time.perf_counter()
        panel = CodingPanel(doc, "bench", corpus=corpus, codebook=book, store=store)
        panel.widget()
        opened = (time.perf_counter() - t0) * 1000
        panel.tree.selected_index = 0
        codes = panel.visible_codes()

        def key(k):
            panel.text._handle_custom_msg({"event": "key", "key": k, "alt": False}, [])

        actions = {
            "cocher un code (segment entier)": lambda: panel.checkboxes[codes[0]].set_trait("value", True),
            "décocher": lambda: panel.checkboxes[codes[0]].set_trait("value", False),
            "sélection dans le navigateur": lambda: panel.text.set_trait("selection", [0, 12]),
            "coder la sélection (touche 2)": lambda: key("2"),
            "retirer le passage (touche 2 sur la même sélection)": lambda: (panel.text.set_trait("selection", [0, 12]),
                                                                          key("2")),
            "segment suivant (touche j)": lambda: key("j"),
            "segment précédent (touche k)": lambda: key("k"),
            "rechercher un code dans l'arbre": lambda: panel.search.set_trait("value", "coop"),
            "effacer la recherche": lambda: panel.search.set_trait("value", ""),
        }
        times = {name: [] for name in actions}
        names = list(actions)
        for _ in range(args.rounds):
            for name in names:          # in order: each round leaves the panel as it found it
                t = time.perf_counter()
                actions[name]()
                times[name].append((time.perf_counter() - t) * 1000)
            panel.tree.selected_index = 0
        lines = store.read_lines("bench") if store.path("bench").exists() else []
    print(f"document {doc} : {len(panel.segments)} segments, grille de {len(book.codes)} codes ; "
          f"ouverture du panneau (widgets compris) : {opened:.0f} ms")
    worst = 0.0
    for name, values in times.items():
        med = statistics.median(values)
        worst = max(worst, med)
        print(f"  {name:<55} min {min(values):6.1f} ms · médiane {med:6.1f} ms")
    print(f"lignes laissées dans le fichier du codeur (temporaire) : {len(lines)}")
    if worst > TARGET_MS:
        print(f"ÉCHEC : une médiane dépasse {TARGET_MS:.0f} ms")
        return 1
    print(f"objectif tenu : chaque médiane sous {TARGET_MS:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
