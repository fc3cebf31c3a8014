"""A bounded schemathesis run over the whole API: the answers match the OpenAPI
document (status codes, content types, schemas, headers), no server error, and
unsupported methods answered 405 with the right Allow."""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402

from tests.web.conftest import ADMIN, Web  # noqa: E402

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "unsupported_method",
)


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_api_answers_as_its_openapi_document_says(web: Web) -> None:
    from schemathesis.checks import CHECKS as REGISTRY
    from schemathesis.checks import load_all_checks
    from schemathesis.core.failures import FailureGroup

    load_all_checks()
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", web.app)
    token = web.tokens[ADMIN]
    checks = [c for c in REGISTRY.get_all() if c.__name__ in CHECKS]
    assert len(checks) == len(CHECKS)
    failures: list[str] = []
    calls = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=3,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case: object) -> None:
            nonlocal calls
            calls += 1
            case.call_and_validate(  # type: ignore[attr-defined]
                headers={"Authorization": f"Bearer {token}"}, checks=checks
            )

        try:
            run()
        except (FailureGroup, AssertionError) as exc:
            failures.append(f"{operation.label}: {str(exc).splitlines()[0]}")
    assert failures == []
    assert calls >= 30  # every operation was exercised
