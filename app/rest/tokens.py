"""Personal API tokens: created and revoked by their owner (or an admin), shown once."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app.auth import Caller, require_authenticated
from geo.errors import NotFound
from layers.registry import ADMIN


class TokenIn(BaseModel):
    name: str = Field(default="", max_length=100)


def _token_json(token) -> dict:
    return {
        "id": token.pk,
        "user": token.user.get_username(),
        "name": token.name,
        "prefix": token.prefix,
        "created_at": token.created_at.isoformat(),
        "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
        "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
    }


def router() -> APIRouter:
    """Routes under /api/v1/tokens."""
    api = APIRouter(prefix="/api/v1/tokens", tags=["cuentas"])

    @api.get("", operation_id="list_tokens")
    def list_tokens(principal: Caller) -> dict:
        from app.accounts.models import ApiToken

        require_authenticated(principal)
        tokens = ApiToken.objects.select_related("user").order_by("-created_at")
        if ADMIN not in principal.roles:
            tokens = tokens.filter(user__username=principal.username)
        return {"tokens": [_token_json(t) for t in tokens]}

    @api.post("", status_code=201, operation_id="create_token")
    def create_token(body: TokenIn, principal: Caller) -> dict:
        """A new token for the caller; the secret is in this answer only."""
        from django.contrib.auth import get_user_model

        from app.accounts.models import ApiToken
        from layers.audit import record_audit

        require_authenticated(principal)
        user = get_user_model().objects.get(username=principal.username)
        token, raw = ApiToken.issue(user, body.name)
        record_audit(principal.username, "create", "token", token.pk, None, {"name": body.name})
        return {**_token_json(token), "token": raw}

    @api.delete("/{token_id}", status_code=204, operation_id="revoke_token")
    def revoke_token(token_id: int, principal: Caller) -> None:
        from django.utils import timezone

        from app.accounts.models import ApiToken
        from layers.audit import record_audit

        require_authenticated(principal)
        token = ApiToken.objects.select_related("user").filter(pk=token_id).first()
        if token is None or (
            ADMIN not in principal.roles and token.user.get_username() != principal.username
        ):
            raise NotFound(f"No existe el token {token_id}.", where="token_id")
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            record_audit(principal.username, "revoke", "token", token.pk)

    return api
