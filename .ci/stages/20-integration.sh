#!/usr/bin/env bash
# The integration suite against real servers (Prometheus, Alertmanager, Pushgateway, StatsD with
# carbon, the OpenTelemetry Collector). run.sh installs what the machine lacks, starts and stops
# the servers itself, and prints the time each part took.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec bash integration/run.sh
