package dbsql

import (
	"database/sql"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-go/vigil/internal/limits"
)

// Pool metric names, after OpenTelemetry's db.client.connection.* conventions in
// Prometheus form; each series has the db_client_connection_pool_name label.
const (
	MetricConnections      = "db_client_connection_count"                   // gauge, by db_client_connection_state: idle, used
	MetricConnectionsMax   = "db_client_connection_max"                     // gauge: SetMaxOpenConns, 0 for no limit
	MetricConnectionWaits  = "db_client_connection_waits_total"             // counter: requests that waited for a connection
	MetricConnectionWait   = "db_client_connection_wait_time_seconds_total" // counter: the time they waited
	MetricConnectionClosed = "db_client_connection_closed_total"            // counter, by reason: max_idle, max_idle_time, max_lifetime
)

const labelPool = "db_client_connection_pool_name"

// poolCollector reads one pool's sql.DBStats at each scrape.
type poolCollector struct {
	db                              *sql.DB
	count, max, waits, wait, closed *prometheus.Desc
}

func newPoolCollector(db *sql.DB, name string) *poolCollector {
	pool := prometheus.Labels{labelPool: name}
	return &poolCollector{
		db: db,
		count: prometheus.NewDesc(MetricConnections, "Connections in the pool, by state (idle, used).",
			[]string{"db_client_connection_state"}, pool),
		max: prometheus.NewDesc(MetricConnectionsMax, "The most connections the pool may open (0: no limit).",
			nil, pool),
		waits: prometheus.NewDesc(MetricConnectionWaits, "Requests for a connection that had to wait for one.",
			nil, pool),
		wait: prometheus.NewDesc(MetricConnectionWait, "Time spent waiting for a connection from the pool.",
			nil, pool),
		closed: prometheus.NewDesc(MetricConnectionClosed, "Connections the pool closed, by reason (max_idle, max_idle_time, max_lifetime).",
			[]string{"reason"}, pool),
	}
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.count
	ch <- c.max
	ch <- c.waits
	ch <- c.wait
	ch <- c.closed
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.db.Stats()
	ch <- prometheus.MustNewConstMetric(c.count, prometheus.GaugeValue, float64(s.Idle), "idle")
	ch <- prometheus.MustNewConstMetric(c.count, prometheus.GaugeValue, float64(s.InUse), "used")
	ch <- prometheus.MustNewConstMetric(c.max, prometheus.GaugeValue, float64(s.MaxOpenConnections))
	ch <- prometheus.MustNewConstMetric(c.waits, prometheus.CounterValue, float64(s.WaitCount))
	ch <- prometheus.MustNewConstMetric(c.wait, prometheus.CounterValue, s.WaitDuration.Seconds())
	ch <- prometheus.MustNewConstMetric(c.closed, prometheus.CounterValue, float64(s.MaxIdleClosed), "max_idle")
	ch <- prometheus.MustNewConstMetric(c.closed, prometheus.CounterValue, float64(s.MaxIdleTimeClosed), "max_idle_time")
	ch <- prometheus.MustNewConstMetric(c.closed, prometheus.CounterValue, float64(s.MaxLifetimeClosed), "max_lifetime")
}

// Watch exposes db's pool statistics (sql.DBStats) under name, read at each scrape of
// the Registry, until unwatch is called. Watching another pool under a name in use
// replaces that one, so a program that reopens its database watches it again as is.
// Without a Registry, Watch does nothing.
func (in *Instrumentation) Watch(db *sql.DB, name string) (unwatch func()) {
	if in.reg == nil || db == nil {
		return func() {}
	}
	name = limits.Truncate(name, limits.LabelValue)
	c := newPoolCollector(db, name)
	reg := in.reg.Prometheus()
	in.poolMu.Lock()
	defer in.poolMu.Unlock()
	if in.pools == nil {
		in.pools = map[string]*poolCollector{}
	}
	if old := in.pools[name]; old != nil {
		reg.Unregister(old)
	}
	if err := reg.Register(c); err != nil {
		if in.logger != nil {
			in.logger.Error("vigil: database pool metrics not registered", slog.String(labelPool, name), slog.Any("error", err))
		}
		delete(in.pools, name)
		return func() {}
	}
	in.pools[name] = c
	return func() {
		in.poolMu.Lock()
		defer in.poolMu.Unlock()
		if in.pools[name] == c {
			reg.Unregister(c)
			delete(in.pools, name)
		}
	}
}
