#!/usr/bin/env bash
# The integration suite against real servers, from a clean machine:
#
#   integration/run.sh               install what is missing, build the collector, start every
#                                    server on loopback ports free at that moment, run the Go
#                                    tests, stop all
#   integration/run.sh serve         start everything and wait for Ctrl-C (to look around by hand)
#   VIGIL_IT_RUN=DIR integration/run.sh start NAME
#   VIGIL_IT_RUN=DIR integration/run.sh stop NAME
#                                    (re)start or stop one server of the run whose directory is
#                                    DIR; the fault-survival test does this (the tests get
#                                    VIGIL_IT_RUN)
#
# Servers: prometheus, alertmanager, pushgateway, carbon (graphite-carbon), statsd (the Etsy
# daemon, with its graphite backend into carbon and a repeater into statsd-hold), statsd-hold (a
# second StatsD that never flushes, so its admin interface shows the run's totals), otelcol (a
# minimal OpenTelemetry Collector built from integration/otelcol), spotlight (Sentry's Spotlight
# sidecar from npm, started by integration/spotlight.mjs), postgres (Debian's PostgreSQL, a
# cluster initdb'd into the run's directory, TCP on loopback only, trust authentication; as root
# it runs as the postgres user). They run from their binaries
# with flags and config in a directory of this run's own (integration/.work/run.XXXXXX, removed
# when the run passes), never as the distribution's services.
#
# Every port is chosen when the run starts (integration/freeports asks the kernel for free ones)
# and handed to the servers' configuration and to the tests, so two runs on one host, or a
# server someone left running, cannot collide with this one.
#
# Every wait is bounded; everything started here is stopped on exit by its pid.
set -euo pipefail

IT_DIR="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$IT_DIR/.." && pwd)"
WORK="$IT_DIR/.work"
BIN="$WORK/bin"
STATSD_VERSION=0.9.0
# Spotlight 4.11.8 breaks with hono 4.13 (its middleware): hono is pinned through npm overrides.
SPOTLIGHT_VERSION=4.11.8 SPOTLIGHT_HONO=4.12.25
TEST_TIMEOUT="${VIGIL_IT_TIMEOUT:-12m}"

# The ports this run needs (StatsD's two are UDP), chosen free in "start servers" below and
# kept in $RUN/ports.env for `start NAME` and `stop NAME`. P_QUICKSTART_DOWN is one nobody
# listens on: Prometheus scrapes it so that the TargetDown alert fires.
PORTS=(P_PROM P_AM P_PUSH P_CARBON P_CARBON_PICKLE P_CARBON_QUERY P_STATSD/udp P_STATSD_ADMIN
  P_HOLD/udp P_HOLD_ADMIN P_OTLP_GRPC P_OTLP_HTTP P_QUICKSTART P_QUICKSTART_DOWN P_GRPC_METRICS P_SPOTLIGHT
  P_POSTGRES)

log() { printf '[integration %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() { log "FAIL: $*"; exit 1; }

# wait_for DESCRIPTION SECONDS COMMAND...: poll until COMMAND succeeds or the time is up.
wait_for() {
  local what=$1 secs=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { log "timeout after ${secs}s waiting for $what"; return 1; }
    sleep 0.2
  done
}
http_ok() { curl -fsS --max-time 2 -o /dev/null "$1"; }
tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# --- one server: its command line, readiness check, start and stop --------------------------

server_cmd() {
  case $1 in
  prometheus) echo prometheus --config.file="$RUN/prometheus.yml" --storage.tsdb.path="$RUN/prometheus-data" \
      --web.listen-address=127.0.0.1:$P_PROM --web.enable-lifecycle --log.level=warn ;;
  alertmanager) echo prometheus-alertmanager --config.file="$RUN/alertmanager.yml" --storage.path="$RUN/alertmanager-data" \
      --web.listen-address=127.0.0.1:$P_AM --cluster.listen-address= --log.level=warn ;;
  pushgateway) echo prometheus-pushgateway --web.listen-address=127.0.0.1:$P_PUSH \
      --persistence.file="$RUN/pushgateway.data" --log.level=warn ;;
  carbon) echo carbon-cache --config="$RUN/carbon/carbon.conf" --nodaemon --pidfile="$RUN/carbon/carbon.pid" \
      --logdir="$RUN/carbon/log" start ;;
  statsd) echo node "$WORK/statsd/node_modules/statsd/stats.js" "$RUN/statsd.js" ;;
  statsd-hold) echo node "$WORK/statsd/node_modules/statsd/stats.js" "$RUN/statsd-hold.js" ;;
  otelcol) echo "$BIN/otelcol" --config="$RUN/otelcol.yaml" ;;
  spotlight) echo env SPOTLIGHT_DIST="$WORK/spotlight/node_modules/@spotlightjs/spotlight/dist" \
      node "$IT_DIR/spotlight.mjs" -p "$P_SPOTLIGHT" ;;
  # No Unix socket, no durability: a throwaway cluster for the tests.
  postgres) echo $PG_AS "$PG_BIN/postgres" -D "$RUN/postgres" -c listen_addresses=127.0.0.1 -p "$P_POSTGRES" \
      -c unix_socket_directories= -c fsync=off -c synchronous_commit=off -c full_page_writes=off ;;
  *) die "unknown server $1" ;;
  esac
}

