#!/bin/sh
# Starts one app server: gunicorn on the port given (default 8000), after emptying its metrics
# directory. prometheus-client's multiprocess mode keeps one file per worker process there; files
# left by an earlier start would be added to the new counts, so each start begins empty. Each
# app server on a machine needs its own directory (deploy/Procfile gives web1 and web2 theirs).
set -eu
port="${1:-${PORT:-8000}}"
if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
    # Emptied, not removed: in a container the directory may be a mount point (a tmpfs).
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    find "$PROMETHEUS_MULTIPROC_DIR" -mindepth 1 -delete
fi
exec gunicorn clinic.wsgi \
    --bind "${BIND_ADDRESS:-0.0.0.0}:$port" \
    --workers "${GUNICORN_WORKERS:-3}"
