#!/usr/bin/env bash
# Runs every comparison of the benchmarks module with enough repetitions for benchstat,
# and writes RESULTS.md (machine, versions, each target as a ratio with its spread, and
# benchstat's tables). 10 to 15 minutes on 2 cores with the defaults; run it on an
# idle machine.
#
#   benchmarks/run.sh                          # the full run
#   COUNT=2 BENCHTIME=1x OUT=/tmp/r.md benchmarks/run.sh  # a smoke test of the pipeline
#   BENCH='^BenchmarkHTTP$' benchmarks/run.sh  # one family (RESULTS.md then shows only it)
set -euo pipefail
cd "$(dirname "$0")"

COUNT=${COUNT:-10}           # samples per benchmark: benchstat wants at least 6 for a CI
BENCHTIME=${BENCHTIME:-500ms}
BENCH=${BENCH:-.}
OUT=${OUT:-RESULTS.md}
BENCHSTAT_VERSION=v0.0.0-20260908200009-22c9c6c9d4da # golang.org/x/perf has no tags

export PATH="$(go env GOPATH)/bin:$PATH"
if ! go version -m "$(command -v benchstat 2>/dev/null || echo /nonexistent)" 2>/dev/null |
	grep -q "golang.org/x/perf.*${BENCHSTAT_VERSION}"; then
	go install "golang.org/x/perf/cmd/benchstat@${BENCHSTAT_VERSION}"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The stacks must do their work before their speed means anything. CHECK=0 skips this,
# only for trying the pipeline while a vigil part is unfinished.
if [ "${CHECK:-1}" != 0 ]; then go test -count=1 ./...; fi

cmd="go test -run '^\$' -bench '$BENCH' -benchtime $BENCHTIME -count $COUNT -timeout 60m ."
echo "running: $cmd" >&2
start=$(date +%s)
eval "$cmd" | tee "$work/raw.txt"
echo "benchmarks took $(($(date +%s) - start)) s" >&2
if grep -q '^FAIL' "$work/raw.txt"; then
	echo "run.sh: a benchmark failed; RESULTS.md left as it was" >&2
	exit 1
fi

# One benchstat table per family, so each compares against that family's first impl
# (the floor or the peer) rather than a column set shared by everything.
for family in $(sed -n 's/^Benchmark\([A-Za-z0-9_]*\).*/\1/p' "$work/raw.txt" | awk '!seen[$0]++'); do
	echo "### Benchmark$family"
	benchstat -col /impl -filter ".name:$family" "$work/raw.txt"
done >"$work/stat.txt"

go list -m -f '{{.Path}} {{.Version}}' \
	go.opentelemetry.io/otel \
	go.opentelemetry.io/otel/sdk \
	go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp \
	go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc \
	github.com/prometheus/client_golang \
	github.com/getsentry/sentry-go \
	github.com/DataDog/datadog-go/v5 \
	go.uber.org/zap \
	github.com/grpc-ecosystem/go-grpc-middleware/v2 \
	github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus \
	google.golang.org/grpc \
	>"$work/versions.txt"
echo "golang.org/x/perf/cmd/benchstat $BENCHSTAT_VERSION" >>"$work/versions.txt"

go run ./internal/report -raw "$work/raw.txt" -benchstat "$work/stat.txt" \
	-versions "$work/versions.txt" -cmd "$cmd" >"$work/results.md"
mv "$work/results.md" "$OUT"
echo "wrote $OUT" >&2
