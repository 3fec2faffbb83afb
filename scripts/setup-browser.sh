#!/usr/bin/env bash
# The headless browser the report test needs (test/browser/chromium.ts): Debian's chromium at
# /usr/bin/chromium, or the one CHROMIUM_PATH names. Idempotent: nothing to do when it is there.
# Otherwise installs Debian's chromium package with apt-get (through sudo when not root).
set -euo pipefail
browser=${CHROMIUM_PATH:-/usr/bin/chromium}
[ -x "$browser" ] && exit 0
if [ -n "${CHROMIUM_PATH:-}" ]; then
  echo "setup: CHROMIUM_PATH=$CHROMIUM_PATH is not an executable file; point it at a chromium or unset it" >&2
  exit 1
fi
how='install Debian'"'"'s chromium package yourself ("apt-get install -y chromium"), or set CHROMIUM_PATH to a chromium or chrome executable'
if ! command -v apt-get >/dev/null; then
  echo "setup: no chromium at $browser and no apt-get to install it: $how" >&2
  exit 1
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null; then
    echo "setup: no chromium at $browser; installing it needs root, and sudo is missing: $how" >&2
    exit 1
  fi
  # Without a terminal sudo cannot ask for a password: fail at once rather than hang.
  if [ -t 0 ]; then sudo=(sudo); else sudo=(sudo -n); fi
fi
echo "setup: installing chromium (Debian package) for the headless report test..." >&2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { "${sudo[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq chromium; } >"$log" 2>&1; then
  tail -n 20 "$log" >&2
  echo "setup: could not install chromium with ${sudo[*]:+${sudo[*]} }apt-get (its output above): $how" >&2
  exit 1
fi
if [ ! -x "$browser" ]; then
  echo "setup: apt-get installed chromium, but there is no executable at $browser: set CHROMIUM_PATH to it" >&2
  exit 1
fi
