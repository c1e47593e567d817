"""Re-contextualisation: the fiches de décontextualisation confronted with a territory outside the corpus.

Décontextualiser gives the skeleton (a concept opérationnel, a method, the
conditions that made it work); re-contextualiser puts flesh back on it somewhere
else, with the people of that place. :func:`build_checklist` turns each fiche
into questions for a groupe miroir of the new territory: is the concept theirs,
who would hold each role of the method, and for each condition the facts known
about the territory that touch it (shared content words, by spaCy lemmas) with
what to ask about them, or, when no fact touches it, what could stand in for
it. Facts that no condition touches are listed apart: a fiche may miss a
condition. :func:`checklist_html` writes the list as one HTML page
(``templates/pages/recontextualisation.html.j2``).

The fiches' text is shown as the groupe miroir may see it (masked, the corpus's
territories hidden: :func:`analyse.privacy.fiches.public_text`).
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import yaml

from analyse.errors import UsageError
from analyse.messages import msg
from analyse.privacy.fiches import field_items
from analyse.textutil import fold

TEMPLATES = Path(__file__).resolve().parents[1] / "reporting" / "templates" / "pages"
# Parts of speech that carry what a condition or a fact is about.
CONTENT_POS = {"NOUN", "PROPN", "ADJ", "VERB"}
# Verbs too common to link a condition to a fact.
LIGHT_VERBS = {"etre", "avoir", "faire", "pouvoir", "devoir", "aller", "venir", "dire", "mettre", "falloir",
               "vouloir", "savoir", "prendre", "donner", "passer", "rester"}
_BULLET = re.compile(r"^\s*(?:[-*•–]|\d+[.)])\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+(?=[A-ZÀ-ÖØ-Þ«\"])")


@dataclass
class Condition:
    """One condition of a fiche and the facts of the territory that touch it."""

    text: str
    facts: list[str] = field(default_factory=list)
    shared: list[list[str]] = field(default_factory=list)   # the words each fact shares with the condition


@dataclass
class ChecklistItem:
    """What a fiche becomes for the territory."""

    code: str
    libelle: str
    concept: str
    methode: str
    conditions: list[Condition]
    counter: list[str]
    questions: list[str]

    def n_questions(self) -> int:
        """Questions the page asks for this fiche (each condition × fact counts once)."""
        per_condition = sum(max(1, len(c.facts)) for c in self.conditions) or 1
        return 3 + per_condition + int(bool(self.counter)) + len(self.questions)


@dataclass
class Checklist:
    territory: str
    facts: list[str]
    items: list[ChecklistItem]
    orphan_facts: list[str]

    @property
    def n_questions(self) -> int:
        return sum(i.n_questions() for i in self.items) + len(self.orphan_facts)


def prompts(territory: str) -> dict[str, str]:
    """The questions every fiche asks, in French, for ``territory``."""
    return {"concept": msg("rc.q_concept", territory=territory), "method": msg("rc.q_method", territory=territory),
            "fact": msg("rc.q_fact"), "no_fact": msg("rc.q_no_fact", territory=territory),
            "no_condition": msg("rc.q_no_condition", territory=territory),
            "counter": msg("rc.q_counter", territory=territory), "people": msg("rc.q_people", territory=territory),
            "orphan": msg("rc.q_orphan")}


# ---------------------------------------------------------------------------
# Input
# ---------------------------------------------------------------------------

def read_facts(path: str | Path) -> list[str]:
    """Facts about a territory from a YAML file: a list of sentences, or ``faits:`` and a list.

    Raises
    ------
    UsageError
        Missing or unreadable file, invalid YAML, another shape (French message, file, line).
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(msg("no_such_file"), str(path)) from None
    except UnicodeDecodeError:
        raise UsageError(msg("not_utf8"), str(path), hint=msg("resave_utf8")) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise UsageError(msg("cb.not_yaml", error=getattr(exc, "problem", exc)), str(path),
                         None if mark is None else mark.line + 1) from None
    if isinstance(data, dict) and set(data) <= {"faits", "territoire"}:
        data = data.get("faits")
    if not isinstance(data, list):
        raise UsageError(msg("rc.facts_shape"), str(path), hint="faits:\n  - « … »")
    out = []
    for n, item in enumerate(data, 1):
        if not isinstance(item, (str, int, float)) or isinstance(item, bool):
            raise UsageError(msg("rc.facts_item", n=n), str(path))
        out.append(str(item))
    return out


def clean_facts(facts: Sequence[str]) -> list[str]:
    """Facts stripped, empty ones dropped, duplicates kept once; none at all is an error."""
    out = list(dict.fromkeys(" ".join(str(f).split()) for f in facts if str(f).strip()))
    if not out:
        raise UsageError(msg("rc.no_facts"), hint=msg("rc.no_facts_hint"))
    return out


