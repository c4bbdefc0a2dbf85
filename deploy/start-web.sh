#!/bin/sh
# Starts one app server: gunicorn on the port given (default 8000), after emptying its metrics
# directory. prometheus-client's multiprocess mode keeps one file per worker process there; files
# left by an earlier start would be added to the new counts, so each start begins empty. Each
# app server on a machine needs its own directory (deploy/Procfile gives web1 and web2 theirs).
set -eu
port="${1:-${PORT:-8000}}"
if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
    rm -rf "$PROMETHEUS_MULTIPROC_DIR"
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
fi
exec gunicorn clinic.wsgi \
    --bind "${BIND_ADDRESS:-0.0.0.0}:$port" \
    --workers "${GUNICORN_WORKERS:-3}"
