"""How long ``analyse --help`` and ``analyse <commande> --help`` take, against ``python -c pass``.

Each command runs in a new process (what a user pays), alternated with the baseline over several
rounds; min and median wall times are printed with their ratio to the baseline. Target (issue #12):
``analyse --help`` ≤ 1 s wall on this machine.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

ROUNDS = 5
CASES = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "analyse --help": [sys.executable, "-m", "analyse.cli", "--help"],
    "analyse batch --help": [sys.executable, "-m", "analyse.cli", "batch", "--help"],
    "analyse suggest --help": [sys.executable, "-m", "analyse.cli", "suggest", "--help"],
}


def wall(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t


def main() -> None:
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(ROUNDS):
        for name, cmd in CASES.items():  # alternated: every round runs baseline and candidates
            times[name].append(wall(cmd))
    base = statistics.median(times["python -c pass"])
    print(f"{'commande':<26}{'min (s)':>9}{'médiane (s)':>13}{'× python':>10}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:<26}{min(ts):>9.3f}{med:>13.3f}{med / base:>10.1f}")
    verdict = "atteinte" if statistics.median(times["analyse --help"]) <= 1.0 else "MANQUÉE"
    print(f"cible « analyse --help ≤ 1 s » : {verdict}")


if __name__ == "__main__":
    main()
