"""The Mesa de Trabajo: convened by the delimitation act, entity delegates of high grade."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from delimitation.models import AdministrativeAct, District
from geo.errors import Conflict, NotFound, Unprocessable
from layers.audit import record_audit
from plan.models import (
    ELIGIBLE_GRADES,
    Delegate,
    Grade,
    Organisation,
    Session,
    Stage,
    Supporter,
    WorkTable,
)


def district_by_code(code: str) -> District:
    """The district with this code, or a 404."""
    district = District.objects.filter(code=code).first()
    if district is None:
        raise NotFound(f"No existe el distrito '{code}'.", where="code")
    return district


def organisation(org_id: int, where: str = "organisation") -> Organisation:
    """An organisation by id, or a 422 naming the field."""
    found = Organisation.objects.filter(pk=org_id).first()
    if found is None:
        raise Unprocessable(f"No existe la organización {org_id}.", where=where)
    return found


def work_table_of(district: District) -> WorkTable:
    """The district's Mesa, or a 404 saying it has not been convened."""
    table = WorkTable.objects.filter(district=district).first()
    if table is None:
        raise NotFound(
            f"El distrito '{district.code}' no tiene Mesa de Trabajo instalada.", where="worktable"
        )
    return table


@transaction.atomic
def convene_work_table(
    district: District, secretary_id: int, installed_on: dt.date | None, user: str
) -> WorkTable:
    """Install the Mesa: only a delimitation act convenes it (one per district)."""
    act = (
        AdministrativeAct.objects.filter(district=district, kind="delimitation")
        .order_by("-date", "-id")
        .first()
    )
    if act is None:
        raise Conflict(
            f"El distrito '{district.code}' no tiene acto de delimitación: la Mesa de Trabajo "
            "se convoca en ese acto.",
            where="district",
        )
    if WorkTable.objects.filter(district=district).exists():
        raise Conflict(f"El distrito '{district.code}' ya tiene Mesa de Trabajo.", where="district")
    table = WorkTable.objects.create(
        district=district,
        convened_by=act,
        installed_on=installed_on,
        secretary=organisation(secretary_id, "secretary"),
    )
    record_audit(
        user, "create", "worktable", table.pk, None, {"district": district.code, "act": act.number}
    )
    return table


@transaction.atomic
def add_delegate(table: WorkTable, data: dict, user: str) -> Delegate:
    """Add an entity delegate; the decree requires grade directivo or asesor."""
    org = organisation(data["organisation"])
    if not org.is_entity:
        raise Unprocessable(
            f"'{org.name}' no es una entidad pública: regístrela como apoyo de la Mesa, no como "
            "delegada.",
            where="organisation",
        )
    grade = data["grade"]
    if grade not in Grade.values:
        raise Unprocessable(
            f"Nivel desconocido '{grade}'. Niveles: " + ", ".join(Grade.values), where="grade"
        )
    if grade not in ELIGIBLE_GRADES:
        raise Unprocessable(
            f"El delegado de {org.name} debe ser del nivel directivo o asesor (Decreto 0977 de "
            f"2024); se recibió el nivel '{grade}'.",
            where="grade",
        )
    delegate = Delegate.objects.create(
        work_table=table,
        organisation=org,
        person=data["person"],
        position=data["position"],
        grade=grade,
        principal=data.get("principal", True),
        email=data.get("email", ""),
        active_from=data["active_from"],
        active_to=data.get("active_to"),
    )
    record_audit(user, "create", "delegate", delegate.pk, None, data)
    return delegate


@transaction.atomic
def add_supporter(table: WorkTable, data: dict, user: str) -> Supporter:
    """Register a supporting organisation (companies, workers, cooperation, social groups)."""
    org = organisation(data["organisation"])
    if org.is_entity:
        raise Unprocessable(
            f"'{org.name}' es una entidad pública: participa con delegados, no como apoyo.",
            where="organisation",
        )
    unknown = set(data.get("stages", [])) - set(Stage.values)
    if unknown or not data.get("stages"):
        raise Unprocessable(
            "Etapas de apoyo inválidas o vacías; use: " + ", ".join(Stage.values), where="stages"
        )
    supporter = Supporter.objects.create(
        work_table=table,
        organisation=org,
        stages=list(data["stages"]),
        description=data.get("description", ""),
    )
    record_audit(user, "create", "supporter", supporter.pk, None, data)
    return supporter


@transaction.atomic
def record_session(table: WorkTable, data: dict, user: str) -> Session:
    """Record a meeting of the Mesa with the delegates present."""
    attendees = list(Delegate.objects.filter(work_table=table, pk__in=data.get("attendees", [])))
    missing = set(data.get("attendees", [])) - {d.pk for d in attendees}
    if missing:
        raise Unprocessable(
            f"Asistentes que no son delegados de esta Mesa: {sorted(missing)}", where="attendees"
        )
    session = Session.objects.create(
        work_table=table,
        date=data["date"],
        place=data.get("place", ""),
        agreements=data.get("agreements", ""),
        minutes_url=data.get("minutes_url", ""),
    )
    session.attendees.set(attendees)
    record_audit(user, "create", "session", session.pk, None, data)
    return session
