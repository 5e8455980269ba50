"""Fuzz the REST API from its own OpenAPI schema (schemathesis, seeded): zero 5xx.

Runs with an admin token so the generated requests reach the domain code, not just the
authentication check. Hypothesis is derandomised, so every run sends the same cases.
Operations are driven one by one (schemathesis' pytest plugin does not load on pytest 9).
"""

from __future__ import annotations

import math

import schemathesis
from hypothesis import HealthCheck, given, settings

MIN_CASES = 500


def test_openapi_fuzz_has_no_server_errors(app, database_url):
    from django.contrib.auth.models import User

    from app.accounts.models import ApiToken

    user, _ = User.objects.get_or_create(username="fuzz-admin")
    user.is_superuser = True
    user.save()
    headers = {"Authorization": f"Bearer {ApiToken.issue(user)[1]}"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    per_operation = math.ceil(MIN_CASES * 1.2 / len(operations))
    sent: list[str] = []
    failures: list[str] = []

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=per_operation,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case) -> None:
            response = case.call(headers=headers)
            sent.append(case.operation.label)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} {case.query} -> "
                    f"{response.status_code}: {response.text[:300]}"
                )

        check()

    assert not failures, "\n".join(failures[:20])
    assert len(sent) >= MIN_CASES, f"only {len(sent)} cases for {len(operations)} operations"
