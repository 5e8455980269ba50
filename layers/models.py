"""Reference layers: administrative units, mining tenures, hotspots, protected areas, ethnic
territories, the raster catalogue, import batches and the audit log.

All geometries are EPSG:9377 (MAGNA-SIRGAS Origen-Nacional); areas are hectares in 9377.
"""

from __future__ import annotations

from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField

SRID = 9377


class ImportBatch(models.Model):
    """One file loaded into one layer: where every imported row came from."""

    layer = models.CharField("capa", max_length=50)
    file_name = models.TextField("archivo")
    source_layer = models.TextField("capa de origen", blank=True, default="")
    checksum = models.CharField("SHA-256", max_length=64)
    user = models.CharField("usuario", max_length=150, blank=True, default="")
    started_at = models.DateTimeField("inicio", auto_now_add=True)
    finished_at = models.DateTimeField("fin", null=True, blank=True)
    counts = models.JSONField("conteos", default=dict)

    class Meta:
        verbose_name = "lote de importación"
        verbose_name_plural = "lotes de importación"

    def __str__(self) -> str:
        return f"{self.layer} ← {self.file_name}"


class Department(models.Model):
    code = models.CharField("código DIVIPOLA", max_length=2, primary_key=True)
    name = models.CharField("nombre", max_length=120)
    area_ha = models.FloatField("área (ha)")
    geom = models.MultiPolygonField(srid=SRID)
    batch = models.ForeignKey(ImportBatch, null=True, on_delete=models.SET_NULL)

    class Meta:
        verbose_name = "departamento"
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Municipality(models.Model):
    code = models.CharField("código DIVIPOLA", max_length=5, primary_key=True)
    name = models.CharField("nombre", max_length=120)
    department = models.ForeignKey(
        Department, null=True, on_delete=models.SET_NULL, db_constraint=False
    )
    legal_act = models.TextField("acto de creación", blank=True, default="")
    official_area_km2 = models.FloatField("área oficial (km²)", null=True, blank=True)
    area_ha = models.FloatField("área (ha)")
    geom = models.MultiPolygonField(srid=SRID)
    batch = models.ForeignKey(ImportBatch, null=True, on_delete=models.SET_NULL)

    class Meta:
        verbose_name = "municipio"
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class TenureType(models.TextChoices):
    TITLE = "title", "Título minero"
    APPLICATION = "application", "Solicitud"
    FORMALISATION_SUBCONTRACT = "formalisation_subcontract", "Subcontrato de formalización"
    SPECIAL_RESERVE_AREA = "special_reserve_area", "Área de reserva especial (ARE)"
    ETHNIC_MINING_ZONE = "ethnic_mining_zone", "Zona minera étnica"


class MiningTenure(models.Model):
    """The ANM register: titles, applications, subcontracts, AREs, ethnic mining zones."""

    # The natural key is made of codes, compared and ordered byte by byte (collation "C",
    # whatever the database's locale; the same order as the private cluster's C.UTF-8), so
    # its index builds and lookups skip strcoll: ~30 ms of the rebuild after 100,000 titles.
    tenure_type = models.CharField(
        "tipo", max_length=30, choices=TenureType.choices, db_collation="C"
    )
    expediente = models.CharField("código de expediente", max_length=60, db_collation="C")
    holders = ArrayField(models.TextField(), default=list, verbose_name="titulares")
    minerals = ArrayField(models.TextField(), default=list, verbose_name="minerales")
    mineral_group = models.CharField("grupo mineral", max_length=120, blank=True, default="")
    status = models.CharField("estado", max_length=80, blank=True, default="")
    stage = models.CharField("etapa", max_length=60, blank=True, default="")
    modality = models.CharField("modalidad", max_length=120, blank=True, default="")
    scale = models.CharField("escala", max_length=20, blank=True, default="")
    application_date = models.DateField("fecha de radicación", null=True, blank=True)
    grant_date = models.DateField("fecha de otorgamiento", null=True, blank=True)
    expiry_date = models.DateField("fecha de terminación", null=True, blank=True)
    municipalities_published = models.TextField("municipios (publicado)", blank=True, default="")
    declared_area_ha = models.FloatField("área declarada (ha)", null=True, blank=True)
    area_ha = models.FloatField("área calculada (ha)")
    source = models.CharField("fuente", max_length=200, blank=True, default="")
    geom = models.MultiPolygonField(srid=SRID)
    batch = models.ForeignKey(ImportBatch, null=True, on_delete=models.SET_NULL)

    class Meta:
        verbose_name = "título o solicitud minera"
        verbose_name_plural = "títulos y solicitudes mineras"
        constraints = [
            models.UniqueConstraint(fields=["expediente", "tenure_type"], name="tenure_natural_key")
        ]

    def __str__(self) -> str:
        return f"{self.expediente} ({self.get_tenure_type_display()})"


