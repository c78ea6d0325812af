#!/usr/bin/env bash
# Hermetic tests: the unit tests once more with hostile VIGIL_*, OTEL_*, SENTRY_* and DD_*
# values exported, as a developer's shell or a CI machine might. Every package's TestMain
# clears them (internal/envtest.Clean), so the results must not change; a test that needs a
# variable sets it with t.Setenv. No -race here (the unit-test stage ran it); -count=1 so no
# result cached from the clean run stands in for this one.
set -euo pipefail
cd "$(dirname "$0")/../.."

# Every package with tests clears the environment in its TestMain.
missing=()
for d in $(git ls-files '*_test.go' | xargs -n1 dirname | sort -u); do
  [ "$d" = internal/envtest ] && continue
  grep -qs 'envtest\.Clean()' "$d"/*_test.go || missing+=("$d")
done
if ((${#missing[@]})); then
  echo "no TestMain calling envtest.Clean() in: ${missing[*]}"
  exit 1
fi

export VIGIL_LOG_LEVEL=bogus VIGIL_LOG_FORMAT=xml VIGIL_LOG_SOURCE=maybe VIGIL_LOG_REDACT=msg,level
export VIGIL_REDACT_KEYS=msg,time VIGIL_REDACT_ALLOW=authorization VIGIL_SHUTDOWN_TIMEOUT=-1s
export VIGIL_STATSD_ADDR=127.0.0.1:1 VIGIL_STATSD_FORMAT=bogus VIGIL_PUSHGATEWAY_URL=http://127.0.0.1:1
export VIGIL_SENTRY_QUEUE_SIZE=-1 VIGIL_HTTP_SKIP=bad VIGIL_GRPC_SKIP=bad VIGIL_CONSOLE=true
export VIGIL_ENVIRONMENT=hostile
export SENTRY_DSN=https://k@127.0.0.1:1/1 SENTRY_ENVIRONMENT=hostile SENTRY_RELEASE=hostile
export OTEL_SDK_DISABLED=true OTEL_TRACES_EXPORTER=otlp OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:1
export OTEL_EXPORTER_OTLP_HEADERS='authorization=Bearer hostile' OTEL_TRACES_SAMPLER=always_off
export OTEL_PROPAGATORS=bogus OTEL_SERVICE_NAME=hostile OTEL_RESOURCE_ATTRIBUTES=service.name=hostile
export OTEL_BSP_SCHEDULE_DELAY=bogus OTEL_BSP_MAX_QUEUE_SIZE=1
export OTEL_METRICS_EXPORTER=otlp,bogus OTEL_LOGS_EXPORTER=otlp OTEL_METRIC_EXPORT_INTERVAL=1 OTEL_BLRP_MAX_QUEUE_SIZE=1
export DD_AGENT_HOST=127.0.0.1 DD_DOGSTATSD_PORT=1 DD_ENV=hostile

go test -count=1 ./...
