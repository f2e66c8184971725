# CommunityLend: one image for every tier (web, worker, relay, scheduler); compose.yaml and the
# Procfile choose the command. Multi-stage: compilers stay in the build stage.

FROM python:3.11-slim-bookworm AS build
WORKDIR /build
COPY requirements.txt .
RUN pip wheel --no-cache-dir --wheel-dir /wheels -r requirements.txt

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    APP_ENV=production \
    LOG_FORMAT=json \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus
# postgresql-client: pg_dump and pg_restore for `flask ops backup` and `flask ops restore`.
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client=15.* \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 --user-group app
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index /wheels/* && rm -rf /wheels
WORKDIR /srv/communitylend
COPY --chown=10001:10001 . .
USER 10001:10001
RUN mkdir -p /tmp/prometheus
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-", "wsgi:app"]
