"""Domain errors with their HTTP status and OGC exception code.

Raised anywhere below `app/`; `app/problems.py` turns them into RFC 9457 problem documents
or OWS ExceptionReports. Messages are Spanish because users read them.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal the user can act on: what is wrong and where."""

    status: int = 400
    code: str = "InvalidParameterValue"
    title: str = "Solicitud inválida"

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        code: str | None = None,
        where: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        self.where = where
        self.extra = extra or {}


class NotFound(DomainError):
    """The named resource does not exist."""

    status = 404
    code = "NotFound"
    title = "No encontrado"


class InvalidInput(DomainError):
    """The request or file is malformed or refers to unknown things."""

    status = 400
    code = "InvalidParameterValue"
    title = "Entrada inválida"


class Unprocessable(DomainError):
    """Well-formed input that breaks a domain rule."""

    status = 422
    code = "InvalidParameterValue"
    title = "No procesable"


class Conflict(DomainError):
    """The current state forbids the change."""

    status = 409
    code = "OperationProcessingFailed"
    title = "Conflicto"


class PreconditionFailed(DomainError):
    """The client's version (If-Match) is stale."""

    status = 412
    code = "OperationProcessingFailed"
    title = "Versión desactualizada"


class Forbidden(DomainError):
    """The user may not do this."""

    status = 403
    code = "OperationNotSupported"
    title = "Prohibido"


class Unauthorized(DomainError):
    """Credentials are missing or wrong."""

    status = 401
    code = "OperationNotSupported"
    title = "No autenticado"
