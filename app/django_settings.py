"""Django settings: ORM, migrations, auth and the admin back-office.

Only what Django needs at import; the FastAPI service's own settings are `app.settings`.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

from app import cluster

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "dev-only-insecure-key-change-me")
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
ALLOWED_HOSTS = ["*"]


def _database(url: str | None) -> dict:
    if not url:
        return {"ENGINE": "django.contrib.gis.db.backends.postgis", "NAME": "distritos"}
    parsed = urlparse(url)
    return {
        "ENGINE": "django.contrib.gis.db.backends.postgis",
        "NAME": parsed.path.lstrip("/"),
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": parsed.hostname or "",
        "PORT": str(parsed.port or ""),
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": True,
    }


DATABASES = {"default": _database(cluster.database_url())}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "django.contrib.postgres",
    "app.accounts",
    "layers",
    "hydrology",
    "delimitation",
    "plan",
    # Only for its migrations: the durable job queue of proposal runs (delimitation/jobs.py).
    "procrastinate.contrib.django",
]
MIGRATION_MODULES = {
    "accounts": "migrations.accounts",
    "layers": "migrations.layers",
    "hydrology": "migrations.hydrology",
    "delimitation": "migrations.delimitation",
    "plan": "migrations.plan",
}
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "app.django_urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "app" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
LANGUAGE_CODE = "es-co"
TIME_ZONE = "America/Bogota"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / ".data" / "static"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATA_DIR = Path(os.environ.get("DATA_DIR", BASE_DIR / ".data" / "rasters"))
# Django's admin lives under /admin of the FastAPI app; it needs these names.
LOGIN_URL = "/admin/login/"
CSRF_TRUSTED_ORIGINS = ["http://127.0.0.1:8000", "http://localhost:8000"]
DATA_UPLOAD_MAX_MEMORY_SIZE = 50 * 1024 * 1024
SILENCED_SYSTEM_CHECKS = ["gis.W001"]  # GDAL 3.6 in Debian 12; we never open remote SRS
