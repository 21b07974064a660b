#!/usr/bin/env bash
# Install the system packages wardcast needs (Debian/Ubuntu), only those that are missing.
#   scripts/system-deps.sh          runtime: ffmpeg, mosquitto (the broker `wardcast serve` runs
#                                   by default), icecast2 (its streaming server for live voice),
#                                   espeak-ng (the demo's sample voice), Pango and a serif font
#                                   with Vietnamese (WeasyPrint's PDF reports)
#   scripts/system-deps.sh --test   also mosquitto's clients, PostgreSQL, sox, openssl,
#                                   chromium (the browser tests drive it with Playwright),
#                                   poppler-utils (pdftotext, pdffonts, pdfinfo read the PDFs)
set -euo pipefail

want=(ffmpeg mosquitto icecast2 espeak-ng python3-venv
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-liberation2)
if [[ "${1:-}" == "--test" ]]; then
  want+=(mosquitto-clients postgresql sox openssl make chromium poppler-utils)
fi

missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -eq 0 ]]; then sudo=(); else sudo=(sudo); fi
echo "Installing system packages: ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The Debian package starts a system-wide mosquitto on port 1883; `wardcast serve` runs its own
# (and so do the tests), so keep the system one out of the way.
if [[ " ${missing[*]} " == *" mosquitto "* ]]; then
  "${sudo[@]}" systemctl disable --now mosquitto >/dev/null 2>&1 || "${sudo[@]}" service mosquitto stop >/dev/null 2>&1 || true
fi
# The same for icecast2, whose system-wide one would take port 8000 (wardcast's own API port).
if [[ " ${missing[*]} " == *" icecast2 "* ]]; then
  "${sudo[@]}" systemctl disable --now icecast2 >/dev/null 2>&1 || "${sudo[@]}" service icecast2 stop >/dev/null 2>&1 || true
fi
