"""Who is calling: bearer tokens, HTTP Basic (QGIS) and Django sessions, mapped to roles."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from geo.errors import Forbidden, Unauthorized
from layers.registry import ADMIN, ANONYMOUS, ROLES, VIEWER


@dataclass(frozen=True)
class Principal:
    """The caller: a username (empty when anonymous) and its roles."""

    username: str = ""
    roles: frozenset[str] = field(default_factory=lambda: frozenset({ANONYMOUS}))
    organisation_id: int | None = None

    @property
    def authenticated(self) -> bool:
        return bool(self.username)

    @property
    def public_only(self) -> bool:
        """Anonymous callers and plain viewers see only public data (no drafts, proposals)."""
        return self.roles <= {ANONYMOUS, VIEWER}


ANONYMOUS_PRINCIPAL = Principal()


def _principal_for(user) -> Principal:
    roles = {ANONYMOUS, VIEWER}
    roles.update(g for g in user.groups.values_list("name", flat=True) if g in ROLES)
    if user.is_superuser:
        roles.add(ADMIN)
    from plan.models import FocalPoint

    link = FocalPoint.objects.filter(user=user).values_list("organisation_id", flat=True).first()
    return Principal(username=user.get_username(), roles=frozenset(roles), organisation_id=link)


def _resolve(header: str, session_key: str | None) -> Principal:
    from django.contrib.auth import authenticate
    from django.utils import timezone

    from app.accounts.models import ApiToken, hash_token

    if header.lower().startswith("bearer "):
        raw = header[7:].strip()
        token = (
            ApiToken.objects.select_related("user")
            .filter(key_hash=hash_token(raw), revoked_at__isnull=True)
            .first()
        )
        if token is None or not token.user.is_active:
            raise Unauthorized("Token inválido o revocado.", where="Authorization")
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return _principal_for(token.user)
    if header.lower().startswith("basic "):
        try:
            username, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            raise Unauthorized("Cabecera Basic mal formada.", where="Authorization") from None
        user = authenticate(username=username, password=password)
        if user is None or not user.is_active:
            raise Unauthorized("Usuario o contraseña incorrectos.", where="Authorization")
        return _principal_for(user)
    if session_key:
        from django.contrib.auth import get_user_model
        from django.contrib.sessions.backends.db import SessionStore

        user_id = SessionStore(session_key=session_key).get("_auth_user_id")
        user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
        if user is not None:
            return _principal_for(user)
    return ANONYMOUS_PRINCIPAL


UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _check_csrf(request: Request) -> None:
    """Session-authenticated writes must echo the csrftoken cookie (double submit), as
    Django's admin does; token and Basic callers are not exposed to CSRF."""
    cookie = request.cookies.get("csrftoken", "")
    header = request.headers.get("x-csrftoken", "")
    if not cookie or not header or not secrets.compare_digest(cookie, header):
        raise Forbidden(
            "Falta o no coincide el token CSRF (cabecera X-CSRFToken con la cookie csrftoken).",
            where="X-CSRFToken",
        )


async def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the caller, anonymous when no credentials are given."""
    header = request.headers.get("authorization", "")
    session_key = request.cookies.get("sessionid")
    if not header and not session_key:
        return ANONYMOUS_PRINCIPAL
    principal = await run_in_threadpool(_resolve, header, session_key)
    if not header and principal.authenticated and request.method in UNSAFE_METHODS:
        _check_csrf(request)
    return principal


def require_authenticated(principal: Principal) -> Principal:
    """Refuse anonymous callers of a write."""
    if not principal.authenticated:
        raise Unauthorized("Se requiere autenticación (token Bearer o usuario y contraseña).")
    return principal


def require_role(principal: Principal, allowed: frozenset[str] | set[str], what: str) -> None:
    """Refuse a caller none of whose roles is allowed."""
    require_authenticated(principal)
    if not (principal.roles & set(allowed)):
        raise Forbidden(f"Su rol no permite {what}.")


# The caller as a route parameter: `principal: Caller`. One alias for every router (module
# level, so FastAPI resolves it from string annotations).
Caller = Annotated[Principal, Depends(current_principal)]
