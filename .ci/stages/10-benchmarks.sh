#!/usr/bin/env bash
# The benchmarks module (a nested module: the peers stay out of vigil's go.mod): vet and
# staticcheck it, check with its tests that every stack compared really does its work,
# and run every benchmark once so none rots. Numbers come from benchmarks/run.sh.
set -euo pipefail
cd "$(dirname "$0")/../../benchmarks"
export PATH="$(go env GOPATH)/bin:$PATH"

go vet ./...
if command -v staticcheck >/dev/null; then staticcheck ./...; fi
go test -count=1 -bench . -benchtime=1x ./...
