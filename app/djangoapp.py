"""Start Django once per process, before any model is imported."""

from __future__ import annotations

import os


def setup_django(database_url: str | None = None) -> None:
    """Configure Django for this process (idempotent).

    The URL only matters the first time: Django's settings are read once per process, so a
    later call (e.g. a test building an app on a dead server) must not touch the environment
    that subprocesses inherit.
    """
    import django
    from django.apps import apps

    if apps.ready:
        return
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "app.django_settings")
    django.setup()