class HotspotCategory(models.TextChoices):
    ILLEGAL = "explotacion_ilicita", "Explotación ilícita"
    IN_TRANSIT = "en_transito_legalidad", "En tránsito a la legalidad"
    WITH_PERMITS = "con_permisos", "Con permisos técnicos o ambientales"
    UNKNOWN = "desconocida", "Sin clasificar"


class HotspotSetting(models.TextChoices):
    ALLUVIAL_LAND = "aluvial_tierra", "Aluvial en tierra"
    ALLUVIAL_WATER = "aluvial_agua", "Aluvial en agua"
    VEIN = "veta", "Filón o veta"
    UNKNOWN = "desconocido", "Sin clasificar"


class MiningHotspot(models.Model):
    """Detections of unauthorised mining (EVOA-like, models, field reports)."""

    source = models.CharField("fuente", max_length=200)
    source_id = models.CharField("identificador en la fuente", max_length=100)
    category = models.CharField("categoría", max_length=30, choices=HotspotCategory.choices)
    setting = models.CharField("ámbito", max_length=20, choices=HotspotSetting.choices)
    detected_on = models.DateField("fecha de detección", null=True, blank=True)
    period_end = models.DateField("fin del periodo", null=True, blank=True)
    area_ha = models.FloatField("área (ha)")
    confidence = models.FloatField("confianza", null=True, blank=True)
    synthetic = models.BooleanField("sintético", default=False)
    geom = models.MultiPolygonField(srid=SRID)
    batch = models.ForeignKey(ImportBatch, null=True, on_delete=models.SET_NULL)

    class Meta:
        verbose_name = "foco de minería no autorizada"
        verbose_name_plural = "focos de minería no autorizada"
        constraints = [
            models.UniqueConstraint(fields=["source", "source_id"], name="hotspot_natural_key")
        ]


class ProtectedCategory(models.TextChoices):
    NATIONAL_PARK = "parque_nacional", "Parque Nacional Natural"
    REGIONAL_PARK = "parque_regional", "Parque Natural Regional"
    PROTECTIVE_RESERVE = "reserva_forestal_protectora", "Reserva Forestal Protectora"
    DRMI = "drmi", "Distrito de Manejo Integrado"
    RNSC = "rnsc", "Reserva Natural de la Sociedad Civil"
    PARAMO = "paramo", "Páramo"
    RAMSAR = "humedal_ramsar", "Humedal Ramsar"
    LEY2_A = "ley2_a", "Reserva Forestal Ley 2ª tipo A"
    LEY2_B = "ley2_b", "Reserva Forestal Ley 2ª tipo B"
    LEY2_C = "ley2_c", "Reserva Forestal Ley 2ª tipo C"
    OTHER = "otra", "Otra"


# Categories where mining is excluded by law (Ley 1450/2011 art. 202, Ley 1930/2018, Código de
# Minas art. 34); Ley 2ª zones and DRMI/RNSC only restrict it.
MINING_EXCLUDED = {
    ProtectedCategory.NATIONAL_PARK,
    ProtectedCategory.REGIONAL_PARK,
    ProtectedCategory.PROTECTIVE_RESERVE,
    ProtectedCategory.PARAMO,
    ProtectedCategory.RAMSAR,
}


class ProtectedArea(models.Model):
    name = models.CharField("nombre", max_length=200)
    category = models.CharField("categoría", max_length=40, choices=ProtectedCategory.choices)
    category_published = models.CharField(
        "categoría (publicada)", max_length=200, blank=True, default=""
    )
    legal_basis = models.TextField("fundamento legal", blank=True, default="")
    excludes_mining = models.BooleanField("excluye minería")
    official_area_ha = models.FloatField("área oficial (ha)", null=True, blank=True)
    area_ha = models.FloatField("área calculada (ha)")
    geom = models.MultiPolygonField(srid=SRID)
    batch = models.ForeignKey(ImportBatch, null=True, on_delete=models.SET_NULL)

    class Meta:
        verbose_name = "área protegida o de exclusión"
        verbose_name_plural = "áreas protegidas y de exclusión"
        constraints = [
            models.UniqueConstraint(fields=["name", "category"], name="protected_natural_key")
        ]

    def __str__(self) -> str:
        return self.name


