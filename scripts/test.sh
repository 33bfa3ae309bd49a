#!/usr/bin/env bash
# `npm test`: provisions what the tests need, builds the app, then runs every test once.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/provision-chromium.sh "npm test"  # browser tests drive it

echo "npm test: type-checking"
npx tsc --noEmit -p .

echo "npm test: building the app"
node node_modules/next/dist/bin/next build > /tmp/canopy-next-build.log 2>&1 || { cat /tmp/canopy-next-build.log; exit 1; }

npx vitest run "$@"
