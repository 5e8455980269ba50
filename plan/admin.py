"""Back-office for the Mesa and the plan (Spanish): inlines, filters, a local map widget.

Entity focal points see and edit only the follow-up of their own organisation's actions.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.gis.db import models as gis_models
from django.core.exceptions import PermissionDenied

from layers.widgets import LocalMapWidget
from plan import models


def _focal_organisation(request) -> int | None:
    """The organisation a focal-point user reports for (None for other roles)."""
    if (
        request.user.is_superuser
        or request.user.groups.filter(name__in=["mesa_secretary", "coordinator", "admin"]).exists()
    ):
        return None
    link = models.FocalPoint.objects.filter(user=request.user).first()
    return link.organisation_id if link else -1


@admin.register(models.Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "acronym", "kind", "nit")
    list_filter = ("kind",)
    search_fields = ("name", "acronym", "nit")


class DelegateInline(admin.TabularInline):
    model = models.Delegate
    extra = 0


class SupporterInline(admin.TabularInline):
    model = models.Supporter
    extra = 0


@admin.register(models.WorkTable)
class WorkTableAdmin(admin.ModelAdmin):
    list_display = ("district", "convened_by", "installed_on", "secretary")
    inlines = [DelegateInline, SupporterInline]


@admin.register(models.Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ("work_table", "date", "place")
    filter_horizontal = ("attendees",)


@admin.register(models.StrategicPlan)
class StrategicPlanAdmin(admin.ModelAdmin):
    list_display = ("district", "version", "status", "period_start", "period_end")
    list_filter = ("status",)


class IndicatorInline(admin.TabularInline):
    model = models.Indicator
    extra = 0


@admin.register(models.Action)
class ActionAdmin(admin.ModelAdmin):
    list_display = ("code", "title", "component", "responsible", "status", "plan")
    list_filter = ("component", "responsible", "status", "plan__district")
    search_fields = ("code", "title")
    inlines = [IndicatorInline]
    filter_horizontal = ("supporting",)
    formfield_overrides = {gis_models.GeometryField: {"widget": LocalMapWidget}}


class FollowUpInline(admin.TabularInline):
    model = models.FollowUp
    extra = 0


@admin.register(models.Indicator)
class IndicatorAdmin(admin.ModelAdmin):
    list_display = ("name", "action", "unit", "baseline", "target", "frequency")
    list_filter = ("frequency", "action__component", "action__responsible")
    inlines = [FollowUpInline]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        organisation = _focal_organisation(request)
        return (
            queryset
            if organisation is None
            else queryset.filter(action__responsible_id=organisation)
        )


@admin.register(models.FollowUp)
class FollowUpAdmin(admin.ModelAdmin):
    list_display = ("indicator", "period", "date", "value", "reported_by")
    list_filter = ("indicator__action__component", "indicator__action__responsible")

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        organisation = _focal_organisation(request)
        return (
            queryset
            if organisation is None
            else queryset.filter(indicator__action__responsible_id=organisation)
        )

    def save_model(self, request, obj, form, change):
        organisation = _focal_organisation(request)
        if organisation is not None and obj.indicator.action.responsible_id != organisation:
            raise PermissionDenied("Solo su entidad reporta el seguimiento de esta acción.")
        obj.reported_by = request.user.get_username()
        super().save_model(request, obj, form, change)


@admin.register(models.FocalPoint)
class FocalPointAdmin(admin.ModelAdmin):
    list_display = ("user", "organisation")
