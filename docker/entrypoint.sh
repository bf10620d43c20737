#!/bin/sh
# openqio container entry point.
#
# Settings are OPENQIO_* environment variables, read by services/config.py and nothing else (the same code that
# `make run` uses; the table is in the README): this script does not translate them into flags. It only fills in
# the container's two defaults, makes the state directory, and hands over to `openqio serve` with exec, so the
# service is PID 1's direct replacement and gets SIGTERM from `docker stop` (it then drains running jobs).
#
#   (no arguments) | serve [FLAGS]   openqio serve [FLAGS]
#   -FLAG ...                        openqio serve -FLAG ...
#   healthcheck                      python -m services.healthcheck (GET /healthz over TLS, exit 0/1)
#   anything else                    run it as given (a shell, `openqio jobs list`, ...)
set -eu

: "${OPENQIO_DATA_DIR:=/data}"   # the `state` volume: SQLite database, TLS material, token, connection files
: "${OPENQIO_HOST:=0.0.0.0}"     # listen on the container's interfaces, not only its loopback
export OPENQIO_DATA_DIR OPENQIO_HOST

if [ "$#" -eq 0 ]; then
    set -- serve
fi

case "$1" in
    serve)
        shift
        mkdir -p "$OPENQIO_DATA_DIR"
        exec openqio serve "$@"
        ;;
    -*)
        mkdir -p "$OPENQIO_DATA_DIR"
        exec openqio serve "$@"
        ;;
    healthcheck)
        shift
        exec python -m services.healthcheck "$@"
        ;;
    *)
        exec "$@"
        ;;
esac
