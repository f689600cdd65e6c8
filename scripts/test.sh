#!/usr/bin/env bash
# Run the whole test suite on a fresh machine: set-up (venv, dependencies, Debian's chromium and
# chromium-driver for the real-browser tests), then pytest. Usage: bash scripts/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromedriver >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "[test] installing Debian's chromium and chromium-driver for the browser tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "[test] chromium/chromedriver missing and not root: browser tests will be skipped" >&2
  fi
fi
EXTRAS=test,serve bash scripts/setup.sh
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
