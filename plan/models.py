"""Governance and the Plan Estratégico de Gestión (Decreto 0977 de 2024).

The delimitation act convenes the Mesa de Trabajo Interinstitucional; its entity delegates
must be of grade directivo or asesor. The Mesa builds the plan: actions per entity in six
components, each naming the purposes (1-12) it serves, with indicators and follow-up.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField

from delimitation.models import AdministrativeAct, District
from layers.models import SRID


class OrganisationKind(models.TextChoices):
    NATIONAL_ENTITY = "national_entity", "Entidad nacional (ministerio, agencia)"
    TERRITORIAL_ENTITY = "territorial_entity", "Entidad territorial (gobernación, alcaldía)"
    ENVIRONMENTAL_AUTHORITY = "environmental_authority", "Autoridad ambiental (CAR)"
    PRIVATE_COMPANY = "private_company", "Empresa privada"
    MINING_WORKERS = "mining_workers", "Organización de trabajadores mineros"
    INTERNATIONAL_COOPERATION = "international_cooperation", "Cooperación internacional"
    SOCIAL_ORGANISATION = "social_organisation", "Organización social"
    ETHNIC_AUTHORITY = "ethnic_authority", "Autoridad étnica"
    ACADEMIA = "academia", "Academia"


# Public entities sit on the Mesa; the others may support the plan (art. 2.2.5.13.1.7).
ENTITY_KINDS = {
    OrganisationKind.NATIONAL_ENTITY,
    OrganisationKind.TERRITORIAL_ENTITY,
    OrganisationKind.ENVIRONMENTAL_AUTHORITY,
}


class Organisation(models.Model):
    name = models.CharField("nombre", max_length=250, unique=True)
    acronym = models.CharField("sigla", max_length=40, blank=True, default="")
    nit = models.CharField("NIT", max_length=20, blank=True, default="")
    kind = models.CharField("tipo", max_length=40, choices=OrganisationKind.choices)

    class Meta:
        verbose_name = "organización"
        verbose_name_plural = "organizaciones"
        ordering = ["name"]

    @property
    def is_entity(self) -> bool:
        return self.kind in ENTITY_KINDS

    def __str__(self) -> str:
        return self.acronym or self.name


class FocalPoint(models.Model):
    """A user who reports follow-up on behalf of one organisation."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="focal_point"
    )
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE)

    class Meta:
        verbose_name = "enlace de entidad"
        verbose_name_plural = "enlaces de entidad"


class WorkTable(models.Model):
    """The Mesa de Trabajo Interinstitucional of one district."""

    district = models.OneToOneField(District, on_delete=models.PROTECT, related_name="work_table")
    convened_by = models.ForeignKey(
        AdministrativeAct, on_delete=models.PROTECT, verbose_name="convocada por"
    )
    installed_on = models.DateField("fecha de instalación", null=True, blank=True)
    secretary = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        verbose_name="secretaría técnica",
        related_name="+",
    )

    class Meta:
        verbose_name = "Mesa de Trabajo Interinstitucional"
        verbose_name_plural = "Mesas de Trabajo Interinstitucionales"

    def __str__(self) -> str:
        return f"Mesa {self.district.code}"


class Grade(models.TextChoices):
    DIRECTIVO = "directivo", "Directivo"
    ASESOR = "asesor", "Asesor"
    PROFESIONAL = "profesional", "Profesional"
    TECNICO = "tecnico", "Técnico"
    ASISTENCIAL = "asistencial", "Asistencial"


ELIGIBLE_GRADES = {Grade.DIRECTIVO, Grade.ASESOR}


class Delegate(models.Model):
    work_table = models.ForeignKey(WorkTable, on_delete=models.CASCADE, related_name="delegates")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT)
    person = models.CharField("nombre", max_length=200)
    position = models.CharField("cargo", max_length=200)
    grade = models.CharField("nivel", max_length=20, choices=Grade.choices)
    principal = models.BooleanField("principal (no suplente)", default=True)
    email = models.EmailField("correo", blank=True, default="")
    active_from = models.DateField("desde")
    active_to = models.DateField("hasta", null=True, blank=True)

    class Meta:
        verbose_name = "delegado"
        verbose_name_plural = "delegados"


class Stage(models.TextChoices):
    BUILD = "build", "Construcción"
    EXECUTE = "execute", "Ejecución"
    FOLLOW_UP = "follow_up", "Seguimiento"


class Supporter(models.Model):
    work_table = models.ForeignKey(WorkTable, on_delete=models.CASCADE, related_name="supporters")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT)
    stages = ArrayField(models.CharField(max_length=20, choices=Stage.choices), default=list)
    description = models.TextField("aporte", blank=True, default="")

    class Meta:
        verbose_name = "apoyo"
        verbose_name_plural = "apoyos"


class Session(models.Model):
    work_table = models.ForeignKey(WorkTable, on_delete=models.CASCADE, related_name="sessions")
    date = models.DateField("fecha")
    place = models.CharField("lugar", max_length=200, blank=True, default="")
    attendees = models.ManyToManyField(Delegate, blank=True, verbose_name="asistentes")
    agreements = models.TextField("acuerdos", blank=True, default="")
    minutes_url = models.URLField("acta", max_length=500, blank=True, default="")

    class Meta:
        verbose_name = "sesión"
        verbose_name_plural = "sesiones"


