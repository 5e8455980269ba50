"""Back-office for the reference layers, import batches and the audit log (read-only)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.gis.db import models as gis_models

from layers import models
from layers.widgets import LocalMapWidget


class MapAdmin(admin.ModelAdmin):
    formfield_overrides = {gis_models.GeometryField: {"widget": LocalMapWidget}}


@admin.register(models.Department)
class DepartmentAdmin(MapAdmin):
    list_display = ("code", "name", "area_ha")
    search_fields = ("code", "name")


@admin.register(models.Municipality)
class MunicipalityAdmin(MapAdmin):
    list_display = ("code", "name", "department", "area_ha")
    list_filter = ("department",)
    search_fields = ("code", "name")


@admin.register(models.MiningTenure)
class MiningTenureAdmin(MapAdmin):
    list_display = ("expediente", "tenure_type", "status", "stage", "scale", "area_ha")
    list_filter = ("tenure_type", "status", "stage", "scale")
    search_fields = ("expediente",)


@admin.register(models.MiningHotspot)
class MiningHotspotAdmin(MapAdmin):
    list_display = ("source", "source_id", "category", "setting", "detected_on", "synthetic")
    list_filter = ("category", "setting", "synthetic", "source")


@admin.register(models.ProtectedArea)
class ProtectedAreaAdmin(MapAdmin):
    list_display = ("name", "category", "excludes_mining", "area_ha")
    list_filter = ("category", "excludes_mining")
    search_fields = ("name",)


@admin.register(models.EthnicTerritory)
class EthnicTerritoryAdmin(MapAdmin):
    list_display = ("name", "kind", "people", "act_year", "area_ha")
    list_filter = ("kind",)
    search_fields = ("name", "people")


@admin.register(models.RasterLayer)
class RasterLayerAdmin(admin.ModelAdmin):
    list_display = ("name", "theme", "crs", "resolution", "synthetic")
    list_filter = ("theme", "synthetic")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records of what happened: visible, never edited by hand."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(models.ImportBatch)
class ImportBatchAdmin(ReadOnlyAdmin):
    list_display = ("layer", "file_name", "user", "started_at", "finished_at")
    list_filter = ("layer",)


@admin.register(models.AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("at", "user", "action", "object_type", "object_id")
    list_filter = ("action", "object_type")
    search_fields = ("user", "object_id")

    def has_view_permission(self, request, obj=None) -> bool:
        # The audit log is for administrators only.
        return request.user.is_active and request.user.is_superuser
