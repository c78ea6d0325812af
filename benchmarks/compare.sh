#!/usr/bin/env bash
# Before and after: measures the benchmarks of an earlier ref and of the working tree
# under the same harness, side by side, and writes BEFORE-AFTER.md (issue 13: no ratio
# in RESULTS.md may get worse by more than 5%).
#
# It checks the ref out into a temporary git worktree and compiles that ref's benchmarks
# test binary (its own benchmarks module, its own vigil through the module's replace),
# compiles the working tree's, then runs ROUNDS rounds: in each, every impl of every
# comparison both binaries have runs once per binary, each in a fresh process, the old
# and the new one right after the other. Each RESULTS.md ratio is computed per round for
# both, and BEFORE-AFTER.md gives before, after and the paired after ÷ before
# (internal/report/compare.go, which also maps the benchmarks that were renamed). 62
# processes a round, ~25 s a round on 2 cores: the defaults take 7 to 8 minutes with the
# builds and checks. Run it on an idle machine.
#
#   benchmarks/compare.sh                                  # 9ce8a42 vs now -> BEFORE-AFTER.md
#   REF=HEAD~3 OUT=/tmp/ba.md benchmarks/compare.sh        # another ref, another file
#   ROUNDS=3 OUT=/tmp/ba.md benchmarks/compare.sh          # a smoke test (~2 min)
#   ONLY='^BenchmarkCapture/' ROUNDS=8 benchmarks/compare.sh   # some comparisons
#   RAW=/tmp/ba-raw.txt benchmarks/compare.sh              # also keep the raw output
#   RENDER=/tmp/ba-raw.txt benchmarks/compare.sh           # rewrite OUT from a kept run
#   OVERLAY='' benchmarks/compare.sh                       # the old ref's benchmark files as they were
#
# OVERLAY names benchmark files of the working tree that are laid over the old ref's
# before it is built, for benchmarks found wrong after the ref: by default
# errors_test.go, whose BenchmarkCapture at 9ce8a42 waited for vigil's sender only every
# 256 captures while the queue holds 100, so 35-60% of its "distinct" captures were
# dropped as queue-full (cheap, and as many as scheduling decided), plus the CPU-time
# helpers the fixed file uses. BEFORE-AFTER.md names the files laid over.
set -euo pipefail
cd "$(dirname "$0")"

REF=${REF:-9ce8a42}         # the "before": any git ref whose tree has benchmarks/
ROUNDS=${ROUNDS:-15}
BENCHTIME=${BENCHTIME:-300ms}
ONLY=${ONLY:-}              # regexp over the comparisons' (new) benchmark paths
OUT=${OUT:-BEFORE-AFTER.md}
OVERLAY=${OVERLAY-errors_test.go cputime_test.go cputime_unix_test.go cputime_other_test.go}

# Both binaries run with none of the caller's settings (the old ref's benchmarks predate
# the TestMain that clears them).
for v in $(env | grep -oE '^(VIGIL|OTEL|SENTRY|DD)_[A-Za-z0-9_]*' || true); do unset "$v"; done

old_sha=$(git rev-parse --verify "$REF^{commit}")
old_ref="\`$(git rev-parse --short "$old_sha")\` ($(git log -1 --format=%s "$old_sha" | cut -c1-100))"
if [ -n "$OVERLAY" ]; then old_ref="$old_ref, with the working tree's benchmarks/{${OVERLAY// /,}} laid over it"; fi
new_ref="\`$(git rev-parse --short HEAD)\`"
# Uncommitted changes to tracked files other than documents (RESULTS.md, this script's own
# output) are part of what is measured: say so.
if [ -n "$(git status --porcelain --untracked-files=no -- .. ':(exclude)*.md' 2>/dev/null)" ]; then
	new_ref="$new_ref with the working tree's uncommitted changes"
fi

work=$(mktemp -d)
wt="$work/old"
cleanup() {
	if [ -d "$wt" ]; then git worktree remove --force "$wt" >/dev/null 2>&1 || true; fi
	rm -rf "$work"
	git worktree prune >/dev/null 2>&1 || true
}
trap cleanup EXIT
raw=${RAW:-$work/raw.txt}

# The peer modules' versions in the current directory's module (one by one: the old ref
# may lack some).
versions() {
	for m in go.opentelemetry.io/otel go.opentelemetry.io/otel/sdk \
		go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp \
		go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc \
		github.com/prometheus/client_golang github.com/getsentry/sentry-go \
		github.com/DataDog/datadog-go/v5 go.uber.org/zap \
		github.com/grpc-ecosystem/go-grpc-middleware/v2 \
		github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus \
		google.golang.org/grpc github.com/XSAM/otelsql; do
		go list -m -f '{{.Path}} {{.Version}}' "$m" 2>/dev/null || true
	done
}

git worktree add --quiet --detach "$wt" "$old_sha"
for f in $OVERLAY; do cp "$f" "$wt/benchmarks/$f"; done
(cd "$wt/benchmarks" && versions) >"$work/old-versions.txt"
versions >"$work/new-versions.txt"
git show "$old_sha:benchmarks/RESULTS.md" >"$work/published.md" 2>/dev/null || : >"$work/published.md"
go build -o "$work/report" ./internal/report
report=("$work/report" -compare -old-versions "$work/old-versions.txt" -versions "$work/new-versions.txt"
	-before "$work/published.md" -old-ref "$old_ref" -new-ref "$new_ref" -only "$ONLY")

if [ -n "${RENDER:-}" ]; then
	"${report[@]}" -raw "$RENDER" -cmd "RENDER=$RENDER benchmarks/compare.sh" >"$work/out.md"
	mv "$work/out.md" "$OUT"
	echo "wrote $OUT from $RENDER" >&2
	exit 0
fi

(cd "$wt/benchmarks" && go test -c -o "$work/old.test" .)
go test -c -o "$work/new.test" .
# Each stack must do its work before its speed means anything: both binaries' own checks.
if [ "${CHECK:-1}" != 0 ]; then
	(cd "$wt/benchmarks" && "$work/old.test" -test.run . -test.count 1 >/dev/null)
	"$work/new.test" -test.run . -test.count 1 >/dev/null
fi

load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)
if awk -v l="$load" 'BEGIN { exit !(l > 1) }'; then
	echo "compare.sh: the load average is $load: this machine is busy, wall times will be noisy" >&2
fi
cmd="REF=$REF ROUNDS=$ROUNDS BENCHTIME=$BENCHTIME${ONLY:+ ONLY='$ONLY'}${OVERLAY:+ OVERLAY='$OVERLAY'} benchmarks/compare.sh"
echo "running: $cmd" >&2
"${report[@]}" -bin "$work/new.test" -old-bin "$work/old.test" -rounds "$ROUNDS" -benchtime "$BENCHTIME" \
	-raw "$raw" -cmd "$cmd" >"$work/out.md"
mv "$work/out.md" "$OUT"
echo "wrote $OUT" >&2