class PlanStatus(models.TextChoices):
    DRAFT = "draft", "Borrador"
    APPROVED = "approved", "Aprobado"
    IN_EXECUTION = "in_execution", "En ejecución"
    CLOSED = "closed", "Cerrado"


class StrategicPlan(models.Model):
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="plans")
    version = models.PositiveIntegerField("versión", default=1)
    status = models.CharField(
        "estado", max_length=20, choices=PlanStatus.choices, default=PlanStatus.DRAFT
    )
    period_start = models.DateField("inicio del periodo")
    period_end = models.DateField("fin del periodo")
    approved_by = models.CharField("aprobado por", max_length=150, blank=True, default="")
    approved_at = models.DateTimeField("aprobado", null=True, blank=True)
    revision = models.PositiveIntegerField("revisión", default=1)

    class Meta:
        verbose_name = "Plan Estratégico de Gestión"
        verbose_name_plural = "Planes Estratégicos de Gestión"
        constraints = [
            models.UniqueConstraint(fields=["district", "version"], name="plan_version"),
        ]

    def __str__(self) -> str:
        return f"PEG {self.district.code} v{self.version}"


class Component(models.TextChoices):
    MINERO = "minero", "Minero"
    SOCIAL = "social", "Social"
    ECONOMICO = "economico", "Económico"
    INSTITUCIONAL = "institucional", "Institucional"
    ETNICO = "etnico", "Étnico"
    AMBIENTAL = "ambiental", "Ambiental"


class ScopeKind(models.TextChoices):
    DISTRICT = "district", "Todo el distrito"
    HYDRO_UNITS = "hydro_units", "Unidades hidrográficas"
    MUNICIPALITIES = "municipalities", "Municipios"
    DRAWN = "drawn", "Geometría dibujada"


class ActionStatus(models.TextChoices):
    PLANNED = "planned", "Programada"
    IN_PROGRESS = "in_progress", "En ejecución"
    DONE = "done", "Terminada"
    CANCELLED = "cancelled", "Cancelada"


class Action(models.Model):
    plan = models.ForeignKey(StrategicPlan, on_delete=models.CASCADE, related_name="actions")
    code = models.CharField("código", max_length=40)
    title = models.CharField("título", max_length=300)
    description = models.TextField("descripción", blank=True, default="")
    component = models.CharField("componente", max_length=20, choices=Component.choices)
    purposes = ArrayField(models.PositiveSmallIntegerField(), verbose_name="propósitos")
    responsible = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="actions", verbose_name="responsable"
    )
    supporting = models.ManyToManyField(
        Organisation, blank=True, related_name="supported_actions", verbose_name="apoyan"
    )
    start = models.DateField("inicio", null=True, blank=True)
    end = models.DateField("fin", null=True, blank=True)
    budget_cop = models.DecimalField(
        "presupuesto (COP)", max_digits=18, decimal_places=0, null=True, blank=True
    )
    funding_source = models.CharField(
        "fuente de financiación", max_length=200, blank=True, default=""
    )
    action_plan_ref = models.CharField(
        "referencia en el Plan de Acción de la entidad", max_length=200, blank=True, default=""
    )
    status = models.CharField(
        "estado", max_length=20, choices=ActionStatus.choices, default=ActionStatus.PLANNED
    )
    scope_kind = models.CharField("alcance", max_length=20, choices=ScopeKind.choices)
    scope_hydro_unit_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    scope_municipality_codes = ArrayField(models.CharField(max_length=5), default=list, blank=True)
    geom = models.GeometryField("alcance espacial", srid=SRID)
    ethnic_territories = ArrayField(
        models.TextField(), default=list, blank=True, verbose_name="territorios étnicos tocados"
    )
    revision = models.PositiveIntegerField("revisión", default=1)

    class Meta:
        verbose_name = "acción"
        verbose_name_plural = "acciones"
        constraints = [models.UniqueConstraint(fields=["plan", "code"], name="action_code")]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class Frequency(models.TextChoices):
    MONTHLY = "monthly", "Mensual"
    QUARTERLY = "quarterly", "Trimestral"
    SEMIANNUAL = "semiannual", "Semestral"
    ANNUAL = "annual", "Anual"


FREQUENCY_DAYS = {"monthly": 31, "quarterly": 92, "semiannual": 183, "annual": 366}


class Indicator(models.Model):
    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="indicators")
    name = models.CharField("nombre", max_length=300)
    unit = models.CharField("unidad", max_length=60)
    baseline = models.FloatField("línea base")
    target = models.FloatField("meta")
    target_date = models.DateField("fecha de la meta")
    frequency = models.CharField("frecuencia", max_length=20, choices=Frequency.choices)
    evaluation_criterion = models.TextField("criterio de evaluación", blank=True, default="")

    class Meta:
        verbose_name = "indicador"
        verbose_name_plural = "indicadores"


class FollowUp(models.Model):
    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="followups")
    period = models.CharField("periodo", max_length=20)
    date = models.DateField("fecha de corte")
    value = models.FloatField("valor")
    narrative = models.TextField("avance cualitativo", blank=True, default="")
    evidence_url = models.URLField("evidencia", max_length=500, blank=True, default="")
    reported_by = models.CharField("reportado por", max_length=150, blank=True, default="")
    reported_at = models.DateTimeField("registrado", auto_now=True)

    class Meta:
        verbose_name = "seguimiento"
        verbose_name_plural = "seguimientos"
        constraints = [
            models.UniqueConstraint(fields=["indicator", "period"], name="followup_period")
        ]
