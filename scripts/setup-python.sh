#!/usr/bin/env bash
# Creates the project-local venv with moto server (and cfn-lint) pinned in requirements-dev.txt.
# Idempotent: skips pip when the venv already matches the requirements file.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=.venv/.requirements.sha
want=$(sha256sum requirements-dev.txt | cut -d' ' -f1)
if [ -x .venv/bin/moto_server ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then exit 0; fi
echo "setting up .venv (moto server, cfn-lint)..." >&2
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
echo "$want" > "$stamp"
