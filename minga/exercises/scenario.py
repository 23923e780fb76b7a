"""The scenario format (`minga-scenario/1`): validation with one sentence per problem, the
shipped scenarios, import and export. A scenario is JSON so a hub can share one with its
national CSIRTs; every text is given in es, pt and en.

An inject is delivered at `at_minutes` after the start, or `when` another inject has been
delivered to a team `minutes` ago and that team has (`if`) or has not (`unless`) done something
(an observable expectation kind) since: "inject 3b, if the team has not opened an incident
20 minutes after inject 2"."""

from __future__ import annotations

from importlib import resources
from typing import Any

import orjson

from minga.errors import InvalidInput

FORMAT = "minga-scenario/1"
LANGS = ("es", "pt", "en")
# incident: a real incident opens in the exercise space; intel: a STIX object is published there.
INJECT_KINDS = ("incident", "intel", "message", "email", "press", "social", "question", "phone")
# What the platform observes by itself; `manual` is decided by an evaluator.
OBSERVED = ("acknowledge", "open-incident", "escalate", "publish-indicator", "answer")
EXPECTATION_KINDS = (*OBSERVED, "manual")
SHIPPED = ("costa-rica-2022-ransomware", "isac-phishing-ransomware")
MAX_INJECTS = 200


def _texts(value: Any, where: str, problems: list[str], *, required: bool = True) -> None:
    if value is None and not required:
        return
    if not isinstance(value, dict):
        problems.append(f'{where}: texts in es, pt and en, as an object {{"es": ...}}')
        return
    for lang in LANGS:
        text = value.get(lang)
        if not isinstance(text, str) or not text.strip():
            problems.append(f"{where}.{lang}: missing text")


def _expectation(e: Any, where: str, kind: str, problems: list[str]) -> None:
    if not isinstance(e, dict):
        problems.append(f"{where}: an expectation is an object")
        return
    if not isinstance(e.get("key"), str) or not e["key"].strip():
        problems.append(f"{where}.key: missing")
    if e.get("kind") not in EXPECTATION_KINDS:
        problems.append(f"{where}.kind: one of {', '.join(EXPECTATION_KINDS)}")
    if e.get("kind") == "answer" and kind != "question":
        problems.append(f"{where}.kind: an answer is expected only of a question inject")
    points = e.get("points")
    if not isinstance(points, int) or isinstance(points, bool) or not 1 <= points <= 100:
        problems.append(f"{where}.points: a whole number from 1 to 100")
    within = e.get("within_minutes")
    if within is not None and (not isinstance(within, int | float) or not 0 < within <= 10080):
        problems.append(f"{where}.within_minutes: minutes from 1 to 10080")
    _texts(e.get("text"), f"{where}.text", problems)


def _timing(inj: dict[str, Any], where: str, keys: set[str], problems: list[str]) -> None:
    at, when = inj.get("at_minutes"), inj.get("when")
    if (at is None) == (when is None):
        problems.append(f"{where}: give either at_minutes or when")
    elif at is not None:
        if not isinstance(at, int | float) or isinstance(at, bool) or not 0 <= at <= 10080:
            problems.append(f"{where}.at_minutes: minutes from 0 to 10080")
    elif not isinstance(when, dict):
        problems.append(f"{where}.when: an object {{after, minutes, if|unless}}")
    else:
        if when.get("after") not in keys or when.get("after") == inj.get("key"):
            problems.append(f"{where}.when.after: the key of another inject")
        minutes = when.get("minutes", 0)
        if not isinstance(minutes, int | float) or not 0 <= minutes <= 10080:
            problems.append(f"{where}.when.minutes: minutes from 0 to 10080")
        conditions = [c for c in ("if", "unless") if c in when]
        if len(conditions) > 1 or any(when[c] not in OBSERVED for c in conditions):
            problems.append(f"{where}.when: at most one of if/unless, one of {', '.join(OBSERVED)}")


