"""URLs Django serves itself: the admin back-office (mounted at /admin by FastAPI)."""

from django.contrib import admin
from django.urls import path

admin.site.site_header = "Distritos Mineros — administración"
admin.site.site_title = "Distritos Mineros"
admin.site.index_title = "Back-office"

urlpatterns = [path("admin/", admin.site.urls)]
