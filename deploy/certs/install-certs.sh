#!/bin/sh
# Copy the TLS files made by make-certs.sh into each service's volume, owned by the user that
# service runs as, so that every private key can stay mode 0600.
#
# docker-compose.yml runs this in the one-shot `certs-init` service (eclipse-mosquitto image, as
# root) on every `docker compose up`, before the broker and the scheduler start; so renewed
# certificates are picked up by `docker compose up -d --force-recreate`. It is needed because
# the files on the host belong to whoever ran make-certs.sh, while Mosquitto runs as user
# `mosquitto` and the scheduler as uid 10001 (Dockerfile): neither could read a 0600 key.
#
# Environment (defaults are the container paths of docker-compose.yml):
#   CERTS_SRC       directory written by make-certs.sh            (/certs-src, read-only)
#   CA_OUT          gets ca.crt only, for agents                  (/out/ca)
#   MOSQUITTO_OUT   ca.crt, mosquitto.crt, mosquitto.key          (/out/mosquitto)
#   SCHEDULER_OUT   ca.crt, scheduler.crt, scheduler.key          (/out/scheduler)
#   MOSQUITTO_UID   owner of the broker's files (default: id -u mosquitto, else unchanged)
#   SCHEDULER_UID   owner of the scheduler's files                (10001, the Dockerfile's)
set -eu

src="${CERTS_SRC:-/certs-src}"
ca_out="${CA_OUT:-/out/ca}"
mosquitto_out="${MOSQUITTO_OUT:-/out/mosquitto}"
scheduler_out="${SCHEDULER_OUT:-/out/scheduler}"
mosquitto_uid="${MOSQUITTO_UID:-$(id -u mosquitto 2>/dev/null || true)}"
scheduler_uid="${SCHEDULER_UID:-10001}"

for name in ca.crt mosquitto.crt mosquitto.key scheduler.crt scheduler.key; do
    if [ ! -s "$src/$name" ]; then
        echo "certs-init: $src/$name is missing: run deploy/certs/make-certs.sh first" \
             "(docs/deployment.md, TLS)" >&2
        exit 2
    fi
done

# install_file SOURCE DIR MODE [UID]: replace DIR/SOURCE atomically with a copy.
install_file() {
    mkdir -p "$2"
    cp "$src/$1" "$2/.$1.tmp"
    chmod "$3" "$2/.$1.tmp"
    if [ -n "${4:-}" ] && [ "$(id -u)" = 0 ]; then
        chown "$4:$4" "$2/.$1.tmp"
    fi
    mv "$2/.$1.tmp" "$2/$1"
}

install_file ca.crt "$ca_out" 644
install_file ca.crt "$mosquitto_out" 644
install_file mosquitto.crt "$mosquitto_out" 644 "$mosquitto_uid"
install_file mosquitto.key "$mosquitto_out" 600 "$mosquitto_uid"
install_file ca.crt "$scheduler_out" 644
install_file scheduler.crt "$scheduler_out" 644 "$scheduler_uid"
install_file scheduler.key "$scheduler_out" 600 "$scheduler_uid"
echo "certs-init: installed the CA and the certificates of mosquitto and the scheduler"
