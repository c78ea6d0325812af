#!/usr/bin/env bash
# Fuzz every target for a fixed number of executions, about 10 s each on a 2-core machine,
# starting from the seed corpora under each package's testdata/fuzz. A failure leaves the
# crashing input in testdata/fuzz/<Target>/ for the next run to replay as a regression test.
# Counts, not durations: with a duration, Go's fuzzing coordinator (up to go1.26) can
# report the deadline itself as a failure, "context deadline exceeded" with no input, when
# -fuzztime expires while a worker is mid-call (golang/go#75804, fixed in go1.27).
# FUZZTIME overrides every target's budget (a count such as 1000x, or a duration).
# Then the reliability tests at full scale (one million requests), without -race.
set -euo pipefail
cd "$(dirname "$0")/../.."

FUZZTIME="${FUZZTIME:-}"
targets=(
  "./middleware FuzzRequestID 25000x"
  "./metrics FuzzStatsDLine 80000x"
  "./internal/scrub FuzzSensitive 150000x"
  "./internal/scrub FuzzQuery 150000x"
  "./internal/scrub FuzzBody 150000x"
  "./internal/scrub FuzzText 150000x"
  "./logging FuzzConfig 110000x"
  "./observe FuzzSettings 5000x"
  "./tracing FuzzPropagation 36000x"
  "./internal/jsonstr FuzzAppend 200000x"
  "./internal/safefmt FuzzSafeFormat 90000x"
  "./dbsql FuzzSanitize 60000x"
)
for t in "${targets[@]}"; do
  set -- $t
  budget="${FUZZTIME:-$3}"
  printf -- '--- fuzz %s %s (%s)\n' "$1" "$2" "$budget"
  # Minimizing each new input can stall a short run for a minute; cap it.
  go test -run '^$' -fuzz "^$2\$" -fuzztime "$budget" -fuzzminimizetime 200x "$1"
done

printf -- '--- reliability at full scale (VIGIL_RELIABILITY_FULL=1)\n'
VIGIL_RELIABILITY_FULL=1 go test -count 1 -run 'Reliability' -v ./observe ./errors \
  | grep -E '^(=== RUN|--- |PASS|FAIL|ok)|reliability:'
