"""The Plan Estratégico de Gestión: versions, actions with scope, indicators, approval."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from delimitation.models import District
from geo.errors import Conflict, NotFound, PreconditionFailed, Unprocessable
from layers.audit import record_audit
from plan.governance import organisation
from plan.models import (
    Action,
    Component,
    Delegate,
    Frequency,
    Indicator,
    PlanStatus,
    StrategicPlan,
)
from plan.scope import build_scope

PURPOSES = range(1, 13)
EDITABLE = {PlanStatus.DRAFT}


def current_plan(district: District) -> StrategicPlan:
    """The district's newest plan version, or a 404."""
    plan = StrategicPlan.objects.filter(district=district).order_by("-version").first()
    if plan is None:
        raise NotFound(f"El distrito '{district.code}' no tiene Plan Estratégico.", where="plan")
    return plan


def check_revision(current: int, if_match: str | None, what: str) -> None:
    """Optimistic locking: the client's ETag must be the current revision."""
    if if_match is None:
        raise PreconditionFailed(
            f"Falta la cabecera If-Match con la versión vigente de {what}.",
            status=428,
            where="If-Match",
        )
    if if_match.strip().strip("W/").strip('"') != str(current):
        raise PreconditionFailed(
            f"{what} cambió desde que lo leyó (versión vigente {current}); vuelva a leerlo.",
            where="If-Match",
        )


@transaction.atomic
def create_plan(district: District, data: dict, user: str) -> StrategicPlan:
    """A new plan version (draft); the previous one, if any, must be closed or approved."""
    latest = StrategicPlan.objects.filter(district=district).order_by("-version").first()
    if latest is not None and latest.status == PlanStatus.DRAFT:
        raise Conflict(
            f"Ya hay un plan en borrador (versión {latest.version}) para '{district.code}'.",
            where="plan",
        )
    if data["period_end"] <= data["period_start"]:
        raise Unprocessable("El periodo termina antes de empezar.", where="period_end")
    plan = StrategicPlan.objects.create(
        district=district,
        version=(latest.version + 1) if latest else 1,
        period_start=data["period_start"],
        period_end=data["period_end"],
    )
    record_audit(user, "create", "plan", plan.pk, None, data)
    return plan


def _require_editable(plan: StrategicPlan) -> None:
    if plan.status not in EDITABLE:
        raise Conflict(
            f"El plan versión {plan.version} está '{plan.get_status_display()}': solo un "
            "borrador se edita; cree una nueva versión.",
            where="plan",
        )


def _validate_action(data: dict) -> None:
    if data["component"] not in Component.values:
        raise Unprocessable(
            f"Componente desconocido '{data['component']}'. Use: " + ", ".join(Component.values),
            where="component",
        )
    purposes = data.get("purposes") or []
    bad = [p for p in purposes if p not in PURPOSES]
    if not purposes or bad:
        raise Unprocessable(
            "Cada acción sirve al menos a un propósito del 1 al 12"
            + (f"; inválidos: {bad}" if bad else "."),
            where="purposes",
        )
    if data.get("start") and data.get("end") and data["end"] < data["start"]:
        raise Unprocessable("La acción termina antes de empezar.", where="end")


@transaction.atomic
def add_action(plan: StrategicPlan, data: dict, user: str) -> Action:
    """Add an action with its spatial scope (checked inside the district boundary)."""
    _require_editable(plan)
    _validate_action(data)
    responsible = organisation(data["responsible"], "responsible")
    if Action.objects.filter(plan=plan, code=data["code"]).exists():
        raise Conflict(f"Ya existe la acción '{data['code']}' en este plan.", where="code")
    scope = build_scope(plan.district_id, data["scope"])
    action = Action.objects.create(
        plan=plan,
        code=data["code"],
        title=data["title"],
        description=data.get("description", ""),
        component=data["component"],
        purposes=sorted(set(data["purposes"])),
        responsible=responsible,
        start=data.get("start"),
        end=data.get("end"),
        budget_cop=data.get("budget_cop"),
        funding_source=data.get("funding_source", ""),
        action_plan_ref=data.get("action_plan_ref", ""),
        scope_kind=scope.kind,
        scope_hydro_unit_ids=scope.hydro_unit_ids,
        scope_municipality_codes=scope.municipality_codes,
        geom=scope.ewkt,
        ethnic_territories=scope.ethnic_territories,
    )
    if data.get("supporting"):
        action.supporting.set([organisation(o, "supporting") for o in data["supporting"]])
    record_audit(user, "create", "action", action.pk, None, {**data, "scope": scope.kind})
    return action


@transaction.atomic
def add_indicator(action: Action, data: dict, user: str) -> Indicator:
    """Add an indicator to an action of a draft plan."""
    _require_editable(action.plan)
    if data["frequency"] not in Frequency.values:
        raise Unprocessable(
            f"Frecuencia desconocida '{data['frequency']}'. Use: " + ", ".join(Frequency.values),
            where="frequency",
        )
    indicator = Indicator.objects.create(action=action, **data)
    record_audit(user, "create", "indicator", indicator.pk, None, data)
    return indicator


ACTION_FIELDS = (
    "code",
    "title",
    "description",
    "component",
    "purposes",
    "start",
    "end",
    "budget_cop",
    "funding_source",
    "action_plan_ref",
)


