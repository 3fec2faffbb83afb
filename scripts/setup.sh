#!/usr/bin/env bash
# One-time set-up for a fresh clone, safe to run every time (npm test, demo, local, bench and chaos
# run it first): npm dependencies (with the Node 24 they bring) when missing or out of date, the
# Python venv with moto, and the headless chromium the report test needs.
set -euo pipefail
cd "$(dirname "$0")/.."
lock_sha=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -x node_modules/.bin/node ] || [ "$(cat node_modules/.lock.sha 2>/dev/null)" != "$lock_sha" ]; then
  echo "installing npm dependencies (npm ci)..." >&2
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sha" > node_modules/.lock.sha
fi
bash scripts/setup-python.sh
bash scripts/setup-browser.sh
