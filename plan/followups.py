"""Follow-up figures: idempotent by (indicator, period), entities report their own actions."""

from __future__ import annotations

from django.db import transaction

from geo.errors import Conflict, Forbidden, NotFound, Unprocessable
from layers.audit import record_audit
from plan.models import FollowUp, Indicator, PlanStatus

REPORTABLE = {PlanStatus.APPROVED, PlanStatus.IN_EXECUTION}


def indicator(indicator_id: int) -> Indicator:
    """An indicator with its action and plan, or a 404."""
    found = (
        Indicator.objects.select_related("action__plan", "action__responsible")
        .filter(pk=indicator_id)
        .first()
    )
    if found is None:
        raise NotFound(f"No existe el indicador {indicator_id}.", where="indicator")
    return found


@transaction.atomic
def report(
    data: dict, user: str, organisation_id: int | None, may_report_any: bool
) -> tuple[FollowUp, bool]:
    """Create or replace the figure of one period; returns (follow-up, created)."""
    target = indicator(int(data["indicator"]))
    action = target.action
    if not may_report_any and action.responsible_id != organisation_id:
        raise Forbidden(
            f"La acción {action.code} es de {action.responsible}; solo su entidad reporta su "
            "seguimiento.",
            where="indicator",
        )
    if action.plan.status not in REPORTABLE:
        raise Conflict(
            f"El plan de la acción {action.code} no está aprobado: aún no recibe seguimiento.",
            where="indicator",
        )
    try:
        value = float(data["value"])
    except (TypeError, ValueError):
        raise Unprocessable(f"Valor no numérico: {data.get('value')!r}", where="value") from None
    existing = (
        FollowUp.objects.select_for_update().filter(indicator=target, period=data["period"]).first()
    )
    before = None
    if existing is not None:
        before = {"value": existing.value, "date": existing.date, "narrative": existing.narrative}
    followup, created = FollowUp.objects.update_or_create(
        indicator=target,
        period=str(data["period"]),
        defaults={
            "date": data["date"],
            "value": value,
            "narrative": data.get("narrative", ""),
            "evidence_url": data.get("evidence_url", ""),
            "reported_by": user,
        },
    )
    record_audit(
        user,
        "create" if created else "update",
        "followup",
        followup.pk,
        before,
        {"indicator": target.pk, "period": followup.period, "value": value},
    )
    return followup, created