def _action_data(action: Action) -> dict:
    """The editable fields of an action as the API names them (for merging and audit)."""
    data = {name: getattr(action, name) for name in ACTION_FIELDS}
    data["responsible"] = action.responsible_id
    data["scope"] = action.scope_kind
    return data


@transaction.atomic
def update_action(action: Action, changes: dict, user: str) -> Action:
    """Change some fields of an action of a draft plan; the scope is rebuilt and re-checked
    inside the district when it changes. Nothing is saved if any field is refused."""
    action = Action.objects.select_for_update().select_related("plan").get(pk=action.pk)
    _require_editable(action.plan)
    before = _action_data(action)
    merged = {**before, **{k: v for k, v in changes.items() if k != "scope"}}
    _validate_action(merged)
    if merged["code"] != action.code and (
        Action.objects.filter(plan=action.plan, code=merged["code"]).exists()
    ):
        raise Conflict(f"Ya existe la acción '{merged['code']}' en este plan.", where="code")
    for name in ACTION_FIELDS:
        setattr(action, name, merged[name])
    action.purposes = sorted(set(merged["purposes"]))
    if "responsible" in changes:
        action.responsible = organisation(changes["responsible"], "responsible")
    if changes.get("scope") is not None:
        scope = build_scope(action.plan.district_id, changes["scope"])
        action.scope_kind = scope.kind
        action.scope_hydro_unit_ids = scope.hydro_unit_ids
        action.scope_municipality_codes = scope.municipality_codes
        action.geom = scope.ewkt
        action.ethnic_territories = scope.ethnic_territories
    action.save()
    if changes.get("supporting") is not None:
        action.supporting.set([organisation(o, "supporting") for o in changes["supporting"]])
    record_audit(user, "update", "action", action.pk, before, _action_data(action))
    return action


@transaction.atomic
def delete_action(action: Action, user: str) -> None:
    """Remove an action (and its indicators) from a draft plan."""
    _require_editable(action.plan)
    before = _action_data(action)
    record_audit(user, "delete", "action", action.pk, before, None)
    action.delete()


INDICATOR_FIELDS = (
    "name",
    "unit",
    "baseline",
    "target",
    "target_date",
    "frequency",
    "evaluation_criterion",
)


@transaction.atomic
def update_indicator(indicator: Indicator, changes: dict, user: str) -> Indicator:
    """Change some fields of an indicator of a draft plan."""
    _require_editable(indicator.action.plan)
    if "frequency" in changes and changes["frequency"] not in Frequency.values:
        raise Unprocessable(
            f"Frecuencia desconocida '{changes['frequency']}'. Use: " + ", ".join(Frequency.values),
            where="frequency",
        )
    before = {name: getattr(indicator, name) for name in INDICATOR_FIELDS}
    for name, value in changes.items():
        setattr(indicator, name, value)
    indicator.save()
    after = {name: getattr(indicator, name) for name in INDICATOR_FIELDS}
    record_audit(user, "update", "indicator", indicator.pk, before, after)
    return indicator


@transaction.atomic
def delete_indicator(indicator: Indicator, user: str) -> None:
    """Remove an indicator from an action of a draft plan."""
    _require_editable(indicator.action.plan)
    before = {name: getattr(indicator, name) for name in INDICATOR_FIELDS}
    record_audit(user, "delete", "indicator", indicator.pk, before, None)
    indicator.delete()


def approval_gaps(plan: StrategicPlan) -> list[str]:
    """What stops approval: components without actions, actions without indicators or
    without a responsible entity that has a delegate on the Mesa today."""
    gaps: list[str] = []
    actions = list(plan.actions.select_related("responsible").prefetch_related("indicators"))
    present = {a.component for a in actions}
    for component in Component:
        if component.value not in present:
            gaps.append(f"El componente {component.label} no tiene acciones.")
    # A delegate whose designation ended no longer sits on the Mesa.
    today = timezone.localdate()
    delegates = set(
        Delegate.objects.filter(work_table__district=plan.district_id, active_from__lte=today)
        .exclude(active_to__lt=today)
        .values_list("organisation_id", flat=True)
    )
    for action in actions:
        if not action.indicators.all():
            gaps.append(f"La acción {action.code} no tiene indicadores.")
        if action.responsible_id not in delegates:
            gaps.append(
                f"La entidad responsable de {action.code} ({action.responsible}) no tiene "
                "delegado en la Mesa de Trabajo."
            )
    return gaps


@transaction.atomic
def approve(plan: StrategicPlan, if_match: str | None, user: str) -> StrategicPlan:
    """Approve a complete draft plan (409 listing what is missing otherwise)."""
    plan = StrategicPlan.objects.select_for_update().get(pk=plan.pk)
    check_revision(plan.revision, if_match, "el plan")
    if plan.status != PlanStatus.DRAFT:
        raise Conflict(f"Solo se aprueba un borrador; el plan está '{plan.status}'.", where="plan")
    gaps = approval_gaps(plan)
    if gaps:
        raise Conflict(
            "El plan no puede aprobarse: " + " ".join(gaps), where="plan", extra={"missing": gaps}
        )
    before = {"status": plan.status}
    plan.status = PlanStatus.APPROVED
    plan.approved_by = user
    plan.approved_at = timezone.now()
    plan.revision += 1
    plan.save()
    record_audit(user, "approve", "plan", plan.pk, before, {"status": plan.status})
    return plan