server_ready() {
  case $1 in
  prometheus) http_ok "http://127.0.0.1:$P_PROM/-/ready" ;;
  alertmanager) http_ok "http://127.0.0.1:$P_AM/-/ready" ;;
  pushgateway) http_ok "http://127.0.0.1:$P_PUSH/-/ready" ;;
  carbon) tcp_open $P_CARBON ;;
  statsd) tcp_open $P_STATSD_ADMIN ;;
  statsd-hold) tcp_open $P_HOLD_ADMIN ;;
  otelcol) tcp_open $P_OTLP_GRPC && tcp_open $P_OTLP_HTTP ;;
  spotlight) http_ok "http://127.0.0.1:$P_SPOTLIGHT/health" ;;
  postgres) "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$P_POSTGRES" -t 2 ;;
  esac
}

start_server() {
  local name=$1 pidfile="$RUN/$1.pid"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    log "$name already running (pid $(cat "$pidfile"))"; return 0
  fi
  # setsid: its own session, so a Ctrl-C to the test does not reach it before we stop it.
  # shellcheck disable=SC2046
  setsid $(server_cmd "$name") >>"$RUN/$name.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  if ! wait_for "$name" 60 server_ready "$name"; then
    tail -20 "$RUN/$name.log" || true
    # A port is free when chosen, but something else may take it before the server binds it.
    if grep -qi 'address already in use' "$RUN/$name.log"; then
      die "$name: a port chosen for it was taken before it could bind it; run again"
    fi
    die "$name did not become ready"
  fi
  log "started $name (pid $(cat "$pidfile"))"
}

stop_server() {
  local name=$1 pidfile="$RUN/$1.pid" pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile"); rm -f "$pidfile"
  kill -0 "$pid" 2>/dev/null || return 0
  # PostgreSQL's TERM waits for every client to leave; INT is its fast shutdown.
  local sig=TERM
  [ "$name" != postgres ] || sig=INT
  kill -"$sig" "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 15))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  log "stopped $name (pid $pid)"
}

ALL_SERVERS=(carbon statsd-hold statsd otelcol spotlight pushgateway alertmanager prometheus postgres)

# PostgreSQL: the newest installed major version. It refuses to run as root, so as root it runs
# as the postgres user through setpriv, which execs it (the pid file then holds the server's
# own pid, which stop_server signals).
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
PG_AS=
if [ "$(id -u)" = 0 ]; then PG_AS="setpriv --reuid=postgres --regid=postgres --init-groups --"; fi

case "${1:-}" in
start | stop)
  RUN="${VIGIL_IT_RUN:-}"
  [ -n "$RUN" ] && [ -f "$RUN/ports.env" ] || die "$1 ${2:-NAME}: set VIGIL_IT_RUN to the directory of a running suite"
  # shellcheck disable=SC1091
  . "$RUN/ports.env"
  if [ "$1" = start ]; then start_server "$2"; else stop_server "$2"; fi
  exit 0 ;;
"" | serve) ;;
*) die "usage: $0 [serve] | VIGIL_IT_RUN=DIR $0 start|stop NAME" ;;
esac

T0=$SECONDS
declare -a TIMINGS=()
phase_start=$SECONDS
phase() { # phase NAME: close the previous phase's timing and open the next
  TIMINGS+=("$(printf '%-22s %4ss' "$PHASE" $((SECONDS - phase_start)))")
  PHASE=$1 phase_start=$SECONDS
  log "== $1"
}
PHASE=setup

