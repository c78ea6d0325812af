#!/usr/bin/env bash
# Fuzz every target for a short fixed time (FUZZTIME, default 10s), starting from the seed
# corpora under each package's testdata/fuzz. A failure leaves the crashing input in
# testdata/fuzz/<Target>/ for the next run to replay as a regression test.
# Then the reliability tests at full scale (one million requests), without -race.
set -euo pipefail
cd "$(dirname "$0")/../.."

FUZZTIME="${FUZZTIME:-10s}"
targets=(
  "./middleware FuzzRequestID"
  "./metrics FuzzStatsDLine"
  "./internal/scrub FuzzSensitive"
  "./internal/scrub FuzzQuery"
  "./internal/scrub FuzzBody"
  "./internal/scrub FuzzText"
  "./logging FuzzConfig"
  "./observe FuzzSettings"
  "./tracing FuzzPropagation"
  "./internal/jsonstr FuzzAppend"
  "./internal/safefmt FuzzSafeFormat"
  "./dbsql FuzzSanitize"
)
for t in "${targets[@]}"; do
  set -- $t
  printf -- '--- fuzz %s %s (%s)\n' "$1" "$2" "$FUZZTIME"
  # Minimizing each new input can stall a short run for a minute; cap it.
  go test -run '^$' -fuzz "^$2\$" -fuzztime "$FUZZTIME" -fuzzminimizetime 200x "$1"
done

printf -- '--- reliability at full scale (VIGIL_RELIABILITY_FULL=1)\n'
VIGIL_RELIABILITY_FULL=1 go test -count 1 -run 'Reliability' -v ./observe ./errors \
  | grep -E '^(=== RUN|--- |PASS|FAIL|ok)|reliability:'
