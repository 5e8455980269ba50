"""The audit log: every write that matters records who, when, what, before and after."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from typing import Any

from layers.models import AuditEntry


def _jsonable(value: Any) -> Any:
    """Dates, decimals and geometries as JSON-friendly values."""
    return json.loads(json.dumps(value, default=_default)) if value is not None else None


def _default(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if hasattr(value, "geojson"):
        return json.loads(value.geojson)
    return str(value)


def record_audit(
    user: str,
    action: str,
    object_type: str,
    object_id: object,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEntry:
    """Write one audit entry (call inside the same transaction as the write)."""
    return AuditEntry.objects.create(
        user=user or "",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        before=_jsonable(before),
        after=_jsonable(after),
    )
