"""Districts, their immutable boundary versions, administrative acts and proposal runs.

All geometries are EPSG:9377; areas are hectares computed in 9377. Boundary versions and
acts are legal records: a database trigger (see the migration) refuses UPDATE and DELETE.
Departments and municipalities touched by a district are computed from its boundary
(`delimitation.overlay_queries`), never stored as typed values.
"""

from __future__ import annotations

from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField

from layers.models import SRID

MINISTRY = "Ministerio de Minas y Energía"


class DistrictType(models.TextChoices):
    VIDA_Y_PAZ = "vida_y_paz", "Distrito Minero para la Vida y la Paz"
    TRANSICION_ENERGETICA = "transicion_energetica", "Distrito Minero para la Transición Energética"


class DistrictStatus(models.TextChoices):
    DRAFT = "draft", "Borrador"
    PROPOSED = "proposed", "Propuesto"
    IN_VALIDATION = "in_validation", "En validación"
    DELIMITED = "delimited", "Delimitado"
    IN_EXECUTION = "in_execution", "En ejecución"
    ARCHIVED = "archived", "Archivado"
    REVOKED = "revoked", "Revocado"


class District(models.Model):
    """A mining district; its current boundary is its newest `BoundaryVersion`."""

    code = models.SlugField("código", max_length=40, unique=True)
    name = models.CharField("nombre", max_length=200)
    type = models.CharField("tipo", max_length=30, choices=DistrictType.choices)
    status = models.CharField(
        "estado", max_length=20, choices=DistrictStatus.choices, default=DistrictStatus.DRAFT
    )
    description = models.TextField("descripción", blank=True, default="")
    # Bumped on every write of the district or its boundary: the ETag clients send back.
    revision = models.PositiveIntegerField("revisión", default=1)
    created_by = models.CharField("creado por", max_length=150, blank=True, default="")
    created_at = models.DateTimeField("creado", auto_now_add=True)
    updated_at = models.DateTimeField("actualizado", auto_now=True)

    class Meta:
        verbose_name = "distrito minero"
        verbose_name_plural = "distritos mineros"
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(type__in=DistrictType.values), name="district_type_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=DistrictStatus.values), name="district_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class BoundarySource(models.TextChoices):
    DRAWN = "drawn", "Dibujado"
    PROPOSAL = "proposal", "Propuesta"
    QGIS_WFS = "qgis/wfs", "QGIS / WFS-T"
    IMPORT = "import", "Importado"


class HydroSystemChoice(models.TextChoices):
    # Mirrors hydrology.models.HydroSystem; kept as plain text so runs survive new systems.
    IDEAM = "ideam", "Zonificación hidrográfica IDEAM"
    POMCA = "pomca", "Cuencas POMCA"
    WATERSHED = "watershed", "Cuencas (autoridad ambiental)"
    HYDROBASINS = "hydrobasins", "HydroBASINS"
    DERIVED = "derived", "Derivadas del DEM"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "En cola"
    RUNNING = "running", "En ejecución"
    DONE = "done", "Terminada"
    FAILED = "failed", "Fallida"


class ProposalRun(models.Model):
    """One request to the proposal engine: its parameters, study area, progress and timings."""

    parameters = models.JSONField("parámetros", default=dict)
    # The request's study area as given (municipality/department codes or a geometry).
    study_area_spec = models.JSONField("área de estudio (solicitud)", default=dict)
    study_area = models.MultiPolygonField("área de estudio", srid=SRID, null=True, blank=True)
    hydro_system = models.CharField("sistema hidrográfico", max_length=20)
    hydro_level = models.IntegerField("nivel hidrográfico", null=True, blank=True)
    status = models.CharField(
        "estado", max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED
    )
    progress = models.FloatField("avance (%)", default=0)
    message = models.TextField("mensaje", blank=True, default="")
    user = models.CharField("usuario", max_length=150, blank=True, default="")
    job_id = models.BigIntegerField("trabajo en cola", null=True, blank=True)
    timings = models.JSONField("tiempos (s)", default=dict)
    created_at = models.DateTimeField("creada", auto_now_add=True)
    started_at = models.DateTimeField("iniciada", null=True, blank=True)
    finished_at = models.DateTimeField("terminada", null=True, blank=True)

    class Meta:
        verbose_name = "ejecución de propuestas"
        verbose_name_plural = "ejecuciones de propuestas"
        ordering = ["-created_at"]


