#!/usr/bin/env bash
# The dev console in a real browser: the nested module internal/console/browsertest drives
# Debian's chromium (through chromedp) against the quick start with demo traffic and against a
# fake API full of hostile strings. Installs chromium when the machine lacks it (needs root for
# apt-get, as the integration suite does); the whole stage is bounded in time. Its go.mod is
# checked tidy and vetted with the others in .ci/run.
set -euo pipefail
cd "$(dirname "$0")/../../internal/console/browsertest"
export PATH="$(go env GOPATH)/bin:$PATH"

CHROMIUM=${VIGIL_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
  [ "$(id -u)" = 0 ] || { echo "25-browser: no $CHROMIUM; run as root or apt-get install chromium" >&2; exit 1; }
  echo "25-browser: apt-get install chromium"
  timeout 300 apt-get update -qq
  log=$(mktemp)
  if ! DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends chromium >"$log" 2>&1; then
    tail -30 "$log"; rm -f "$log"; echo "25-browser: apt-get install chromium failed" >&2; exit 1
  fi
  rm -f "$log"
fi
"$CHROMIUM" --version

if command -v staticcheck >/dev/null; then staticcheck ./...; fi
# VIGIL_IT_BROWSER=required: a missing browser fails the stage instead of skipping the tests.
VIGIL_IT_BROWSER=required VIGIL_CHROMIUM="$CHROMIUM" timeout 600 go test -race -count=1 -timeout 8m ./...