def _inject(inj: Any, where: str, keys: set[str], problems: list[str]) -> None:
    if not isinstance(inj, dict):
        problems.append(f"{where}: an inject is an object")
        return
    kind = inj.get("kind")
    if kind not in INJECT_KINDS:
        problems.append(f"{where}.kind: one of {', '.join(INJECT_KINDS)}")
    _timing(inj, where, keys, problems)
    _texts(inj.get("title"), f"{where}.title", problems)
    _texts(inj.get("body"), f"{where}.body", problems)
    if kind == "incident":
        spec = inj.get("incident")
        if not isinstance(spec, dict) or not spec.get("classification") or not spec.get("severity"):
            problems.append(f"{where}.incident: an object with classification and severity")
    if kind == "intel":
        stix = inj.get("stix")
        if not isinstance(stix, dict) or not isinstance(stix.get("type"), str):
            problems.append(f"{where}.stix: a STIX 2.1 object (without id: one is made per run)")
    if kind == "question":
        expected = inj.get("expected")
        if (
            not isinstance(expected, list)
            or not expected
            or not all(isinstance(a, str) and a.strip() for a in expected)
        ):
            problems.append(f"{where}.expected: a list of accepted answers")
    expectations = inj.get("expectations", [])
    if not isinstance(expectations, list):
        problems.append(f"{where}.expectations: a list")
        return
    if kind == "phone" and expectations:
        problems.append(f"{where}.expectations: a phone-call script is the facilitator's alone")
    seen: set[str] = set()
    for j, e in enumerate(expectations):
        _expectation(e, f"{where}.expectations[{j}]", str(kind), problems)
        if isinstance(e, dict) and e.get("key") in seen:
            problems.append(f"{where}.expectations[{j}].key: {e.get('key')!r} is used twice")
        if isinstance(e, dict) and isinstance(e.get("key"), str):
            seen.add(e["key"])


def validate(doc: Any) -> dict[str, Any]:
    """The scenario, or `InvalidInput` listing every problem (`details`: one per line)."""
    if not isinstance(doc, dict):
        raise InvalidInput("a scenario is a JSON object")
    problems: list[str] = []
    if doc.get("format") != FORMAT:
        problems.append(f"format: must be {FORMAT!r}")
    key = doc.get("key")
    if not isinstance(key, str) or not 2 <= len(key) <= 80 or not key.replace("-", "").isalnum():
        problems.append("key: 2 to 80 letters, digits and dashes")
    _texts(doc.get("title"), "title", problems)
    _texts(doc.get("summary"), "summary", problems)
    sources = doc.get("sources", [])
    if not isinstance(sources, list) or not all(
        isinstance(s, dict) and isinstance(s.get("title"), str) for s in sources
    ):
        problems.append("sources: a list of {title, url}")
    injects = doc.get("injects")
    if not isinstance(injects, list) or not 1 <= len(injects) <= MAX_INJECTS:
        problems.append(f"injects: a list of 1 to {MAX_INJECTS} injects")
        injects = []
    keys = [i.get("key") for i in injects if isinstance(i, dict)]
    for i, inj in enumerate(injects):
        k = inj.get("key") if isinstance(inj, dict) else None
        if not isinstance(k, str) or not 1 <= len(k) <= 40:
            problems.append(f"injects[{i}].key: 1 to 40 characters")
        elif keys.count(k) > 1:
            problems.append(f"injects[{i}].key: {k!r} is used twice")
        _inject(inj, f"injects[{i}]", {x for x in keys if isinstance(x, str)}, problems)
    questions = doc.get("questionnaire", [])
    if not isinstance(questions, list):
        problems.append("questionnaire: a list of {key, text}")
        questions = []
    for i, q in enumerate(questions):
        if not isinstance(q, dict) or not isinstance(q.get("key"), str):
            problems.append(f"questionnaire[{i}]: an object with key and text")
            continue
        _texts(q.get("text"), f"questionnaire[{i}].text", problems)
    if problems:
        raise InvalidInput(
            f"the scenario has {len(problems)} problem(s): {problems[0]}", details=problems
        )
    return doc


def parse(data: bytes | str) -> dict[str, Any]:
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"the scenario is not JSON: {exc}") from None
    return validate(doc)


def shipped(key: str) -> dict[str, Any]:
    path = resources.files("minga.exercises").joinpath("data", f"{key}.json")
    return parse(path.read_bytes())


def text(texts: Any, lang: str) -> str:
    """A text of the scenario in `lang` (English when missing)."""
    if isinstance(texts, dict):
        return str(texts.get(lang) or texts.get("en") or "")
    return str(texts or "")


def inject_map(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["key"]: i for i in doc["injects"]}
