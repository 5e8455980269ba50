# App image: the FastAPI service with GeoDjango's native libraries. The database is the
# postgis/postgis image (docker-compose.yml).
FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgdal32 libgeos-c1v5 libproj25 postgresql-client nodejs npm fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /srv/distritos
COPY pyproject.toml README.md ./
COPY app app
COPY geo geo
COPY layers layers
COPY hydrology hydrology
COPY delimitation delimitation
COPY plan plan
COPY migrations migrations
COPY data data
COPY package*.json ./
COPY setup.py ./
# Editable, as `make` does: the service runs from this folder, and the compiled modules
# (geo/_wkb.c, layers/_copyrows.c) are built next to their sources.
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
 && pip install --no-cache-dir -e . \
 && apt-get purge -y gcc libc6-dev && apt-get autoremove -y && rm -rf /var/lib/apt/lists/* \
 && if [ -f package.json ]; then npm ci --omit=dev && (make -n static >/dev/null 2>&1 || true); fi
ENV DATA_DIR=/data/rasters WEB_CONCURRENCY=4
EXPOSE 8000
# Migrate, load the samples once (idempotent), then serve with uvicorn workers.
CMD ["sh", "-c", "python -m app.manage migrate --noinput && distritos load-samples && uvicorn app.main:asgi --factory --host 0.0.0.0 --port 8000 --workers ${WEB_CONCURRENCY}"]