class EthnicKind(models.TextChoices):
    RESGUARDO = "resguardo_indigena", "Resguardo indígena"
    CONSEJO = "consejo_comunitario", "Consejo comunitario (tierra colectiva)"


class EthnicTerritory(models.Model):
    kind = models.CharField("tipo", max_length=30, choices=EthnicKind.choices)
    source_id = models.CharField("identificador ANT", max_length=60)
    name = models.CharField("nombre", max_length=200)
    people = models.CharField("pueblo", max_length=200, blank=True, default="")
    legal_act = models.TextField("acto legal", blank=True, default="")
    act_year = models.IntegerField("año del acto", null=True, blank=True)
    official_area_ha = models.FloatField("área oficial (ha)", null=True, blank=True)
    area_ha = models.FloatField("área calculada (ha)")
    geom = models.MultiPolygonField(srid=SRID)
    batch = models.ForeignKey(ImportBatch, null=True, on_delete=models.SET_NULL)

    class Meta:
        verbose_name = "territorio étnico"
        verbose_name_plural = "territorios étnicos"
        constraints = [
            models.UniqueConstraint(fields=["kind", "source_id"], name="ethnic_natural_key")
        ]

    def __str__(self) -> str:
        return self.name


class RasterTheme(models.TextChoices):
    APTITUDE = "aptitude", "Aptitud"
    ELEVATION = "elevation", "Elevación"
    OTHER = "other", "Otro"


class RasterLayer(models.Model):
    """A Cloud-Optimised GeoTIFF under DATA_DIR, catalogued with its class table."""

    name = models.SlugField("nombre", max_length=80, unique=True)
    title = models.CharField("título", max_length=200)
    theme = models.CharField("tema", max_length=20, choices=RasterTheme.choices)
    path = models.TextField("ruta (relativa a DATA_DIR)")
    crs = models.CharField("CRS", max_length=40)
    resolution = models.FloatField("resolución (unidades del CRS)")
    nodata = models.FloatField("sin dato", null=True, blank=True)
    bounds_4326 = ArrayField(models.FloatField(), size=4, verbose_name="límites (EPSG:4326)")
    class_table = models.JSONField("tabla de clases", default=list, blank=True)
    synthetic = models.BooleanField("sintético", default=False)
    source = models.TextField("fuente", blank=True, default="")
    batch = models.ForeignKey(ImportBatch, null=True, on_delete=models.SET_NULL)

    class Meta:
        verbose_name = "capa ráster"
        verbose_name_plural = "capas ráster"

    def __str__(self) -> str:
        return self.name


class AuditEntry(models.Model):
    """Who changed what, when, with the state before and after."""

    at = models.DateTimeField("fecha", auto_now_add=True, db_index=True)
    user = models.CharField("usuario", max_length=150, blank=True, default="")
    action = models.CharField("acción", max_length=30)
    object_type = models.CharField("tipo de objeto", max_length=60)
    object_id = models.CharField("identificador", max_length=100)
    before = models.JSONField("antes", null=True, blank=True)
    after = models.JSONField("después", null=True, blank=True)

    class Meta:
        verbose_name = "registro de auditoría"
        verbose_name_plural = "registros de auditoría"
        ordering = ["-at"]


class LayerRevision(models.Model):
    """A per-layer counter bumped by a statement trigger on every write to its tables.

    Tile caches key on it, so any write path (API, WFS-T, import, admin, psql) makes the very
    next tile request fresh. Triggers are installed by `layers.revisions.install_triggers`.
    """

    layer = models.CharField("capa", max_length=80, primary_key=True)
    revision = models.BigIntegerField("revisión", default=0)
    changed_at = models.DateTimeField("modificada", auto_now=True)

    class Meta:
        verbose_name = "revisión de capa"
        verbose_name_plural = "revisiones de capas"

    def __str__(self) -> str:
        return f"{self.layer}@{self.revision}"
