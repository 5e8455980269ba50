"""Progress of a plan: attainment per indicator, per action, and rolled up.

Attainment of an indicator = (latest value - baseline) / (target - baseline), clamped to
[0, 1]; when target equals baseline it is 1 once the value reaches the target, else 0.
An action's attainment is the mean of its indicators'; a group's is the mean of its actions'.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from statistics import fmean

from django.db import connection

from plan.models import FREQUENCY_DAYS, ActionStatus, StrategicPlan
from plan.scope import AREA_TOLERANCE


def attainment(baseline: float, target: float, value: float | None) -> float | None:
    """Clamped fraction of the way from baseline to target (None without a figure)."""
    if value is None:
        return None
    if target == baseline:
        return 1.0 if value >= target else 0.0
    return max(0.0, min(1.0, (value - baseline) / (target - baseline)))


def _mean(values: list[float]) -> float | None:
    return round(fmean(values), 4) if values else None


# A polygonal scope counts in a municipality or unit when they share more than the scope
# tolerance (1 % of the smaller of the two areas): boundaries digitised at other scales leave
# slivers along shared edges that must not roll an action into every neighbour. Lines and
# points count wherever they enter the interior.
_OVERLAPS = (
    "ST_Intersects(a.geom, {other}.geom) AND CASE WHEN ST_Area(a.geom) > 0 "
    "THEN ST_Area(ST_Intersection(a.geom, {other}.geom)) "
    "> %s * LEAST(ST_Area(a.geom), ST_Area({other}.geom)) "
    "ELSE NOT ST_Touches(a.geom, {other}.geom) END"
)


def _spatial_groups(plan_id: int, hydro_system: str) -> tuple[dict, dict]:
    """Action ids per municipality and per hydro unit their scope overlaps."""
    by_municipality: dict[str, list[int]] = defaultdict(list)
    by_unit: dict[str, list[int]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT m.code || ' ' || m.name, a.id FROM plan_action a JOIN layers_municipality m "
            f"ON {_OVERLAPS.format(other='m')} WHERE a.plan_id = %s",
            [AREA_TOLERANCE, plan_id],
        )
        for key, action_id in cursor.fetchall():
            by_municipality[key].append(action_id)
        cursor.execute(
            "SELECT u.code || ' ' || u.name, a.id FROM plan_action a JOIN hydrology_hydrounit u "
            f"ON {_OVERLAPS.format(other='u')} WHERE a.plan_id = %s AND u.system = %s",
            [AREA_TOLERANCE, plan_id, hydro_system],
        )
        for key, action_id in cursor.fetchall():
            by_unit[key].append(action_id)
    return by_municipality, by_unit


def plan_progress(
    plan: StrategicPlan, today: dt.date | None = None, hydro_system: str = "pomca"
) -> dict:
    """Attainment per indicator and action, roll-ups, and overdue or silent actions."""
    today = today or dt.date.today()
    actions = plan.actions.select_related("responsible").prefetch_related("indicators__followups")
    per_action: dict[int, dict] = {}
    for action in actions:
        indicators = []
        silent = False
        for ind in action.indicators.all():
            figures = sorted(ind.followups.all(), key=lambda f: (f.date, f.period))
            latest = figures[-1] if figures else None
            value = latest.value if latest else None
            window = dt.timedelta(days=FREQUENCY_DAYS[ind.frequency])
            started = action.start or plan.period_start
            if (latest is None and today - started > window) or (
                latest is not None and today - latest.date > window
            ):
                silent = True
            indicators.append(
                {
                    "id": ind.pk,
                    "name": ind.name,
                    "unit": ind.unit,
                    "baseline": ind.baseline,
                    "target": ind.target,
                    "latest_value": value,
                    "latest_period": latest.period if latest else None,
                    "attainment": attainment(ind.baseline, ind.target, value),
                }
            )
        scored = [i["attainment"] for i in indicators if i["attainment"] is not None]
        overdue = bool(action.end and action.end < today and action.status != ActionStatus.DONE)
        per_action[action.pk] = {
            "code": action.code,
            "title": action.title,
            "component": action.component,
            "purposes": action.purposes,
            "responsible": str(action.responsible),
            "attainment": _mean(scored) if scored else 0.0 if indicators else None,
            "overdue": overdue,
            "without_followup": silent,
            "indicators": indicators,
        }

    def roll(groups: dict) -> dict:
        return {
            key: {
                "actions": len(ids),
                "attainment": _mean(
                    [
                        per_action[i]["attainment"]
                        for i in ids
                        if per_action[i]["attainment"] is not None
                    ]
                ),
            }
            for key, ids in sorted(groups.items())
        }

    by_component: dict[str, list[int]] = defaultdict(list)
    by_purpose: dict[int, list[int]] = defaultdict(list)
    by_entity: dict[str, list[int]] = defaultdict(list)
    for action_id, item in per_action.items():
        by_component[item["component"]].append(action_id)
        by_entity[item["responsible"]].append(action_id)
        for purpose in item["purposes"]:
            by_purpose[purpose].append(action_id)
    by_municipality, by_unit = _spatial_groups(plan.pk, hydro_system)
    overall = [a["attainment"] for a in per_action.values() if a["attainment"] is not None]
    return {
        "plan": {"district": plan.district.code, "version": plan.version, "status": plan.status},
        "as_of": today.isoformat(),
        "attainment": _mean(overall),
        "actions": list(per_action.values()),
        "by_component": roll(by_component),
        "by_purpose": roll(by_purpose),
        "by_entity": roll(by_entity),
        "by_municipality": roll(by_municipality),
        "by_hydro_unit": roll(by_unit),
        "overdue": [a["code"] for a in per_action.values() if a["overdue"]],
        "without_followup": [a["code"] for a in per_action.values() if a["without_followup"]],
    }
