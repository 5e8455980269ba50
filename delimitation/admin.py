"""Back-office (Spanish) for districts: read-only, because every change has rules.

Status changes, boundaries and acts go through the API (`delimitation.lifecycle`), which
enforces transitions, locking, If-Match and the audit log; boundary versions and acts are
immutable in the database anyway. The admin shows the history for consultation.
"""

from __future__ import annotations

from django.contrib import admin

from delimitation import models


class ReadOnlyMixin:
    """View permission only: writes must pass the lifecycle rules."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class BoundaryVersionInline(ReadOnlyMixin, admin.TabularInline):
    model = models.BoundaryVersion
    fields = ("number", "area_ha", "source", "author", "created_at", "comment")
    readonly_fields = fields
    extra = 0
    ordering = ("number",)
    verbose_name_plural = "versiones del límite (inmutables)"


class AdministrativeActInline(ReadOnlyMixin, admin.TabularInline):
    model = models.AdministrativeAct
    fields = ("kind", "number", "date", "issuer", "diario_oficial", "boundary_version")
    readonly_fields = fields
    extra = 0


@admin.register(models.District)
class DistrictAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("code", "name", "type", "status", "revision", "updated_at")
    list_filter = ("type", "status")
    search_fields = ("code", "name")
    readonly_fields = (
        "code",
        "name",
        "type",
        "status",
        "description",
        "revision",
        "created_by",
        "created_at",
        "updated_at",
    )
    inlines = [BoundaryVersionInline, AdministrativeActInline]


@admin.register(models.AdministrativeAct)
class AdministrativeActAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("number", "kind", "district", "date", "issuer", "diario_oficial")
    list_filter = ("kind", "issuer")
    search_fields = ("number", "district__code", "district__name")


@admin.register(models.ProposalRun)
class ProposalRunAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("id", "hydro_system", "hydro_level", "status", "progress", "user", "created_at")
    list_filter = ("status", "hydro_system")
    exclude = ("study_area",)
