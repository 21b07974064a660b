#!/bin/sh
# Make a private certificate authority and the server certificates wardcast's TLS needs.
#
#   deploy/certs/make-certs.sh [-d DIR] [NAME ...]
#
# Writes into DIR (default: the directory of this script, i.e. deploy/certs/):
#   ca.crt          the private CA; give it to every agent (--ca-file) and to the scheduler
#   ca.key          the CA's key (0600). Whoever holds it can impersonate the servers: keep it
#                   here only as long as you need to issue certificates, back it up offline.
#   scheduler.crt   HTTPS certificate of `wardcast serve` (uvicorn --ssl-certfile)
#   scheduler.key   its key (0600)
#   mosquitto.crt   certificate of Mosquitto's TLS listener (port 8883)
#   mosquitto.key   its key (0600)
#
# Both server certificates carry the same subjectAltName list: every NAME given on the command
# line (DNS names or IPv4/IPv6 addresses) after the defaults in $CERT_NAMES, which are
# "localhost 127.0.0.1 scheduler mosquitto" (what docker-compose.yml and its healthchecks use).
# Example for a public deployment:
#   deploy/certs/make-certs.sh wardcast.example.vn broker.example.vn 203.0.113.10
#
# Idempotent: an existing CA is kept; an existing server certificate is kept if it was issued
# by that CA, carries exactly the requested names and is valid for more than RENEW_DAYS (30)
# days; otherwise it is issued again (with its existing key). So re-running it is how to renew
# certificates or add a name. After a change, restart the services that use them
# (docs/deployment.md, "TLS").
#
# Needs OpenSSL 1.1.1 or newer (Debian 11+, Ubuntu 20.04+). IPv6 addresses are accepted but
# OpenSSL prints them expanded, so certificates with one are re-issued on every run.
#
# Keys are EC P-256, certificates SHA-256; the CA is valid CA_DAYS (3650) days, server
# certificates SERVER_DAYS (825, the longest Apple clients accept).
set -eu
set -f  # no globbing: a name may be a wildcard such as *.example.vn

umask 077
dir="$(cd "$(dirname "$0")" && pwd)"
while getopts d:h opt; do
    case "$opt" in
        d) dir="$OPTARG" ;;
        h) sed -n '2,28p' "$0"; exit 0 ;;
        *) echo "usage: $0 [-d DIR] [NAME ...]" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))

CA_DAYS="${CA_DAYS:-3650}"
SERVER_DAYS="${SERVER_DAYS:-825}"
RENEW_DAYS="${RENEW_DAYS:-30}"
CA_NAME="${CA_NAME:-wardcast private CA}"
CERT_NAMES="${CERT_NAMES-localhost 127.0.0.1 scheduler mosquitto}"

command -v openssl >/dev/null || { echo "make-certs: openssl is not installed" >&2; exit 2; }
mkdir -p "$dir"
cd "$dir"

# The subjectAltName value, in order, without duplicates: DNS:x or IP:x.
names=""
for name in $CERT_NAMES "$@"; do
    case " $names " in *" $name "*) continue ;; esac
    names="$names $name"
done
names="${names# }"
if [ -z "$names" ]; then
    echo "make-certs: no host names (CERT_NAMES is empty and none given)" >&2
    exit 2
fi
san=""
for name in $names; do
    case "$name" in
        *[!0-9.]*)
            case "$name" in
                *:*) entry="IP:$name" ;;                  # IPv6
                *[!A-Za-z0-9.*-]*) echo "make-certs: bad host name '$name'" >&2; exit 2 ;;
                *) entry="DNS:$name" ;;
            esac ;;
        *) entry="IP:$name" ;;                            # IPv4
    esac
    san="${san:+$san,}$entry"
done

# A private key file, made once: EC P-256, mode 0600.
make_key() {
    if [ ! -s "$1" ]; then
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.tmp" 2>/dev/null
        chmod 600 "$1.tmp"
        mv "$1.tmp" "$1"
        echo "make-certs: created $dir/$1"
    fi
    chmod 600 "$1"
}

# --- The CA ------------------------------------------------------------------------------------
make_key ca.key
if [ ! -s ca.crt ] || ! openssl x509 -in ca.crt -noout -checkend $((RENEW_DAYS * 86400)) \
        >/dev/null 2>&1; then
    if [ -s ca.crt ]; then
        echo "make-certs: ca.crt expires within $RENEW_DAYS days: making a new CA;" \
             "every agent needs the new ca.crt" >&2
    fi
    cat > ca.ext <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = $CA_NAME
[ext]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
    openssl req -new -x509 -sha256 -days "$CA_DAYS" -key ca.key -config ca.ext \
        -extensions ext -out ca.crt.tmp
    rm -f ca.ext
    chmod 644 ca.crt.tmp
    mv ca.crt.tmp ca.crt
    echo "make-certs: created $dir/ca.crt"
fi
chmod 644 ca.crt

# --- Server certificates -----------------------------------------------------------------------
# The names a certificate carries, one per line, sorted, as OpenSSL prints them.
cert_names() {
    openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null \
        | sed -n '2,$p' | tr ',' '\n' | sed 's/^ *//; s/^IP Address:/IP:/' | grep . | sort
}
wanted_names() {
    printf '%s\n' "$san" | tr ',' '\n' | sort
}

issue() {
    service="$1"
    make_key "$service.key"
    if [ -s "$service.crt" ] \
        && openssl verify -CAfile ca.crt "$service.crt" >/dev/null 2>&1 \
        && openssl x509 -in "$service.crt" -noout -checkend $((RENEW_DAYS * 86400)) \
            >/dev/null 2>&1 \
        && [ "$(cert_names "$service.crt")" = "$(wanted_names)" ]; then
        echo "make-certs: $dir/$service.crt is current, kept"
        return
    fi
    cat > "$service.ext" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $san
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
    openssl req -new -sha256 -key "$service.key" -subj "/CN=wardcast $service" \
        -out "$service.csr"
    # A random serial each time (-set_serial with 16 random bytes): no .srl file to keep.
    openssl x509 -req -sha256 -days "$SERVER_DAYS" -in "$service.csr" -CA ca.crt \
        -CAkey ca.key -set_serial "0x$(openssl rand -hex 16)" -extfile "$service.ext" \
        -out "$service.crt.tmp" 2>/dev/null
    rm -f "$service.csr" "$service.ext"
    chmod 644 "$service.crt.tmp"
    mv "$service.crt.tmp" "$service.crt"
    echo "make-certs: issued $dir/$service.crt for $san"
}

issue scheduler
issue mosquitto