class Proposal(models.Model):
    """One ranked alternative of a run: always a union of whole hydro units."""

    run = models.ForeignKey(ProposalRun, on_delete=models.CASCADE, related_name="proposals")
    rank = models.PositiveIntegerField("puesto")
    alternative = models.CharField("alternativa", max_length=40, blank=True, default="")
    score = models.FloatField("puntaje")
    area_ha = models.FloatField("área (ha)", null=True, blank=True)
    geom = models.MultiPolygonField(srid=SRID)
    unit_ids = ArrayField(models.BigIntegerField(), default=list, verbose_name="unidades")
    metrics = models.JSONField("métricas", default=dict)

    class Meta:
        verbose_name = "propuesta"
        ordering = ["run", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["run", "rank"], name="proposal_run_rank"),
        ]


class BoundaryVersion(models.Model):
    """One immutable boundary of a district (UPDATE/DELETE refused by a trigger)."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField("número")
    geom = models.MultiPolygonField(srid=SRID)
    area_ha = models.FloatField("área (ha)")
    source = models.CharField("origen", max_length=20, choices=BoundarySource.choices)
    proposal = models.ForeignKey(
        Proposal, null=True, blank=True, on_delete=models.PROTECT, related_name="adopted_as"
    )
    author = models.CharField("autor", max_length=150, blank=True, default="")
    comment = models.TextField("comentario", blank=True, default="")
    created_at = models.DateTimeField("fecha", auto_now_add=True)
    # The validation report (findings) the boundary had when it was saved.
    validation = models.JSONField("informe de validación", default=dict)

    class Meta:
        verbose_name = "versión de límite"
        verbose_name_plural = "versiones de límite"
        ordering = ["district", "number"]
        constraints = [
            models.UniqueConstraint(fields=["district", "number"], name="boundary_version_number"),
            models.CheckConstraint(
                condition=models.Q(source__in=BoundarySource.values), name="boundary_source_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.district_id} v{self.number}"


class ActKind(models.TextChoices):
    DELIMITATION = "delimitation", "Delimitación"
    MODIFICATION = "modification", "Modificación"
    REVOCATION = "revocation", "Revocatoria"


class AdministrativeAct(models.Model):
    """A Resolución of the Ministry that freezes one exact boundary version."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="acts")
    kind = models.CharField("tipo", max_length=20, choices=ActKind.choices)
    number = models.CharField("número", max_length=120)
    date = models.DateField("fecha")
    issuer = models.CharField("expedido por", max_length=200, default=MINISTRY)
    diario_oficial = models.CharField("Diario Oficial No.", max_length=40, blank=True, default="")
    document_url = models.URLField("documento (URL)", max_length=500, blank=True, default="")
    document_file = models.FileField("documento (archivo)", upload_to="acts/", blank=True)
    boundary_version = models.ForeignKey(
        BoundaryVersion, on_delete=models.PROTECT, related_name="acts"
    )
    summary = models.TextField("resumen", blank=True, default="")
    created_by = models.CharField("registrado por", max_length=150, blank=True, default="")
    created_at = models.DateTimeField("registrado", auto_now_add=True)

    class Meta:
        verbose_name = "acto administrativo"
        verbose_name_plural = "actos administrativos"
        ordering = ["district", "date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["issuer", "number"], name="act_issuer_number"),
            models.CheckConstraint(
                condition=models.Q(kind__in=ActKind.values), name="act_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} ({self.get_kind_display()})"
