"""Property-based fuzzing of the REST API from its own OpenAPI schema (schemathesis).

Every operation in /openapi.json gets a bounded number of generated requests, valid and invalid
(schemathesis' examples, coverage and fuzzing phases), sent in-process to the ASGI app as an
admin (the agents' routes with a station's token), on SQLite and on PostgreSQL. A station, an
approved bulletin (real espeak-ng speech), a group, a timetable, a playback and an API token
are in place; generated ids are often swapped for theirs so that requests get past "not found"
and into the code behind it.

- Any 5xx fails the test (schemathesis' ``not_a_server_error``).
- Response conformance (body schema, status codes, content types, headers) is checked too and
  reported at the end of the run (see conftest.py), without failing it.

``WARDCAST_FUZZ_EXAMPLES`` changes the number of fuzzed examples per operation (default 25);
``WARDCAST_FUZZ_RANDOM=1`` draws new inputs each run instead of the same ones;
``WARDCAST_FUZZ_KEEP_GOING=1`` lists every 5xx without failing, to explore.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core import NOT_SET
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.openapi.checks import JsonSchemaError
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from scheduler.app import create_app
from scheduler.config import Settings
from tests.fuzz.conftest import FINDINGS, IDS, FuzzEnv, describe

MAX_EXAMPLES = int(os.environ.get("WARDCAST_FUZZ_EXAMPLES", "25"))
# Exploring: don't stop an operation at its first 5xx (report them all), vary the inputs.
KEEP_GOING = os.environ.get("WARDCAST_FUZZ_KEEP_GOING") == "1"
RANDOM = os.environ.get("WARDCAST_FUZZ_RANDOM") == "1"
CONFORMANCE = [response_schema_conformance, status_code_conformance, content_type_conformance,
               response_headers_conformance]

# Path and query parameters with these names get a real object's id half of the time.
KNOWN_PARAMETERS = ("station_id", "bulletin_id", "timetable_id", "group_id", "playback_id",
                    "user_id", "token_id", "sha256", "feed_id", "token", "live_id", "key")

pytestmark = pytest.mark.timeout(600)


def _aim(strategy: Any, swap: Any) -> Any:
    """Half of the values as generated, half with real ids swapped in."""
    return st.one_of(strategy, strategy.map(swap))


def _swap_parameters(values: Any) -> Any:
    if not isinstance(values, dict) or not IDS:
        return values
    return {k: IDS.get(k, v) if k in KNOWN_PARAMETERS else v for k, v in values.items()}


def _swap_body(body: Any) -> Any:
    if not isinstance(body, dict) or not IDS:
        return body
    body = dict(body)
    if "bulletin_id" in body:
        body["bulletin_id"] = IDS["bulletin_id"]
    if "station_ids" in body:
        body["station_ids"] = [IDS["station_id"]]
    if "group_ids" in body:
        body["group_ids"] = [IDS["group_id"]]
    if "parent_id" in body:
        body["parent_id"] = IDS["group_id"]
    if "file" in body:  # the upload: real speech instead of random bytes
        body["file"] = IDS["audio"]
    return body


def _raw_schema() -> dict[str, Any]:
    """The app's OpenAPI document, built without starting anything (at collection time)."""
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(data_dir=Path(tmp), database_url=f"sqlite:///{tmp}/x.sqlite3",
                                  broker="embedded"))
        raw = app.openapi()
        app.state.runtime.db.engine.dispose()
    return raw


# Loaded from a dict rather than through schemathesis.pytest.from_fixture: the lazy loader
# (schemathesis 4.32) sets pytest's private Node._nodeid, which pytest 9.2 no longer has.
schema = schemathesis.openapi.from_dict(_raw_schema())
# We send the admin's token ourselves; don't let schemathesis generate Authorization.
schema.config.generation.update(max_examples=MAX_EXAMPLES, with_security_parameters=False,
                                deterministic=not RANDOM)


@schema.hook
def before_generate_path_parameters(_context: Any, strategy: Any) -> Any:
    return _aim(strategy, _swap_parameters)


@schema.hook
def before_generate_query(_context: Any, strategy: Any) -> Any:
    return _aim(strategy, _swap_parameters)


@schema.hook
def before_generate_body(context: Any, strategy: Any) -> Any:
    if context.operation is not None and context.operation.path == "/api/v1/bulletins":
        # Normalising real audio takes about a second; do it for one upload in eight.
        return st.tuples(strategy, st.integers(0, 7)).map(
            lambda pair: _swap_body(pair[0]) if pair[1] == 0 else pair[0])
    return _aim(strategy, _swap_body)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: schemathesis.Case, fuzz_env: FuzzEnv) -> None:
    # The agents' routes take a station's token; all others are tested as an admin.
    station_route = "agents" in (case.operation.tags or [])
    headers = fuzz_env.station_headers() if station_route else fuzz_env.headers()
    response = case.call(headers=headers, app=fuzz_env.app)
    operation = case.operation.label
    FINDINGS.requests += 1
    FINDINGS.operations.add(f"{fuzz_env.backend} {operation}")
    request = describe(case.method.upper(), case.formatted_path, query=case.query,
                       headers=case.headers, body=case.body if _has_body(case) else None,
                       media_type=case.media_type)
    if response.status_code >= 500:
        FINDINGS.server_error(fuzz_env.backend, operation, response.status_code, request,
                              fuzz_env.app.last_error, response.text)
    try:  # 5xx are reported above, not again as undocumented status codes
        if response.status_code < 500:
            case.validate_response(response, checks=CONFORMANCE, headers=headers)
    except FailureGroup as group:
        for failure in group.exceptions:
            _record_mismatch(operation, response.status_code, request, failure)
    if not KEEP_GOING:
        case.validate_response(response, checks=[not_a_server_error], headers=headers)


def _has_body(case: schemathesis.Case) -> bool:
    return case.body is not NOT_SET


def _record_mismatch(operation: str, status: int, request: str, failure: Failure) -> None:
    if isinstance(failure, JsonSchemaError):
        where = re.search(r"Schema at (\S+?):?$", failure.message, re.M)
        detail = f"{status}, {where.group(1) if where else '/'.join(map(str, failure.schema_path))}"
    else:
        detail = f"{status} {failure._unique_key}".strip()
    FINDINGS.mismatch(operation, failure.title, detail, request, failure.message)
