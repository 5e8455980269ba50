"""Hydrographic units and their drainage topology."""

from __future__ import annotations

from django.contrib.gis.db import models

from layers.models import SRID, ImportBatch


class HydroSystem(models.TextChoices):
    IDEAM = "ideam", "Zonificación hidrográfica IDEAM"
    POMCA = "pomca", "Cuencas POMCA"
    WATERSHED = "watershed", "Cuencas (autoridad ambiental)"
    HYDROBASINS = "hydrobasins", "HydroBASINS"
    DERIVED = "derived", "Derivadas del DEM"


class HydroUnit(models.Model):
    """A unit of one hydrographic system; `next_down` is the unit it drains into."""

    system = models.CharField("sistema", max_length=20, choices=HydroSystem.choices)
    # Derived codes are "<dem>-<pfafstetter>": up to 60 digits after the DEM name.
    code = models.CharField("código", max_length=120)
    name = models.CharField("nombre", max_length=200, blank=True, default="")
    level = models.IntegerField("nivel", default=1)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    next_down = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="upstream"
    )
    area_ha = models.FloatField("área (ha)")
    geom = models.MultiPolygonField(srid=SRID)
    batch = models.ForeignKey(ImportBatch, null=True, on_delete=models.SET_NULL)

    class Meta:
        verbose_name = "unidad hidrográfica"
        verbose_name_plural = "unidades hidrográficas"
        constraints = [
            models.UniqueConstraint(fields=["system", "code"], name="hydro_unit_natural_key")
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class River(models.Model):
    """A river or stream reach; `strahler_order` is null when the source does not publish it."""

    name = models.CharField("nombre", max_length=200, blank=True, default="")
    strahler_order = models.IntegerField("orden de Strahler", null=True, blank=True)
    source = models.CharField("fuente", max_length=200, blank=True, default="")
    # Natural key with `source` for imported files (layers/importer.py upserts on it): the
    # published id, or a fingerprint of the shape (geo.fingerprint). Null for reaches derived
    # from a DEM or drawn by hand, which are replaced or edited by other paths.
    source_id = models.CharField(
        "identificador en la fuente", max_length=100, null=True, blank=True
    )
    length_km = models.FloatField("longitud (km)")
    geom = models.MultiLineStringField(srid=SRID)
    batch = models.ForeignKey(ImportBatch, null=True, on_delete=models.SET_NULL)

    class Meta:
        verbose_name = "río o drenaje"
        verbose_name_plural = "ríos y drenajes"
        constraints = [
            models.UniqueConstraint(fields=["source", "source_id"], name="river_natural_key")
        ]

    def __str__(self) -> str:
        return self.name or f"Drenaje {self.pk}"


class WaterIntake(models.Model):
    """A water intake (bocatoma) and the municipality/aqueduct it serves."""

    name = models.CharField("nombre", max_length=200, blank=True, default="")
    # DIVIPOLA code as text, without a DB constraint: intakes may be loaded before municipalities.
    serves_municipality = models.ForeignKey(
        "layers.Municipality",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_constraint=False,
        verbose_name="municipio abastecido",
    )
    aqueduct = models.CharField("acueducto", max_length=200, blank=True, default="")
    source = models.CharField("fuente", max_length=200, blank=True, default="")
    # Natural key with `source` for imported files, as River.source_id.
    source_id = models.CharField(
        "identificador en la fuente", max_length=100, null=True, blank=True
    )
    geom = models.PointField(srid=SRID)
    batch = models.ForeignKey(ImportBatch, null=True, on_delete=models.SET_NULL)

    class Meta:
        verbose_name = "bocatoma"
        verbose_name_plural = "bocatomas"
        constraints = [
            models.UniqueConstraint(fields=["source", "source_id"], name="water_intake_natural_key")
        ]

    def __str__(self) -> str:
        return self.name or f"Bocatoma {self.pk}"


class UnitWaterMetrics(models.Model):
    """Cached water metrics of one hydro unit (see hydrology/metrics.py)."""

    unit = models.OneToOneField(
        HydroUnit, primary_key=True, on_delete=models.CASCADE, related_name="water_metrics"
    )
    # {"1": km, "2": km, ..., "sin_orden": km}
    river_km_by_order = models.JSONField("longitud de ríos por orden (km)", default=dict)
    river_km = models.FloatField("longitud de ríos (km)", default=0)
    intakes = models.IntegerField("bocatomas", default=0)
    paramo_ha = models.FloatField("páramo (ha)", default=0)
    wetland_ha = models.FloatField("humedales (ha)", default=0)
    protected_ha = models.FloatField("áreas protegidas (ha)", default=0)
    protected_share = models.FloatField("fracción protegida", default=0)
    computed_at = models.DateTimeField("calculado", auto_now=True)
    # Revisions (layers.revisions) of the layers the figures were computed from.
    source_revisions = models.JSONField("revisiones de las capas fuente", default=dict)

    class Meta:
        verbose_name = "métricas hídricas de unidad"
        verbose_name_plural = "métricas hídricas de unidades"
