# Distritos Mineros: `make run` serves the sample data from nothing; `make test` runs the tests.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 1

# Debian packages: the database, GeoDjango's native libraries, a C compiler for the two compiled
# modules (geo/_wkb.c, layers/_copyrows.c), and the real clients the tests use.
SYSTEM_PACKAGES := postgresql postgresql-15-postgis-3 postgresql-client libgdal32 libgeos-c1v5 libproj25 python3-venv python3-dev gcc fonts-dejavu-core
TEST_PACKAGES := gdal-bin python3-qgis chromium chromium-driver poppler-utils
BENCH_PACKAGES := cgi-mapserver mapserver-bin gdal-bin
STATIC_PACKAGES := nodejs npm

define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Instalando paquetes del sistema:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

.PHONY: help run serve test lint bench stop system-deps test-deps bench-deps db samples backup restore

help:
	@echo "make run    - instala todo, inicia PostGIS, carga las muestras y sirve en http://$(HOST):$(PORT)"
	@echo "make test   - lo mismo en una base desechable, luego ruff y pytest"
	@echo "make bench  - comparativas de rendimiento contra pares (bench/)"
	@echo "make stop   - detiene el clúster privado de PostgreSQL"

system-deps:
	$(call apt_install,$(SYSTEM_PACKAGES))

test-deps: system-deps
	$(call apt_install,$(TEST_PACKAGES))

bench-deps: system-deps
	$(call apt_install,$(BENCH_PACKAGES))

$(VENV)/.installed: pyproject.toml setup.py geo/_wkb.c layers/_copyrows.c
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

venv: $(VENV)/.installed

# The viewer's JavaScript (MapLibre GL JS, terra-draw) from npm, served by the app: no CDN.
VENDOR := app/static/vendor
$(VENDOR)/.installed: package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $(STATIC_PACKAGES) >/dev/null; }
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp node_modules/maplibre-gl/dist/maplibre-gl.js node_modules/maplibre-gl/dist/maplibre-gl.css \
	   node_modules/terra-draw/dist/terra-draw.umd.js \
	   node_modules/terra-draw-maplibre-gl-adapter/dist/terra-draw-maplibre-gl-adapter.umd.js $(VENDOR)/
	mkdir -p $(VENDOR)/ol && cp node_modules/ol/dist/ol.js node_modules/ol/ol.css $(VENDOR)/ol/
	touch $@

static: $(VENDOR)/.installed

db: system-deps venv
	$(PY) -m app.cluster ensure >/dev/null
	$(PY) -m app.manage migrate --noinput -v 0

samples: db
	$(PY) -m app.cli load-samples
	@# Fine units for the demo: sub-catchments (>= 25 km²) and streams derived from the Meta DEM.
	$(PY) -m app.cli hydrology derive --dem dem-meta-250m --threshold-km2 25 --if-missing
	@# Per-unit figures of the proposal engine, so the first proposal reads them (idempotent).
	$(PY) -m app.cli precompute-figures

run: samples static
	@echo ""
	@echo "Distritos Mineros en http://$(HOST):$(PORT)"
	@echo "  API (OpenAPI):        http://$(HOST):$(PORT)/docs"
	@echo "  Capas:                http://$(HOST):$(PORT)/api/v1/layers"
	@echo "  WFS (QGIS):           http://$(HOST):$(PORT)/wfs"
	@echo "  OGC API - Features:   http://$(HOST):$(PORT)/ogc"
	@echo "  Visor:                http://$(HOST):$(PORT)/map   (para insertar: /map/embed)"
	@echo "  Espacio de trabajo:   http://$(HOST):$(PORT)/workspace"
	@echo "  Administración:       http://$(HOST):$(PORT)/admin  (cree un usuario: .venv/bin/distritos user add NOMBRE --role admin)"
	@echo ""
	$(VENV)/bin/uvicorn app.main:asgi --factory --host $(HOST) --port $(PORT) --workers $(WORKERS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: test-deps venv static lint
	@if [ -z "$$DATABASE_URL" ]; then $(PY) -m app.cluster start >/dev/null; fi
	$(PY) -m pytest -q

bench: bench-deps db
	@for b in bench/[a-z]*.py; do \
	  case $$b in bench/datagen.py|bench/pysheds_reference.py) continue;; esac; \
	  echo "== $$b"; $(PY) $$b || exit 1; \
	done

stop:
	$(PY) -m app.cluster stop

backup: db
	$(PY) -m app.backup backup --out backups

# make restore DUMP=backups/distritos-YYYYmmddTHHMMSS.dump (into an empty database)
restore: venv
	$(PY) -m app.backup restore $(DUMP)
