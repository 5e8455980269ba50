"""Start Django once per process, before any model is imported."""

from __future__ import annotations

import os


def setup_django(database_url: str | None = None) -> None:
    """Configure Django for this process (idempotent)."""
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "app.django_settings")
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()
