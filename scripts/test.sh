#!/usr/bin/env bash
# `npm test`: provisions what the tests need, builds the app, then runs every test once.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  echo "npm test: Chromium not found; installing Debian's chromium package (browser tests drive it)"
  if [ "$(id -u)" = "0" ]; then SUDO=""; else SUDO="sudo"; fi
  if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null; }; then
    echo "npm test: could not install chromium with apt-get; install it (apt-get install chromium) and rerun" >&2
    exit 1
  fi
fi
[ -x /usr/bin/chromium ] || { echo "npm test: /usr/bin/chromium is still missing" >&2; exit 1; }

echo "npm test: type-checking"
npx tsc --noEmit -p .

echo "npm test: building the app"
node node_modules/next/dist/bin/next build > /tmp/canopy-next-build.log 2>&1 || { cat /tmp/canopy-next-build.log; exit 1; }

npx vitest run "$@"
