"""Small text jobs done the same way everywhere: folding text for comparisons,
normalising text read back from other tools, French numbers, checking a choice.

Examples
--------
>>> fold("  Élue ")
'elue'
>>> fr_number(1234.5, 1), fr_percent(0.125)
('1\u202f234,5', '12,5\xa0%')
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Mapping

LOCALE = "fr_FR"
MINUS = "\u2212"   # typographic minus sign, for numbers shown to readers


def fr_json_error(text: str) -> str:
    """The JSON decoder's (English) message in French, or as it is when unknown.

    >>> fr_json_error("Expecting value"), fr_json_error("Autre chose")
    ('valeur attendue', 'Autre chose')
    """
    from analyse.messages import MESSAGES

    return MESSAGES.get(f"json.{text}", text)


# PyYAML's problems (English) and the French message that says the same
_YAML_PROBLEMS = [(r"^(expected|did not find expected) ',' or '\]'", "yaml.flow_sequence"),
                  (r"^(expected|did not find expected) ',' or '\}'", "yaml.flow_mapping"),
                  (r"^(expected the|did not find expected) node content", "yaml.node_content"),  # pure-Python, C loader
                  (r"^mapping values are not allowed", "yaml.mapping_values"),
                  (r"^found character '\\t'", "yaml.tab"),
                  (r"^found unexpected end of stream", "yaml.end_of_stream"),
                  (r"^expected <block end>", "yaml.block_end"),
                  (r"^did not find expected key", "yaml.expected_key"),
                  (r"^could not find expected ':'", "yaml.expected_colon"),
                  (r"^did not find expected '-'", "yaml.expected_dash"),
                  (r"^found undefined alias", "yaml.alias"),
                  (r"^found character that cannot start any token", "yaml.bad_character")]


def fr_yaml_error(exc) -> str:
    """The problem of a PyYAML error in French (or as it is when unknown).

    >>> import yaml
    >>> try:
    ...     yaml.safe_load("kind: [transcript")
    ... except yaml.YAMLError as exc:
    ...     fr_yaml_error(exc)
    "« , » ou « ] » attendu (une liste entre crochets n'est pas fermée ?)"
    """
    import re

    from analyse.messages import msg

    problem = str(getattr(exc, "problem", None) or exc)
    for pattern, key in _YAML_PROBLEMS:
        if re.search(pattern, problem):
            return msg(key)
    return problem


def fold(text) -> str:
    """Comparison key: trimmed, lower case, without accents (« Élue » and « elue » match).

    Not length-preserving; use :func:`fold_chars` when offsets must carry over.
    """
    decomposed = unicodedata.normalize("NFKD", str(text).strip().lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def fold_chars(text: str, replace: Mapping[str, str] | None = None) -> str:
    """Lower case without accents, one character out for each character in, so
    that offsets found in the folded text are offsets in the original.
    ``replace`` maps single characters to their folded form (e.g. hyphens to spaces).

    >>> fold_chars("Mené-Été", {"-": " "})
    'mene ete'
    """
    replace = replace or {}
    out = []
    for ch in text:
        if ch in replace:
            out.append(replace[ch])
        else:
            out.append(unicodedata.normalize("NFD", ch)[0].lower()[:1] or ch)
    return "".join(out)


def normalise_text(text: str | None) -> str:
    """Text read back from another tool, made comparable with the corpus: LF line
    ends (spreadsheets write CRLF), trimmed, NFC (some editors recompose accents)."""
    return unicodedata.normalize("NFC", (text or "").replace("\r\n", "\n").replace("\r", "\n").strip())


def fr_number(value: float, digits: int | None = 3, *, minus: str = MINUS, missing: str = "—") -> str:
    """A number written the French way (babel, fr_FR): decimal comma, narrow no-break
    space between thousands, typographic minus; a value rounding to zero has no sign.
    ``digits`` decimals exactly, or with ``None`` as many as needed (at most 3).
    NaN becomes ``missing``.

    >>> fr_number(-0.0004), fr_number(-0.25, 2), fr_number(0.7, None), fr_number(float("nan"))
    ('0,000', '−0,25', '0,7', '—')
    """
    if isinstance(value, float) and math.isnan(value):
        return missing
    if digits is None:
        pattern = "#,##0.###"
    else:
        pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    from babel.numbers import format_decimal   # here: loading a corpus formats no number

    text = format_decimal(value, format=pattern, locale=LOCALE)
    if text.startswith("-"):
        text = text[1:] if not any(c in "123456789" for c in text) else minus + text[1:]
    return text


def fr_percent(share: float | None, digits: int = 1, missing: str = "—") -> str:
    """A share (0–1) as a French percentage (babel, fr_FR): « 12,5 % », with the
    no-break space French puts before the sign. Missing values become ``missing``.

    >>> fr_percent(0.5, 0), fr_percent(float("nan"))
    ('50\xa0%', '—')
    """
    try:
        value = float(share)
    except (TypeError, ValueError):   # None, pandas.NA
        return missing
    if math.isnan(value):
        return missing
    return fr_number(100 * value, digits) + "\u00a0%"


def check_choice(name: str, value, allowed: Iterable) -> None:
    """Raise a French :class:`~analyse.errors.UsageError` listing the allowed values
    when ``value`` is not one of them.

    >>> check_choice("niveau", "segment", ("segment", "document"))
    """
    allowed = list(allowed)
    if value not in allowed:
        from analyse.errors import UsageError
        from analyse.messages import msg

        raise UsageError(msg("unknown_choice", name=name, value=value),
                         hint=msg("use_one_of", allowed=", ".join(map(str, allowed))))