def check_territory(name: str, corpus_territories: Sequence[str] = (),
                    labels: Callable[[str], str] = str) -> str:
    """The territory's name, trimmed; empty, or a territory of the corpus, is an error."""
    name = " ".join(str(name or "").split())
    if not name:
        raise UsageError(msg("rc.no_territory"), hint=msg("rc.no_territory_hint"))
    key = slug(name)
    for t in corpus_territories:
        if key in (slug(t), slug(labels(t))):
            raise UsageError(msg("rc.in_corpus", territory=name), hint=msg("rc.in_corpus_hint"))
    return name


def slug(name: str) -> str:
    """« Saint-Dié-des-Vosges » → ``saint-die-des-vosges`` (file names, comparisons)."""
    return re.sub(r"[^a-z0-9]+", "-", fold(name)).strip("-")


def split_conditions(value) -> list[str]:
    """A fiche's conditions as separate items: a list as it is; a text by line, bullet, then sentence."""
    if value is None:
        return []
    if isinstance(value, list):
        return [" ".join(str(v).split()) for v in value if v is not None and str(v).strip()]
    out = []
    for line in str(value).splitlines():
        line = _BULLET.sub("", line).strip()
        if line:
            out += [s.strip() for s in _SENTENCE_END.split(line) if s.strip()]
    return out


# ---------------------------------------------------------------------------
# Matching conditions and facts
# ---------------------------------------------------------------------------

def content_words(texts: Sequence[str], nlp) -> list[dict[str, str]]:
    """Content words of each text (nouns, proper nouns, adjectives, full verbs): folded lemma → lemma."""
    out = []
    for doc in nlp.pipe(list(texts)):
        words = {}
        for tok in doc:
            lemma = (tok.lemma_ or tok.text).lower()
            key = fold(lemma)
            if tok.pos_ in CONTENT_POS and not tok.is_stop and len(key) >= 3 and key not in LIGHT_VERBS:
                words.setdefault(key, lemma)
        out.append(words)
    return out


def build_checklist(fiches: Sequence[dict], territory: str, facts: Sequence[str], nlp,
                    text: Callable[[str], str] = lambda s: s) -> Checklist:
    """Each fiche confronted with the territory's facts.

    Parameters
    ----------
    fiches : list of dict
        :func:`analyse.privacy.fiches.load_fiches`.
    territory : str
        The territory's name, as the page says it.
    facts : list of str
        What is known of the territory (a sentence each).
    nlp : spaCy Language
        Lemmatises conditions and facts (a fact touches a condition when they share a content lemma).
    text : callable
        Makes a fiche's text fit for the groupe miroir (:func:`analyse.privacy.fiches.public_text`).
    """
    facts = list(facts)
    items, touched = [], set()
    fact_words = content_words(facts, nlp)
    for f in fiches:
        conditions = [text(c) for c in split_conditions(f.get("conditions"))]
        cond_words = content_words(conditions, nlp)
        shown = []
        for cond, words in zip(conditions, cond_words):
            c = Condition(cond)
            for i, (fact, fwords) in enumerate(zip(facts, fact_words)):
                common = sorted(words[k] for k in words.keys() & fwords.keys())
                if common:
                    c.facts.append(fact)
                    c.shared.append(common)
                    touched.add(i)
            shown.append(c)
        items.append(ChecklistItem(
            code=str(f.get("code", "")), libelle=str(f.get("libelle") or ""),
            concept=text(str(f.get("concept_operationnel") or "").strip()),
            methode=text(str(f.get("methode") or "").strip()), conditions=shown,
            counter=[text(x) for x in field_items(f.get("contre_exemples"))],
            questions=[text(x) for x in field_items(f.get("questions"))]))
    orphans = [fact for i, fact in enumerate(facts) if i not in touched]
    return Checklist(territory, facts, items, orphans)


def checklist_html(checklist: Checklist, illustrative: bool = False, date: str | None = None) -> str:
    """The checklist as one self-contained French HTML page (autoescaped)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    t = checklist.territory
    words = {"todo": msg("fp.todo"), "concept": msg("fp.concept"), "method": msg("fp.method"),
             "conditions": msg("fp.conditions"), "counter": msg("fp.counter"), "questions": msg("fp.questions")}
    return env.get_template("recontextualisation.html.j2").render(
        title=msg("rc.title", territory=t), territory=t, checklist=checklist,
        prompts=prompts(t), words=words, illustrative=illustrative,
        date=date or _dt.date.today().isoformat())
