// Package health answers liveness and readiness probes with checks that mean something.
//
// A Checker holds named checks, each a func(ctx) error with a timeout:
//
//	hc := health.New(health.Config{Registry: reg})
//	hc.Add("postgres", health.DB(db))
//	hc.Add("cache", func(ctx context.Context) error { return rdb.Ping(ctx).Err() }, health.Timeout(500*time.Millisecond))
//	mux.Handle("GET /livez", hc.LivezHandler())
//	mux.Handle("GET /readyz", hc.ReadyzHandler())
//
// /livez says the process is alive and runs no check: a database outage is a reason to
// take a pod out of the load balancer, never to restart it. /readyz runs the checks and
// answers 200 when all pass, 503 when one fails, with the report as JSON:
//
//	{"status":"fail","checks":[{"name":"postgres","status":"fail","latency_ms":2000.4,
//	  "error":"timed out after 2s","since":"2026-12-02T14:03:05.1Z","checked_at":"2026-12-02T14:03:07.2Z"}]}
//
// # Protecting the dependencies
//
// Probes come from every kubelet, load balancer and curious colleague, and a probe that
// runs a query each time can add up to a load of its own. A Checker therefore runs its
// checks at most once per Config.Interval (1s by default): a run's results answer every
// probe until the interval has passed, and probes that arrive while a run is in progress
// wait for that run instead of starting another. A thousand concurrent probes cost each
// dependency one check.
//
// The checks of one run start together and share one deadline, Config.Timeout (2s by
// default), so a run takes as long as its slowest check, never the sum. A check that
// ignores its context and hangs is reported as timed out at its deadline all the same;
// it is not started again until it returns, so a hung dependency holds one goroutine,
// not one per probe. A check that panics fails; the panic does not reach the program.
//
// # What the report shows
//
// Each check's result has its status, its latency, when it entered that status and when
// it last ran, and its error text, passed through vigil's secret policy (a password in
// a DSN, a token in a URL, a bearer credential are redacted) and cut to 1 KiB. The same
// text, once, goes to the log when a check starts failing, and a line follows when it
// passes again; a check failing on every probe for an hour logs one line. With a
// metrics Registry, vigil_health_check_up{check} and
// vigil_health_check_latency_seconds{check} chart the same history. The gauges and the
// state are updated by the runs, which the probes drive.
//
// # Starting and stopping
//
// SetPhase tells readiness about the program's lifecycle: in the Starting phase the
// checks run but the report says "starting" with 503, and in the Stopping phase no check
// runs and the report says "stopping" with 503, so the load balancer drains the
// instance while it finishes its requests. package observe sets the phase from Init and
// Shutdown.
package health
