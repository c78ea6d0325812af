// Package integration tests vigil against the real servers its users run: Prometheus and its
// rule evaluation into Alertmanager, the Pushgateway, the Etsy StatsD daemon with its Graphite
// backend into carbon, and the OpenTelemetry Collector over OTLP gRPC and HTTP. Sentry is the one
// stand-in: a local server that decodes the envelope wire format.
//
// The tests are behind the `integration` build tag so `go test ./...` stays fast and needs no
// servers. integration/run.sh installs the servers (Debian packages, the npm statsd package, a
// collector built from the nested module integration/otelcol), starts each on loopback ports
// chosen free when the run starts (so two runs on one host cannot collide), runs
//
//	go test -tags integration ./integration/...
//
// with VIGIL_IT_* variables naming the servers, and stops them all on exit. The tests build and
// start examples/quickstart and examples/batch, drive a known mix of traffic, and then ask each
// server, through its own API, whether it saw what that traffic implies. The last test stops the
// collector and StatsD mid-run, checks that the service keeps answering, restarts them and checks
// that telemetry flows again.
package integration
