#!/bin/sh
# Create Mosquitto's dynamic-security file with the scheduler's admin login, once.
#
# docker-compose.yml runs this in the `mosquitto-init` service (eclipse-mosquitto image, which
# ships mosquitto_ctrl) before the broker starts. An existing file is never touched: it holds
# every station's credentials, which the scheduler adds over $CONTROL/dynamic-security/v1.
#
# Environment:
#   MQTT_ADMIN_PASSWORD  required; the password in WARDCAST_MQTT_URL
#   MQTT_ADMIN_USER      default wardcast-scheduler (the user in WARDCAST_MQTT_URL)
#   DYNSEC_FILE          default /mosquitto/data/dynamic-security.json (plugin_opt_config_file)
set -eu

file="${DYNSEC_FILE:-/mosquitto/data/dynamic-security.json}"
user="${MQTT_ADMIN_USER:-wardcast-scheduler}"

if [ -s "$file" ]; then
    echo "init-dynsec: $file exists, leaving it as it is"
    exit 0
fi
if [ -z "${MQTT_ADMIN_PASSWORD:-}" ]; then
    echo "init-dynsec: MQTT_ADMIN_PASSWORD is not set (see deploy/.env.example)" >&2
    exit 2
fi

mkdir -p "$(dirname "$file")"
rm -f "$file"  # an empty file left by an interrupted run
# mosquitto_ctrl stores a salted PBKDF2 hash of the password, never the password itself.
mosquitto_ctrl dynsec init "$file" "$user" "$MQTT_ADMIN_PASSWORD"
chmod 600 "$file"
# The broker drops root and runs as user mosquitto; let it read and rewrite the file.
if [ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1; then
    chown mosquitto:mosquitto "$file"
fi
echo "init-dynsec: created $file with admin user $user"
