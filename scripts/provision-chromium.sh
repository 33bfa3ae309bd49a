#!/usr/bin/env bash
# Debian's Chromium for the browser tests and the bench's UI phase, installed when absent (never a browser download).
set -euo pipefail
who="${1:-canopy}"
[ -x /usr/bin/chromium ] && exit 0
echo "$who: Chromium not found; installing Debian's chromium package"
if [ "$(id -u)" = "0" ]; then SUDO=""; else SUDO="sudo"; fi
if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null; }; then
  echo "$who: could not install chromium with apt-get; install it (apt-get install chromium) and rerun" >&2
  exit 1
fi
[ -x /usr/bin/chromium ] || { echo "$who: /usr/bin/chromium is still missing" >&2; exit 1; }
