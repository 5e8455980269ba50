"""API tokens and session authentication: hashed, shown once, revocable, CSRF on writes."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def analyst(database_url):
    from django.contrib.auth.models import Group, User

    from app.accounts.models import ApiToken

    user, _ = User.objects.get_or_create(username="tok-analista")
    user.set_password("clave-analista-1")
    user.save()
    user.groups.add(Group.objects.get(name="analyst"))
    return {"Authorization": f"Bearer {ApiToken.issue(user)[1]}"}


def test_token_is_shown_once_stored_hashed_and_revocable(client, analyst):
    from app.accounts.models import ApiToken, hash_token

    created = client.post("/api/v1/tokens", json={"name": "QGIS"}, headers=analyst)
    assert created.status_code == 201
    raw = created.json()["token"]
    stored = ApiToken.objects.get(pk=created.json()["id"])
    assert stored.key_hash == hash_token(raw) and raw not in (stored.key_hash, stored.prefix)
    listed = client.get("/api/v1/tokens", headers=analyst).json()["tokens"]
    assert all("token" not in t for t in listed)
    fresh = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/v1/tokens", headers=fresh).status_code == 200
    assert client.delete(f"/api/v1/tokens/{stored.pk}", headers=analyst).status_code == 204
    refused = client.get("/api/v1/tokens", headers=fresh)
    assert refused.status_code == 401
    assert "revocado" in refused.json()["detail"]


def test_anonymous_and_bad_credentials(client):
    assert client.post("/api/v1/tokens", json={}).status_code == 401
    bad = client.get("/api/v1/tokens", headers={"Authorization": "Bearer dm_nada"})
    assert bad.status_code == 401
    import base64

    basic = base64.b64encode(b"tok-analista:mala").decode()
    wrong = client.get("/api/v1/tokens", headers={"Authorization": f"Basic {basic}"})
    assert wrong.status_code == 401
    assert "Usuario o contraseña incorrectos" in wrong.json()["detail"]
    good = base64.b64encode(b"tok-analista:clave-analista-1").decode()
    assert (
        client.get("/api/v1/tokens", headers={"Authorization": f"Basic {good}"}).status_code == 200
    )


def test_session_writes_need_csrf(client, analyst):
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    user = User.objects.get(username="tok-analista")
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session.create()
    client.cookies.set("sessionid", session.session_key)
    client.cookies.set("csrftoken", "a" * 32)
    try:
        assert client.get("/api/v1/tokens").status_code == 200
        refused = client.post("/api/v1/tokens", json={"name": "sin csrf"})
        assert refused.status_code == 403
        assert "CSRF" in refused.json()["detail"]
        accepted = client.post(
            "/api/v1/tokens", json={"name": "con csrf"}, headers={"X-CSRFToken": "a" * 32}
        )
        assert accepted.status_code == 201
    finally:
        client.cookies.clear()
