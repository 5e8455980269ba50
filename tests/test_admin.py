"""The admin back-office: Spanish, role groups with permissions, local map assets, focal
points limited to their own organisation's follow-up."""

from __future__ import annotations

import datetime as dt

import pytest


@pytest.fixture(scope="module")
def staff(database_url):
    from django.contrib.auth.models import Group, User

    def make(name: str, role: str) -> User:
        user, _ = User.objects.get_or_create(username=name, defaults={"is_staff": True})
        user.set_password("clave-segura-123")
        user.is_staff = True
        user.save()
        user.groups.add(Group.objects.get(name=role))
        return user

    return {
        "secretary": make("adm-secretaria", "mesa_secretary"),
        "focal": make("adm-enlace", "focal_point"),
    }


def test_role_groups_carry_permissions(staff):
    from django.contrib.auth.models import Group

    secretary = set(
        Group.objects.get(name="mesa_secretary").permissions.values_list("codename", flat=True)
    )
    assert {"add_action", "change_action", "add_delegate", "view_district"} <= secretary
    assert "change_district" not in secretary
    focal = set(
        Group.objects.get(name="focal_point").permissions.values_list("codename", flat=True)
    )
    assert focal == {
        "view_action",
        "view_indicator",
        "view_followup",
        "add_followup",
        "change_followup",
    }


def test_admin_is_spanish_and_map_assets_are_local(client, staff):
    client.cookies.clear()
    login = client.get("/admin/login/")
    assert "Iniciar sesión" in login.text
    token = login.cookies.get("csrftoken") or client.cookies.get("csrftoken")
    response = client.post(
        "/admin/login/?next=/admin/plan/action/add/",
        data={
            "username": "adm-secretaria",
            "password": "clave-segura-123",
            "csrfmiddlewaretoken": token,
            "next": "/admin/plan/action/add/",
        },
        headers={"Referer": "http://testserver/admin/login/"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    page = response.text
    assert "Añadir acción" in page
    assert "/static/vendor/ol/ol.js" in page
    assert "cdn.jsdelivr.net" not in page and "earthdata" not in page
    assert "/tiles/municipalities/{z}/{x}/{y}.pbf" in page
    client.cookies.clear()


def test_focal_point_sees_only_own_followups(staff):
    from django.contrib.admin.sites import site
    from django.test import RequestFactory

    from plan.models import FocalPoint, FollowUp, Organisation

    own = Organisation.objects.create(name="Org propia admin", kind="national_entity")
    FocalPoint.objects.update_or_create(user=staff["focal"], defaults={"organisation": own})
    request = RequestFactory().get("/admin/plan/followup/")
    request.user = staff["focal"]
    model_admin = site._registry[FollowUp]
    queryset = model_admin.get_queryset(request)
    assert "responsible_id" in str(queryset.query)
    assert all(f.indicator.action.responsible_id == own.pk for f in queryset)
    assert dt.date.today()  # keep the module import-light


def test_admin_static_assets_are_served(client):
    assert client.get("/static/gis/js/OLMapWidget.js").status_code == 200
    assert client.get("/static/admin/css/base.css").status_code == 200


def test_worktable_page_with_inline_delegates_renders_for_the_secretary(client, staff):
    client.cookies.clear()
    login = client.get("/admin/login/")
    token = login.cookies.get("csrftoken") or client.cookies.get("csrftoken")
    try:
        page = client.post(
            "/admin/login/?next=/admin/plan/worktable/add/",
            data={
                "username": "adm-secretaria",
                "password": "clave-segura-123",
                "csrfmiddlewaretoken": token,
                "next": "/admin/plan/worktable/add/",
            },
            headers={"Referer": "http://testserver/admin/login/"},
            follow_redirects=True,
        )
        assert page.status_code == 200
        assert "Añadir Mesa de Trabajo Interinstitucional" in page.text
        # Delegates and supporters are inline formsets of the Mesa.
        assert 'name="delegates-TOTAL_FORMS"' in page.text
        assert 'name="supporters-TOTAL_FORMS"' in page.text
        assert "Directivo" in page.text and "Asesor" in page.text
    finally:
        client.cookies.clear()


def test_audit_log_is_readable_by_admins_only(client, staff):
    from django.contrib.admin.sites import site
    from django.contrib.auth.models import User
    from django.test import RequestFactory

    from layers.models import AuditEntry

    model_admin = site._registry[AuditEntry]
    request = RequestFactory().get("/admin/layers/auditentry/")
    request.user = staff["secretary"]
    assert not model_admin.has_view_permission(request)
    admin_user, _ = User.objects.get_or_create(username="adm-admin")
    admin_user.is_superuser = True
    admin_user.is_staff = True
    admin_user.save()
    request.user = admin_user
    assert model_admin.has_view_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
