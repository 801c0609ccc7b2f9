"""schemathesis over the served OpenAPI schema, against the real server process:
valid and invalid requests generated from every declared operation. Never a
500; every error in the one JSON shape; every answer, success or refusal,
matches the schema its operation declares. The SSE feeds are left out (a stream
never ends, so a generated call would only time out); their refusals are tested
with the feeds.

Examples per operation are bounded for CI; CHATNUT_OPENAPI_EXAMPLES raises it
for a soak.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance
from schemathesis.generation.modes import GenerationMode

from tests.helpers import ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

EXAMPLES = int(os.environ.get("CHATNUT_OPENAPI_EXAMPLES", "12"))


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home: Path = tmp_path_factory.mktemp("openapi-home")
    process = ServerProcess(home)
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def api_schema(live_server: ServerProcess) -> Any:
    loaded = schemathesis.openapi.from_url(f"{live_server.url}/api/openapi.json")
    return loaded.exclude(path_regex="stream")


def long_poll(query: dict[str, Any] | None) -> bool:
    """Whether a generated query waits more than a second: `timeout` given once
    or repeated (the server reads the last of several)."""
    given = (query or {}).get("timeout")
    values = given if isinstance(given, list) else [given]
    return any(isinstance(v, int | float) and not isinstance(v, bool) and v > 1 for v in values)


# Driven through plain hypothesis rather than schemathesis' pytest plugin, which
# does not load under pytest 9.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_answers_generated_requests(api_schema: Any, mode: GenerationMode) -> None:
    operations = sum(1 for _ in api_schema.get_all_operations())

    @settings(
        max_examples=EXAMPLES * operations,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(case=api_schema.as_strategy(mode))
    def run(case: Any) -> None:
        if long_poll(case.query):
            # A long-poll (the inbox) would only wait out its 60 s: bounded to a
            # second here; its waking is tested in tests/e2e/test_api_coordination.py.
            case.query["timeout"] = 1
        response = case.call_and_validate(
            checks=[not_a_server_error, response_schema_conformance], timeout=30
        )
        if response.status_code >= 400:
            # schemathesis keeps each header as a list of its values
            assert response.headers["content-type"] == ["application/json"], response.text[:200]
            assert set(response.json()["error"]) == {"code", "message"}

    run()
