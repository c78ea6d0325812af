#!/usr/bin/env bash
# The routers module (nested, so gorilla/mux, gin and echo stay out of vigil's go.mod):
# vet and staticcheck it, and run its tests, each router wired each way the middleware
# package documents. Its go.mod is checked tidy with the others in .ci/run.
set -euo pipefail
cd "$(dirname "$0")/../../middleware/routers"
export PATH="$(go env GOPATH)/bin:$PATH"

go vet ./...
if command -v staticcheck >/dev/null; then staticcheck ./...; fi
go test -race -count=1 ./...
