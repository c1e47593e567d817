"""The French messages: every key a module asks for exists, every message is used."""

from __future__ import annotations

import re
from pathlib import Path

from analyse.messages import MESSAGES, msg

SRC = Path(__file__).resolve().parents[1] / "src" / "analyse"
# keys built at run time: msg(f"severity.{s}"), msg(f"agr.reason.{key}"), ...
DYNAMIC = ("severity.", "agr.reason.", "agr.col.", "agr.def.", "agr.plot.", "batch.audience.", "ev.scheme.", "ev.method.", "ev.short.", "json.", "yaml.")


def _used_keys() -> set[str]:
    keys = set()
    for path in SRC.rglob("*.py"):
        keys |= set(re.findall(r"""msg\(\s*["']([\w.]+)["']""", path.read_text(encoding="utf-8")))
        # conditional keys: msg("a" if ... else "b")
        keys |= set(re.findall(r"""msg\(\s*["'][\w.]+["']\s+if .*? else ["']([\w.]+)["']""",
                               path.read_text(encoding="utf-8")))
    return keys


def test_every_key_used_in_the_code_exists():
    missing = sorted(k for k in _used_keys() - set(MESSAGES) if not k.endswith("."))   # msg('severity.' + s)
    assert not missing, missing


def test_every_message_is_used():
    unused = sorted(k for k in set(MESSAGES) - _used_keys() if not k.startswith(DYNAMIC))
    assert not unused, unused


def test_fields_are_filled_and_braces_kept():
    assert msg("unknown_code", code="ENG.9") == "code inconnu « ENG.9 »"
    assert msg("cb.pattern_example").startswith('par exemple [{LEMMA: "faire"}')


def test_every_call_fills_exactly_the_fields_of_its_template():
    import ast
    import string

    wrong = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "msg" and node.args
                    and isinstance(node.args[0], ast.Constant) and node.args[0].value in MESSAGES):
                continue
            if any(k.arg is None for k in node.keywords):      # msg(key, **fields)
                continue
            key = node.args[0].value
            fields = {f for _, f, _, _ in string.Formatter().parse(MESSAGES[key]) if f}
            given = {k.arg for k in node.keywords}
            if fields != given:
                wrong.append((path.name, node.lineno, key, sorted(fields), sorted(given)))
    assert not wrong, wrong
