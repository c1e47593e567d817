"""The shape of the package: a light CLI, no cycle, no domain module reaching back into the CLI."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from analyse.cli import COMMANDS

SRC = Path(__file__).resolve().parents[2] / "src" / "analyse"
HEAVY = ("spacy", "sklearn", "pandas", "matplotlib", "jsonschema", "scipy", "numpy")


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level_imports(path: Path) -> set[str]:
    """Modules of ``analyse`` imported at module level (imports inside functions are lazy by design)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("analyse"):
            found.add(node.module)
            for alias in node.names:  # from analyse.analysis import invariants
                found.add(f"{node.module}.{alias.name}")
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("analyse"))
    return found


MODULES = {_module_name(p): p for p in SRC.rglob("*.py")}


def _all_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_no_domain_module_imports_the_cli():
    offenders = [name for name, path in MODULES.items()
                 if not name.startswith("analyse.cli")
                 and any(m == "analyse.cli" or m.startswith("analyse.cli.") for m in _all_imports(path))]
    assert not offenders


def test_no_import_cycle_at_module_level():
    graph = {name: {m for m in _top_level_imports(path) if m in MODULES and m != name}
             for name, path in MODULES.items()}
    # a package's __init__ importing its own children is not a cycle of concern
    for name in graph:
        graph[name] = {m for m in graph[name] if not m.startswith(name + ".")}
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node, stack):
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle.extend(stack[stack.index(nxt):] + [nxt])
                return True
            if nxt not in state and visit(nxt, stack + [nxt]):
                return True
        state[node] = 2
        return False

    for n in sorted(graph):
        if n not in state and visit(n, [n]):
            break
    assert not cycle, " → ".join(cycle)


def test_modules_stay_small_or_say_why():
    long = [f"{name} ({n} lines)" for name, path in MODULES.items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > 550
            and "Why this module is long" not in path.read_text(encoding="utf-8")[:3000]]
    assert not long


@pytest.mark.parametrize("argv", [["--help"], *[[name, "--help"] for name in COMMANDS]])
def test_help_imports_no_heavy_library(argv):
    code = ("import sys\nfrom analyse.cli import main\n"
            f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stdout[-500:]


def test_every_registered_command_builds_its_options():
    import importlib

    from analyse.cli import build_parser
    build_parser(None)  # every command's options together: no clash
    for name, (module, help_text, _) in COMMANDS.items():
        mod = importlib.import_module(module)
        assert callable(mod.add_arguments) and callable(mod.run) and help_text


def test_literal_choices_match_the_library():
    from analyse.analysis import invariants
    from analyse.cli import agreement as cli_agreement
    from analyse.cli import batch as cli_batch
    from analyse.cli import invariants as cli_invariants
    from analyse.cli import refi as cli_refi
    from analyse.exchange import refi, taguette
    from analyse.reliability import agreement
    from analyse.reporting import report

    assert cli_agreement.LEVELS == agreement.LEVELS and cli_agreement.BY == agreement.BY
    assert cli_agreement.OVERLAPS == agreement.OVERLAPS
    assert cli_agreement.MACHINE_COVERAGE == agreement.MACHINE_COVERAGE
    assert (cli_invariants.HOWS, cli_invariants.LEVELS, cli_invariants.UNITS) == (
        invariants.HOWS, invariants.LEVELS, invariants.UNITS)
    assert cli_refi.OFFSET_UNITS == refi.OFFSET_UNITS and cli_refi.TAGUETTE_USER == taguette.TAGUETTE_USER
    assert tuple(cli_batch.AUDIENCES) == tuple(report.AUDIENCES)


def test_exit_codes(tmp_path):
    from analyse.cli import main
    assert main(["codebook", "--codebook", str(tmp_path / "absent.yaml")]) == 2      # wrong usage
    bad = tmp_path / "bad.yaml"
    bad.write_text("codes: [\n", encoding="utf-8")
    assert main(["codebook", "--codebook", str(bad)]) == 1                          # bad data
