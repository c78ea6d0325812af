// Package metrics is a Registry of counters, gauges, histograms and timers exposed to
// Prometheus and, when configured, sent to StatsD, a Pushgateway or Graphite.
//
// # Families and series
//
// A family is defined once, by name, help and label names:
//
//	requests, err := reg.Counter("http_server_requests_total", "Requests.", "route", "code")
//
// With binds one series by its label values and returns the same type, so a bound
// series is kept (per route, per method) and used directly; its operations are an atomic
// add and allocate nothing. A family without labels is its own series. With itself
// allocates nothing for an existing series: the values are hashed and looked up in a
// read-mostly map behind an atomic pointer (no lock), then compared.
//
// Defining the same name, kind and labels again returns the same family, so packages may
// define what they use without coordinating; a different kind, labels or buckets is an
// error at definition time. Nothing on a hot path panics: a wrong number of label values
// (or using a labelled family without With) goes to a series that is not exported, is
// counted in vigil_metrics_label_errors_total and is logged once per family; a NaN or a
// negative counter increment is counted in vigil_metrics_invalid_values_total.
//
// # Bounded memory
//
// Each family holds at most Config.SeriesLimit series (2000, like the OpenTelemetry SDK's
// cardinality limit). Beyond it, new label values share one overflow series whose every
// label value is "_overflow", and vigil_metrics_overflow_total counts the lookups routed
// there. vigil_metrics_series shows each family's size.
//
// Label values are bounded in length too: a value over 256 bytes (limits.LabelValue in
// vigil's internal/limits, which documents every bound) is cut at a UTF-8 boundary and
// ends in "…" before it is looked up, so it names the same series every time and the
// same text reaches Prometheus and StatsD. Values that agree in their first 253 bytes
// share a series. A client's 64 KiB header copied into a label therefore costs about
// 300 bytes per exposition line: 1,000 such values in a counter make a /metrics of about
// 0.3 MB (before the bound, 64 MB; in a histogram, 4 MB rather than 900 MB).
//
// # Forwarding
//
// Registry.Forward makes every handle of one registry record into the matching family of
// another, handles already handed out included (package-level variables, series kept
// from With); it costs one atomic load per operation. observe uses it so that metrics
// defined before Init are exported by the Observer Init builds.
//
// # Exposition
//
// Registry.Handler serves the Prometheus text format, or OpenMetrics when the scraper
// asks. Histogram.ObserveContext and Timer.ObserveContext record the trace and span id of
// a sampled OpenTelemetry span in the context as the exemplar of the observation's
// bucket, so a latency spike leads to a trace.
//
// # Collectors
//
// The Go runtime and process collectors of client_golang, and a host collector reading
// Linux's /proc through github.com/prometheus/procfs and the cgroup filesystem, named
// after the OpenTelemetry conventions. What it reports depends on where the process runs:
//
//   - On a host (or a VM, or a systemd unit): the machine's figures,
//     system_cpu_time_seconds_total{cpu_mode}, system_cpu_logical_count,
//     system_cpu_load_average_{1m,5m,15m}, system_memory_usage_bytes{system_memory_state}
//     and system_memory_limit_bytes.
//   - In a container under cgroup v2 (Docker, Kubernetes, Podman): the container's own,
//     from its cgroup: container_cpu_time_seconds_total{cpu_mode} (cpu.stat),
//     container_cpu_limit in CPUs (cpu.max), container_memory_usage_bytes
//     (memory.current) and container_memory_limit_bytes (memory.max), the limits absent
//     when there are none. The node's CPU, load and memory are not reported: every
//     replica would repeat them. A cgroup is a container's when its path names a
//     container runtime, or when it is "/" (a cgroup namespace) and holds cpu.max or
//     memory.max, which a host's root cgroup never has.
//   - In a container under cgroup v1, which is not read: no CPU or memory series (the
//     node's would be wrong), and a warning once.
//
// Everywhere: system_network_{io_bytes,packets,errors,dropped}_total{network_interface_name,
// network_io_direction}, from the process's network namespace (in a container, its own
// interfaces), and system_filesystem_usage_bytes{...,system_filesystem_state} and
// system_filesystem_limit_bytes for whole local filesystems only (ext4, xfs, btrfs, zfs
// and the like, mounted at their root): network filesystems and FUSE, whose statfs can
// hang on a dead server, kernel views, tmpfs (memory), overlay (a container's root,
// showing the node's disk) and bind mounts of a directory or file (Kubernetes'
// /etc/hosts, hostPath and emptyDir volumes, also the node's disk) are left out.
//
// A scrape never waits on the host collector for more than a second: each step (cpu,
// memory, mounts, network, and one statfs per mount) runs in its own goroutine, and one
// that has not returned by then is left out of that scrape and counted in
// vigil_metrics_host_steps_skipped_total{step}. A step still running is not started
// again by the next scrape, so a hung mount holds one goroutine, not one per scrape.
// Each collector can be switched off (Config.DisableHostCollector).
//
// # StatsD
//
// With StatsD.Addr set, every family is also sent from one background goroutine, so the
// caller never touches the network: resolving and dialing happen there too, retried at
// each flush, and what cannot be sent is counted in
// vigil_metrics_statsd_dropped_total{reason}. The address is host:port or
// udp://host:port (UDP), or a Unix domain socket: unixgram:///path (datagram),
// unixstream:///path (stream, each packet after its 32-bit little-endian length, as
// DogStatsD frames them) or unix:///path (datagram, or stream if the socket is one), the
// forms of Datadog's DD_DOGSTATSD_URL. Packets are at most StatsD.MaxPacketSize bytes:
// 1432 over UDP, 8192 over a Unix socket by default.
//
// Per flush interval, a counter is sent as its increase ("|c"), read from the same atomic
// the Prometheus side uses, so turning StatsD on adds nothing to Counter.Inc; a gauge is
// sent with its last value ("|g") when it changed (and every tenth flush regardless).
// Histogram and timer observations are sent as samples, because percentiles are the
// server's job, and the unit is in the name: a duration (a Timer, or a Histogram named
// *_seconds) goes out in milliseconds as "|ms" under its name with _seconds replaced by
// _ms (http_server_request_duration_seconds becomes http_server_request_duration_ms);
// another histogram (body sizes in bytes) is "|h" in DogStatsD and influx and never
// "|ms"; the graphite and plain dialects, read by the Etsy daemon, which has no histogram
// type, get its count and sum as name_count and name_sum counters. With
// StatsD.Distributions, DogStatsD samples are distributions ("|d"), aggregated by
// Datadog across hosts. The samples of a series in a flush share lines up to the packet
// size: "name:1:2:3|ms|#tags" in DogStatsD (protocol v1.1, Datadog Agent 6.25/7.25 and
// later), "name:1|ms:2|ms:3|ms" in the others (the Etsy daemon and Telegraf read it);
// StatsD.OneValuePerLine sends one per line for servers that read DogStatsD tags but not
// v1.1. Above 1024 observations per series and flush they are reservoir-sampled and sent
// with "|@rate", keeping the server's counts right and memory bounded. An infinite or NaN
// value is never sent (no server parses it): it is counted as dropped, reason
// "non_finite".
//
// Four dialects: dogstatsd (name:1|c|#k:v,k:v), influx (name,k=v:1|c, Telegraf),
// graphite (name;k=v:1|c) and plain, where the label values are folded into the name
// (name.v1.v2:1|c), so an HTTP status class label becomes a chartable name segment.
// Every line of the tagged dialects carries the unified service tags service, env and
// version (Config.Service, Environment and Version; empty ones are left out, and a
// family's own label of the same name wins). Names keep only [A-Za-z0-9_-]; tag values
// lose every byte that is syntax in some dialect (':', '|', '@', ',', '#', '=', ';',
// space, quotes, control bytes), so no label value can inject a line or a tag; Telegraf
// splits influx tags without unescaping, so they are replaced, not escaped. Graphite
// tag values keep only [A-Za-z0-9_.-], since carbon stores them in paths and globs
// match them ("/orders/{id}" becomes "_orders__id_").
//
// Why not a client library: datadog-go aggregates but speaks only DogStatsD; the
// alexcesaro family and go-kit speak DogStatsD and Influx (go-kit also Graphite paths) but
// do not aggregate, and all of them format the name and tags on every call. A family here
// encodes each series' name and tags once, when the series is created, and aggregates in
// the series' own atomics, which no per-call client API can match; the encoder left to
// write is a few hundred lines (statsd_encode.go).
//
// # Push
//
// For batch jobs, Push.URL sends the whole registry to a Prometheus Pushgateway every
// Push.Interval and once more at Shutdown (client_golang's push package, PUT, so the
// group holds the job's last state). Graphite.Addr does the same in Graphite's plaintext
// protocol through client_golang's graphite bridge. Failures are counted in
// vigil_metrics_push_failures_total{target} and logged when the state changes.
//
// # Configuration
//
// Config holds plain values: the package reads no environment variable (package observe
// maps the VIGIL_* variables, and Datadog's DD_* ones below them, onto the fields, with
// ParseStatsDFormat, ParseStatsDAddr, AgentAddr, ParseAddr and ParsePushURL). Zero
// fields take the defaults; an invalid value is an error from New naming the field and
// the value.
package metrics
