"""The whole surface fuzzed from its own contract (schemathesis over ``/openapi.json``, in-process
through WSGI, both profiles): no 5xx, every status documented, every response in its declared
content type and schema.

Each operation is called by a fresh account — an admin's for ``/admin/*``, an API key's for the
key surfaces — so a fuzzed logout or password change cannot starve the operations after it. The
seed and the number of examples per operation are fixed (``FUZZ_EXAMPLES``), so a failure
reproduces; ``FUZZ_EXAMPLES=50 pytest tests/contract`` digs deeper by hand."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation import GenerationMode

from tests.api.test_api_keys import new_key
from tests.conftest import register
from tests.money import grant

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))
# /readyz answers 503 by design while a dependency is down (documented); every other 5xx is a bug
ANSWERS_503 = {"/readyz"}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def headers_for(operation, credentials: dict) -> dict:
    security = operation.definition.raw.get("security") or []
    names = {name for requirement in security for name in requirement}
    if operation.path.startswith("/admin"):
        return credentials["admin"]
    if "apiKey" in names:
        return credentials["apiKey"]
    if "jwt" in names:
        return credentials["jwt"]
    return {}


def fuzz(operation, mode: GenerationMode, headers: dict) -> int:
    """Run ``EXAMPLES`` generated cases of one operation; the number of requests sent."""
    sent = 0
    checks = [c for c in CHECKS if not (operation.path in ANSWERS_503 and c is not_a_server_error)]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    def run(case):
        nonlocal sent
        sent += 1
        case.call_and_validate(headers={**(case.headers or {}), **headers}, checks=checks)

    run()
    return sent


@pytest.mark.timeout(900)
def test_no_operation_breaks_its_contract(app, client, upstream, request):
    contract = schemathesis.openapi.from_wsgi("/openapi.json", app)
    failures, operations, requests = [], 0, 0
    for result in contract.get_all_operations():
        operation = result.ok()
        operations += 1
        # a fresh account per operation: a fuzzed logout or password change starves no other
        user, admin = register(client), register(client, "Admin")
        _make_admin(app, admin["X-Email"])
        grant(app, user["X-Email"], 10_000)
        credentials = {"jwt": {"Authorization": user["Authorization"]},
                       "admin": {"Authorization": admin["Authorization"]},
                       "apiKey": {"Authorization": f"Bearer {new_key(client, user)['key']}"}}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                requests += fuzz(operation, mode, headers_for(operation, credentials))
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, operation.path  # nothing to make invalid: no input
            except (Exception, BaseExceptionGroup) as error:  # noqa: BLE001 — every failure is collected and reported below
                failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}): "
                                f"{type(error).__name__}: {str(error)[:1500]}")
    for failure in failures:
        print("FUZZ FAILURE", failure.splitlines()[0])
    print(f"\nfuzz: {operations} operations, {requests} requests, {len(failures)} failing")
    assert operations >= 150 and requests >= operations
    assert failures == [], "\n\n".join(failures)


def _make_admin(app, email: str) -> None:
    from llmops.extensions import db
    from llmops.models import Account

    with app.app_context():
        db.session.query(Account).filter_by(email=email).one().is_admin = True
        db.session.commit()
