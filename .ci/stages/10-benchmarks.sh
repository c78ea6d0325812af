#!/usr/bin/env bash
# The benchmarks module (a nested module: the peers stay out of vigil's go.mod): vet and
# staticcheck it, check with its tests that every stack compared really does its work,
# run every benchmark once so none rots, and run.sh's whole pipeline (compile, one
# process per impl per round, paired ratios, RESULTS.md) on one cheap comparison.
# Numbers come from benchmarks/run.sh.
set -euo pipefail
cd "$(dirname "$0")/../../benchmarks"
export PATH="$(go env GOPATH)/bin:$PATH"

go vet ./...
if command -v staticcheck >/dev/null; then staticcheck ./...; fi
go test -count=1 -bench . -benchtime=1x ./...
out=$(mktemp)
trap 'rm -f "$out"' EXIT
ONLY='^BenchmarkSpan/sampled=true$' ROUNDS=2 BENCHTIME=1x CHECK=0 OUT="$out" ./run.sh
grep -q '^| Span start+end, sampled | vigil | otel-sdk | .* | 2 | ' "$out"
