#!/usr/bin/env bash
# Measures vigil against its peers and its floors and writes RESULTS.md.
#
# It compiles the benchmarks' test binary once, then runs ROUNDS rounds: in each round
# every impl of every comparison runs once, each in a fresh process (one benchmark, one
# process, -count 1), the impls of a comparison one after another in an order that
# rotates. Every target is computed within each round against that round's floor and
# peer (paired), then RESULTS.md gives its median, interquartile range and extremes over
# the rounds (internal/report). About 50 processes a round, 30 to 40 s a round on 2
# idle cores: the defaults take 9 to 12 minutes with the checks and the build (it prints
# an estimate after each round). Run it on an idle machine: wall times on a loaded one
# mostly measure the wait for a core (RESULTS.md's CPU-time column holds up better).
#
#   benchmarks/run.sh                                    # the full run -> RESULTS.md
#   ROUNDS=1 BENCHTIME=1x CHECK=0 OUT=/tmp/r.md benchmarks/run.sh   # a smoke test (~1 min)
#   ONLY='^BenchmarkHTTP/' ROUNDS=6 OUT=/tmp/http.md benchmarks/run.sh  # some comparisons
#   RAW=/tmp/raw.txt benchmarks/run.sh                   # also keep the raw output
#   RENDER=/tmp/raw.txt benchmarks/run.sh                # rewrite RESULTS.md from a kept run
#   BEFORE=/tmp/old.md ...                               # compare with these results
#                                                          (default: the $OUT being replaced)
#
# The "before" column quotes an earlier file, measured by the harness of its day. To hold
# the benchmarks of an earlier commit against the working tree under this same harness,
# in the same rounds, use compare.sh (BEFORE-AFTER.md).
set -euo pipefail
cd "$(dirname "$0")"

ROUNDS=${ROUNDS:-15}       # rounds: each target's median and spread are over these
BENCHTIME=${BENCHTIME:-300ms} # per process, for comparisons that do not fix their own
ONLY=${ONLY:-}             # regexp over comparison paths (internal/report/targets.go)
OUT=${OUT:-RESULTS.md}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
raw=${RAW:-$work/raw.txt}
# The results this run replaces: RESULTS.md shows their values in a "before" column.
before=${BEFORE:-$OUT}
if [ -f "$before" ]; then cp "$before" "$work/before.md"; else : >"$work/before.md"; fi

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
if go list -m github.com/XSAM/otelsql >/dev/null 2>&1; then
	go list -m -f '{{.Path}} {{.Version}}' github.com/XSAM/otelsql >>"$work/versions.txt"
fi

if [ -n "${RENDER:-}" ]; then
	go run ./internal/report -raw "$RENDER" -versions "$work/versions.txt" -before "$work/before.md" >"$work/results.md"
	mv "$work/results.md" "$OUT"
	echo "wrote $OUT from $RENDER" >&2
	exit 0
fi

# The stacks must do their work before their speed means anything. CHECK=0 skips this,
# only for trying the pipeline while a vigil part is unfinished.
if [ "${CHECK:-1}" != 0 ]; then go test -count=1 ./...; fi

load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)
if awk -v l="$load" 'BEGIN { exit !(l > 1) }'; then
	echo "run.sh: the load average is $load: this machine is busy, wall times will be noisy" >&2
fi
go test -c -o "$work/bench.test" .
go build -o "$work/report" ./internal/report
cmd="ROUNDS=$ROUNDS BENCHTIME=$BENCHTIME${ONLY:+ ONLY='$ONLY'} benchmarks/run.sh"
echo "running: $cmd" >&2
"$work/report" -bin "$work/bench.test" -rounds "$ROUNDS" -benchtime "$BENCHTIME" -only "$ONLY" \
	-raw "$raw" -versions "$work/versions.txt" -before "$work/before.md" -cmd "$cmd" >"$work/results.md"
mv "$work/results.md" "$OUT"
echo "wrote $OUT" >&2
