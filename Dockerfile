# wardcast scheduler and ward agent: one image, two commands.
#   docker build -t wardcast:0.1.0 .
#   docker run … wardcast:0.1.0                         # wardcast serve (the default CMD)
#   docker run … wardcast:0.1.0 wardcast agent --server https://H:8000 --station ID …
# The default CMD serves plain HTTP; docker-compose.yml adds --ssl-certfile/--ssl-keyfile (HTTPS
# with the files of deploy/certs/make-certs.sh) and its own HTTPS healthcheck.
# Pinned by full tag; bump deliberately (and re-run the tests) for Python/Debian security fixes.
FROM python:3.11.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    WARDCAST_DATA_DIR=/data

# ffmpeg (with ffprobe) decodes, measures and encodes audio; no recommends keeps it ~ +250 MB
# rather than pulling X11 and friends. Pango and Liberation Serif (Times New Roman's metrics,
# Vietnamese included): the PDF activity reports (WeasyPrint).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg \
       libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-liberation2 \
    && rm -rf /var/lib/apt/lists/*

# A fixed uid/gid so that volume ownership stays the same across rebuilds.
RUN groupadd --system --gid 10001 wardcast \
    && useradd --system --uid 10001 --gid wardcast --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin wardcast

# A regular (non-editable) install: templates, static files and migrations are package data.
WORKDIR /build
COPY pyproject.toml README.md ./
COPY wardcast ./wardcast
COPY scheduler ./scheduler
COPY agents ./agents
COPY media ./media
RUN pip install ".[postgres]" \
    && cd / && rm -rf /build \
    && wardcast --help >/dev/null

# /data: database (if SQLite), media, logs. /state and /played: the agent's plan/outbox/cache
# and its file: output. Created here so that named volumes start owned by wardcast.
RUN mkdir -p /data /state /played && chown wardcast:wardcast /data /state /played
VOLUME ["/data"]
WORKDIR /data
USER wardcast:wardcast

EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=10s --start-period=30s --retries=5 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=5)"]
CMD ["wardcast", "serve", "--host", "0.0.0.0", "--port", "8000"]
