"""Who may do what: every role against every kind of endpoint, asserted as one matrix.

The same table is in README ("Seguridad"). Statuses: 401 anonymous, 403 wrong role, and
for allowed roles the domain answer (201 created, 404 when the target is absent on purpose).
"""

from __future__ import annotations

import itertools

import pytest

from tests.cleanup import purge_districts_like

ROLES = ["anonymous", "viewer", "analyst", "mesa_secretary", "focal_point", "coordinator", "admin"]
SQUARE = {
    "type": "Polygon",
    "coordinates": [[[-76.5, 7.0], [-76.45, 7.0], [-76.45, 7.05], [-76.5, 7.05], [-76.5, 7.0]]],
}
_serial = itertools.count()

# (what, method, path or factory, body factory, expected status per role in ROLES order)
MATRIX = [
    (
        "leer capas de referencia",
        "GET",
        "/api/v1/layers/municipalities/features?limit=1",
        None,
        [200, 200, 200, 200, 200, 200, 200],
    ),
    (
        "crear distrito (borrador)",
        "POST",
        "/api/v1/districts",
        lambda: {
            "code": f"matriz-{next(_serial)}",
            "name": "Matriz",
            "type": "vida_y_paz",
            "geometry": SQUARE,
        },
        [401, 403, 201, 403, 403, 201, 201],
    ),
    (
        "ver corridas de propuestas",
        "GET",
        "/api/v1/proposals/runs/999999",
        None,
        [401, 403, 404, 404, 404, 404, 404],
    ),
    (
        "registrar organizaciones",
        "POST",
        "/api/v1/organisations",
        lambda: {"name": f"Organización matriz {next(_serial)}", "kind": "national_entity"},
        [401, 403, 403, 201, 403, 201, 201],
    ),
    (
        "aprobar planes",
        "POST",
        "/api/v1/districts/no-existe/plan/approve",
        None,
        [401, 403, 403, 403, 403, 404, 404],
    ),
    (
        "reportar seguimiento",
        "POST",
        "/api/v1/followups",
        lambda: {"indicator": 999999, "period": "2025-T1", "date": "2025-03-31", "value": 1},
        [401, 403, 403, 404, 404, 404, 404],
    ),
    (
        "gestionar tokens propios",
        "GET",
        "/api/v1/tokens",
        None,
        [401, 200, 200, 200, 200, 200, 200],
    ),
]


@pytest.fixture(scope="module")
def role_headers(database_url):
    from django.contrib.auth.models import Group, User

    from app.accounts.models import ApiToken

    headers = {"anonymous": {}}
    for role in ROLES[1:]:
        user, _ = User.objects.get_or_create(username=f"matriz-{role}")
        if role == "admin":
            user.is_superuser = True
            user.save()
        else:
            user.groups.add(Group.objects.get_or_create(name=role)[0])
        headers[role] = {"Authorization": f"Bearer {ApiToken.issue(user)[1]}"}
    yield headers
    purge_districts_like(database_url, "matriz-%")


@pytest.mark.parametrize(
    ("what", "method", "path", "body", "expected"), MATRIX, ids=[row[0] for row in MATRIX]
)
def test_access_matrix(client, role_headers, what, method, path, body, expected):
    got = []
    for role in ROLES:
        response = client.request(
            method, path, json=body() if body else None, headers=role_headers[role]
        )
        got.append(response.status_code)
        if response.status_code in (401, 403):
            assert response.json()["detail"], f"{what}: {role} without a reason"
    assert dict(zip(ROLES, got, strict=True)) == dict(zip(ROLES, expected, strict=True)), what


def test_drafts_are_invisible_to_anonymous_and_viewers(client, role_headers):
    created = client.post(
        "/api/v1/districts",
        headers=role_headers["analyst"],
        json={
            "code": "matriz-borrador",
            "name": "Borrador secreto",
            "type": "vida_y_paz",
            "geometry": SQUARE,
        },
    )
    assert created.status_code == 201, created.text
    url = "/api/v1/layers/districts/features?code=matriz-borrador"
    for role in ROLES:
        matched = client.get(url, headers=role_headers[role]).json()["numberMatched"]
        assert matched == (0 if role in ("anonymous", "viewer") else 1), role
    assert client.get("/api/v1/districts/matriz-borrador").status_code == 404
    assert client.get("/api/v1/layers/proposals/features").status_code == 403
