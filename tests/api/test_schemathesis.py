"""Schemathesis against the node's own OpenAPI document, in process (ASGI), on both backends.

Every documented operation gets a few generated requests, valid and invalid ones, as an admin and
as an analyst of another organisation. Two checks: no answer is a 5xx, and every status code the
node answers is one the document lists for that operation.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import hypothesis
import orjson
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import status_code_conformance
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from minga.app import create_app
from minga.settings import Settings
from tests.conftest import Member, add_member
from tests.factories import indicator

MAX_EXAMPLES = 8  # per operation and role: ~500 requests, 20-35 s per backend here
CHECKS = [not_a_server_error, status_code_conformance]

# Operations whose success locks the caller out for every later request of the run (a 401 is
# documented, so the run would go on green but test nothing): disabling one's own account and
# revoking one's own token. Both are covered by tests/api/test_bounds.py and tests/accounts.
LOCKOUTS = {
    "disable_user_api_users__user_id__disable_post",
    "revoke_token_api_tokens__public_id__delete",
}
# Answers that never end (Server-Sent Events): tests/events covers them over a real server.
ENDLESS = {"stream_api_stream_get"}


@dataclass
class Problem:
    role: str
    operation: str
    report: str


@dataclass
class Run:
    problems: list[Problem] = field(default_factory=list)
    operations: set[str] = field(default_factory=set)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)  # (role, status // 100)


def _strategy(operation: schemathesis.APIOperation, known: dict[str, str]) -> st.SearchStrategy:
    """Valid and invalid requests; where a path names a collection or object, also requests
    about ones that exist (random strings alone would only ever reach a 404)."""
    modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    strategies = [operation.as_strategy(generation_mode=mode) for mode in modes]
    names = {p.name for p in operation.path_parameters}
    pinned = {name: value for name, value in known.items() if name in names}
    if pinned:
        strategies.append(operation.as_strategy(path_parameters=pinned))
    return st.one_of(strategies)


def _run_operation(
    operation: schemathesis.APIOperation,
    member: Member,
    role: str,
    known: dict[str, str],
    run: Run,
) -> None:
    strategy = _strategy(operation, known)
    seen: set[str] = set()

    @hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,  # the same requests on every run: a failure here is reproducible
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    @given(case=strategy)
    def check(case: schemathesis.Case) -> None:
        try:
            # The in-process transport raises what the app raised: that is a 500 too.
            response = case.call(headers=member.headers)
        except Exception as exc:
            if "raised" not in seen:
                seen.add("raised")
                curl = case.as_curl_command(headers=member.headers)
                run.problems.append(Problem(role, operation.label, f"500: {exc!r}\n{curl}"))
            return
        run.statuses[role, response.status_code // 100] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=member.headers)
        except FailureGroup as group:
            key = f"{response.status_code}"
            if key not in seen:  # one report per status code and operation is enough
                seen.add(key)
                run.problems.append(Problem(role, operation.label, str(group)))

    check()


def _fuzz(engine: Engine, db_url: str, sessions: sessionmaker[Session]) -> Run:
    settings = Settings(
        database_url=db_url,
        token_cache_seconds=600,
        ingest_worker_seconds=0,
        taxii_pull_check_seconds=0,
    )
    app = create_app(settings, engine=engine)
    members = {
        "admin": add_member(sessions, "Node Operator", role="admin"),
        "analyst": add_member(sessions, "Org Analyst", role="analyst", country="GT"),
    }
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    with TestClient(app) as client:
        r = client.post("/api/objects", json=indicator(1), headers=members["analyst"].headers)
        assert r.status_code == 201, r.text
    known = {"collection_id": "all", "stix_id": indicator(1)["id"], "object_id": indicator(1)["id"]}
    run = Run()
    operations = [result.ok() for result in schema.get_all_operations()]
    ids = {operation.definition.raw.get("operationId") for operation in operations}
    assert ids >= LOCKOUTS | ENDLESS, "an excluded operation was renamed: update the sets"
    for operation in operations:
        if operation.definition.raw.get("operationId") in LOCKOUTS | ENDLESS:
            continue
        run.operations.add(operation.label)
        for role, member in members.items():
            _run_operation(operation, member, role, known, run)
    return run


def test_generated_requests_get_no_5xx_and_only_documented_codes(
    engine: Engine, db_url: str, sessions: sessionmaker[Session]
):
    run = _fuzz(engine, db_url, sessions)
    report = "\n\n".join(f"[{p.role}] {p.operation}\n{p.report}" for p in run.problems)
    assert not run.problems, report
    # The run reached the node: both callers got answers and refusals, on every operation.
    assert len(run.operations) >= 40
    for role in ("admin", "analyst"):
        assert run.statuses[role, 2] > 0 and run.statuses[role, 4] > 0, run.statuses


def test_taxii_add_objects_answer_is_documented(
    client: TestClient, sessions: sessionmaker[Session]
):
    member = add_member(sessions, "Org A")
    taxii = "application/taxii+json;version=2.1"
    headers = {**member.headers, "Content-Type": taxii, "Accept": taxii}
    envelope = orjson.dumps({"objects": [indicator(1)]})
    r = client.post("/taxii2/api/collections/all/objects/", content=envelope, headers=headers)
    assert r.status_code == 202, r.text
    spec = client.get("/openapi.json").json()
    documented = spec["paths"]["/taxii2/api/collections/{collection_id}/objects/"]["post"]
    assert "202" in documented["responses"]
