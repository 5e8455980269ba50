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
    code = models.CharField("código", max_length=60)
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