# --- install ---------------------------------------------------------------------------------
phase "install packages"
mkdir -p "$WORK" "$BIN"
need=()
command -v prometheus >/dev/null || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null || need+=(prometheus-alertmanager)
command -v prometheus-pushgateway >/dev/null || need+=(prometheus-pushgateway)
command -v carbon-cache >/dev/null || need+=(graphite-carbon)
command -v curl >/dev/null || need+=(curl)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
[ -n "$PG_BIN" ] && [ -x "$PG_BIN/postgres" ] || need+=(postgresql)
if ((${#need[@]})); then
  [ "$(id -u)" = 0 ] || die "missing ${need[*]}: run as root or install them"
  log "apt-get install ${need[*]}"
  timeout 300 apt-get update -qq
  # The packages' postinst must not start the distribution's services (they would stay up on
  # the default ports): policy-rc.d answering 101 is Debian's switch for that. Set it only
  # for this install, and only where the machine has none of its own.
  own_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && own_policy=1
  fi
  # --no-install-recommends keeps it small.
  apt_rc=0
  DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends "${need[@]}" >"$WORK/apt.log" 2>&1 ||
    apt_rc=$?
  [ -z "$own_policy" ] || rm -f /usr/sbin/policy-rc.d
  ((apt_rc == 0)) || { tail -30 "$WORK/apt.log"; die "apt-get install failed"; }
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
fi
if [ ! -f "$WORK/statsd/node_modules/statsd/stats.js" ] ||
  ! grep -q "\"version\": \"$STATSD_VERSION\"" "$WORK/statsd/node_modules/statsd/package.json"; then
  log "npm install statsd@$STATSD_VERSION"
  # The optional deps (syslog, Windows service, proxy hashring) are not used and need compilers.
  timeout 300 npm install --prefix "$WORK/statsd" --omit=optional --no-audit --no-fund --loglevel=error \
    "statsd@$STATSD_VERSION"
fi
if [ ! -f "$WORK/spotlight/node_modules/@spotlightjs/spotlight/dist/server/cli.js" ] ||
  ! grep -q "\"version\": \"$SPOTLIGHT_VERSION\"" "$WORK/spotlight/node_modules/@spotlightjs/spotlight/package.json"; then
  log "npm install @spotlightjs/spotlight@$SPOTLIGHT_VERSION (hono $SPOTLIGHT_HONO)"
  mkdir -p "$WORK/spotlight"
  printf '{"private": true, "dependencies": {"@spotlightjs/spotlight": "%s"}, "overrides": {"hono": "%s"}}\n' \
    "$SPOTLIGHT_VERSION" "$SPOTLIGHT_HONO" >"$WORK/spotlight/package.json"
  timeout 300 npm install --prefix "$WORK/spotlight" --omit=optional --no-audit --no-fund --loglevel=error
fi
prometheus --version 2>&1 | head -1
prometheus-alertmanager --version 2>&1 | head -1
prometheus-pushgateway --version 2>&1 | head -1
"$PG_BIN/postgres" --version
log "statsd $(node -p "require('$WORK/statsd/node_modules/statsd/package.json').version"), node $(node --version)"

phase "build otelcol"
# Built aside and renamed into place: another run may be executing the one there.
(cd "$IT_DIR/otelcol" && timeout 900 go build -o "$BIN/otelcol.$$" .) && mv -f "$BIN/otelcol.$$" "$BIN/otelcol"
"$BIN/otelcol" --version

# --- configuration ---------------------------------------------------------------------------
phase "check deploy/"
promtool check config "$ROOT/deploy/prometheus.yml"
promtool check rules "$ROOT"/deploy/rules/*.yml
promtool test rules "$ROOT"/deploy/rules/tests/*.yml

phase "start servers"
RUN=$(mktemp -d "$WORK/run.XXXXXX")
mkdir -p "$RUN/rules" "$RUN/carbon/whisper" "$RUN/carbon/log" "$RUN/carbon/lists"
(cd "$ROOT" && go run ./integration/freeports "${PORTS[@]}") >"$RUN/ports.env" || die "no free ports"
# shellcheck disable=SC1091
. "$RUN/ports.env"
log "run directory $RUN; ports: $(tr '\n' ' ' <"$RUN/ports.env")"

cleanup() {
  local rc=$?
  set +e
  [ -z "${SLEEP_PID:-}" ] || kill "$SLEEP_PID" 2>/dev/null
  for ((i = ${#ALL_SERVERS[@]} - 1; i >= 0; i--)); do stop_server "${ALL_SERVERS[i]}"; done
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The deploy/ rules as shipped, with every `for:` cut to 5s so alerts fire within the run.
for f in "$ROOT"/deploy/rules/*.yml; do
  sed -E 's/^([[:space:]]*for:[[:space:]]*).*/\15s/' "$f" >"$RUN/rules/$(basename "$f")"
done

cat >"$RUN/prometheus.yml" <<EOF
# Generated by integration/run.sh: deploy/ rules, 1s scrapes and evaluation.
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ['$RUN/rules/*.yml']
alerting:
  alertmanagers:
    - static_configs: [{targets: ['127.0.0.1:$P_AM']}]
scrape_configs:
  - job_name: quickstart
    static_configs:
      # The second target never listens: the TargetDown alert must fire for it.
      - targets: ['127.0.0.1:$P_QUICKSTART', '127.0.0.1:$P_QUICKSTART_DOWN']
  - job_name: grpc
    static_configs: [{targets: ['127.0.0.1:$P_GRPC_METRICS']}]
  - job_name: pushgateway
    honor_labels: true
    static_configs: [{targets: ['127.0.0.1:$P_PUSH']}]
EOF

cat >"$RUN/alertmanager.yml" <<EOF
route:
  receiver: suite
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
receivers:
  - name: suite
EOF

cat >"$RUN/carbon/carbon.conf" <<EOF
[cache]
STORAGE_DIR = $RUN/carbon
LOCAL_DATA_DIR = $RUN/carbon/whisper
WHITELISTS_DIR = $RUN/carbon/lists
CONF_DIR = $RUN/carbon
LOG_DIR = $RUN/carbon/log
PID_DIR = $RUN/carbon
ENABLE_LOGROTATION = False
USER =
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = 10000
MAX_CREATES_PER_MINUTE = inf
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = $P_CARBON
ENABLE_UDP_LISTENER = False
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = $P_CARBON_PICKLE
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = $P_CARBON_QUERY
LOG_LISTENER_CONN_SUCCESS = False
LOG_UPDATES = False
LOG_CREATES = True
WHISPER_AUTOFLUSH = True
# Tagged series (name;k=v) are stored under _tagged/; no graphite-web to index them here.
ENABLE_TAGS = True
TAGDB_URL = http://127.0.0.1:1
EOF
cat >"$RUN/carbon/storage-schemas.conf" <<EOF
[everything]
pattern = .*
retentions = 1s:2h
EOF
cat >"$RUN/carbon/storage-aggregation.conf" <<EOF
[default]
pattern = .*
xFilesFactor = 0
aggregationMethod = sum
EOF

cat >"$RUN/statsd.js" <<EOF
{ address: "127.0.0.1", port: $P_STATSD,
  mgmt_address: "127.0.0.1", mgmt_port: $P_STATSD_ADMIN,
  // 2s: carbon keeps 1s points, so two flushes can never land on the same point.
  flushInterval: 2000,
  backends: ["./backends/graphite", "./backends/repeater"],
  graphiteHost: "127.0.0.1", graphitePort: $P_CARBON,
  graphite: { legacyNamespace: false },
  deleteIdleStats: true,
  repeater: [{ host: "127.0.0.1", port: $P_HOLD }],
  automaticConfigReload: false }
EOF
cat >"$RUN/statsd-hold.js" <<EOF
{ address: "127.0.0.1", port: $P_HOLD,
  mgmt_address: "127.0.0.1", mgmt_port: $P_HOLD_ADMIN,
  flushInterval: 3600000,
  backends: [],
  automaticConfigReload: false }
EOF

cat >"$RUN/otelcol.yaml" <<EOF
receivers:
  otlp:
    protocols:
      grpc: {endpoint: 127.0.0.1:$P_OTLP_GRPC}
      http: {endpoint: 127.0.0.1:$P_OTLP_HTTP}
exporters:
  debug: {verbosity: basic}
  file:
    path: $RUN/otel-traces.jsonl
    format: json
    flush_interval: 200ms
  file/metrics:
    path: $RUN/otel-metrics.jsonl
    format: json
    flush_interval: 200ms
  file/logs:
    path: $RUN/otel-logs.jsonl
    format: json
    flush_interval: 200ms
service:
  telemetry:
    metrics: {level: none}
    logs: {level: warn}
  pipelines:
    traces: {receivers: [otlp], exporters: [file, debug]}
    metrics: {receivers: [otlp], exporters: [file/metrics]}
    logs: {receivers: [otlp], exporters: [file/logs]}
EOF

# PostgreSQL's cluster, superuser vigil, trust authentication (it listens on loopback only). As
# root, the run directory is made traversable so the postgres user reaches its data directory.
if [ -n "$PG_AS" ]; then
  chmod 711 "$RUN"
  install -d -o postgres -g postgres -m 700 "$RUN/postgres"
else
  install -d -m 700 "$RUN/postgres"
fi
timeout 120 $PG_AS "$PG_BIN/initdb" -D "$RUN/postgres" -U vigil --auth=trust -E UTF8 --no-locale >"$RUN/initdb.log" 2>&1 ||
  { tail -20 "$RUN/initdb.log"; die "initdb failed"; }

for s in "${ALL_SERVERS[@]}"; do start_server "$s"; done

# --- the suite -------------------------------------------------------------------------------
if [ "${1:-}" = serve ]; then
  log "serving: Prometheus http://127.0.0.1:$P_PROM, Alertmanager http://127.0.0.1:$P_AM," \
    "Pushgateway http://127.0.0.1:$P_PUSH, StatsD udp 127.0.0.1:$P_STATSD (admin $P_STATSD_ADMIN)," \
    "OTLP 127.0.0.1:$P_OTLP_GRPC (gRPC) and :$P_OTLP_HTTP (HTTP), spans in $RUN/otel-traces.jsonl;" \
    "PostgreSQL postgres://vigil@127.0.0.1:$P_POSTGRES/postgres;" \
    "Prometheus scrapes 127.0.0.1:$P_QUICKSTART. Ctrl-C stops all;" \
    "VIGIL_IT_RUN=$RUN $0 stop|start NAME stops or starts one."
  sleep infinity &
  SLEEP_PID=$!
  wait "$SLEEP_PID" || true
  exit 0
fi
phase "go test"
export VIGIL_IT_CTL="$IT_DIR/run.sh" VIGIL_IT_RUN="$RUN"
export VIGIL_IT_PROMETHEUS="http://127.0.0.1:$P_PROM" VIGIL_IT_ALERTMANAGER="http://127.0.0.1:$P_AM"
export VIGIL_IT_PUSHGATEWAY="http://127.0.0.1:$P_PUSH"
export VIGIL_IT_STATSD="127.0.0.1:$P_STATSD" VIGIL_IT_STATSD_ADMIN="127.0.0.1:$P_STATSD_ADMIN"
export VIGIL_IT_STATSD_HOLD_ADMIN="127.0.0.1:$P_HOLD_ADMIN"
export VIGIL_IT_CARBON_DIR="$RUN/carbon/whisper"
export VIGIL_IT_OTLP_GRPC="127.0.0.1:$P_OTLP_GRPC" VIGIL_IT_OTLP_HTTP="127.0.0.1:$P_OTLP_HTTP"
export VIGIL_IT_OTEL_FILE="$RUN/otel-traces.jsonl"
export VIGIL_IT_QUICKSTART_ADDR="127.0.0.1:$P_QUICKSTART" VIGIL_IT_GRPC_METRICS_ADDR="127.0.0.1:$P_GRPC_METRICS"
export VIGIL_IT_SPOTLIGHT="http://127.0.0.1:$P_SPOTLIGHT"
export VIGIL_IT_POSTGRES_DSN="postgres://vigil@127.0.0.1:$P_POSTGRES/postgres?sslmode=disable"
rc=0
(cd "$ROOT" && go test -tags integration -count=1 -timeout "$TEST_TIMEOUT" -v ./integration/... 2>&1 |
  tee "$RUN/go-test.log") || rc=$?

phase "stop servers"
trap - EXIT
cleanup_rc=$rc
for ((i = ${#ALL_SERVERS[@]} - 1; i >= 0; i--)); do stop_server "${ALL_SERVERS[i]}"; done
phase done
echo
log "timings:"
printf '  %s\n' "${TIMINGS[@]:1}"
printf '  %-22s %4ss\n' total $((SECONDS - T0))
if ((cleanup_rc != 0)); then
  log "server logs are in $RUN"
  exit "$cleanup_rc"
fi
rm -rf "$RUN"
