"""Shared text helpers: folding, French numbers, allowed choices."""

from __future__ import annotations

import pytest

from analyse.errors import UsageError
from analyse.textutil import check_choice, fold, fold_chars, fr_number, fr_percent, normalise_text


def test_fold_ignores_case_accents_and_surrounding_space():
    assert fold("  Élue ") == fold("elue") == "elue"
    assert fold("Œuvre") != fold("oeuvre")          # a ligature is a letter of its own, as before
    text = "Loos-en-Gohelle, l’Été"
    assert len(fold_chars(text, {"-": " "})) == len(text)


def test_numbers_are_written_the_french_way():
    assert fr_number(1234567.891, 2) == "1\u202f234\u202f567,89"
    assert fr_number(-0.0001) == "0,000" and fr_number(-1.5, 1) == "−1,5"
    assert fr_percent(0.9712) == "97,1\xa0%" and fr_percent(None) == "—"


def test_text_from_other_tools_is_normalised():
    assert normalise_text(" e\u0301te\u0301\r\n") == "été"


def test_a_wrong_choice_lists_the_allowed_values():
    with pytest.raises(UsageError, match="level : valeur « mot » inconnue") as err:
        check_choice("level", "mot", ("segment", "document"))
    assert err.value.hint == "valeurs possibles : segment, document"


def test_yaml_errors_are_french_with_either_loader():
    # The corpus reads front matter with PyYAML's C loader where it is installed, the pure-Python one
    # elsewhere: their messages differ, and both must come out in French.
    import yaml

    from analyse.messages import MESSAGES
    from analyse.textutil import fr_yaml_error

    french = {v.format() for k, v in MESSAGES.items() if k.startswith("yaml.")}
    broken = ["a: [1, 2", "a: {b: 1", "a:\n  - b\n c: d", "a: b: c", "a:\n\tb: 1", "a: &x 1\nb: *y",
              "- a\nb: c", "a: 'b", "a:\n  b: 1\n - c", "a: b\n  c: d"]
    loaders = [yaml.SafeLoader] + ([yaml.CSafeLoader] if hasattr(yaml, "CSafeLoader") else [])
    for text in broken:
        for loader in loaders:
            with pytest.raises(yaml.YAMLError) as err:
                yaml.load(text, Loader=loader)
            assert fr_yaml_error(err.value) in french, (loader.__name__, text, fr_yaml_error(err.value))


def test_babel_is_imported_only_to_write_a_number():
    import subprocess
    import sys

    code = ("import sys, analyse.textutil as t; a = 'babel' in sys.modules; t.fr_number(1.5); "
            "print(a, 'babel' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert proc.stdout.split() == ["False", "True"]
