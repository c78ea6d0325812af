//go:build integration

package integration

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// steadyOrders sends n GET /orders/{id} at 10 per second, one of them with traceID, and fails
// the test for any answer other than 200 or slower than a second.
func (s *suite) steadyOrders(t *testing.T, n int, traceID string) {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []string
	tick := time.NewTicker(tickEvery)
	defer tick.Stop()
	for i := range n {
		trace := ""
		if i == n/2 {
			trace = traceID
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			code, err := getStatus(fmt.Sprintf("http://%s/orders/%d", s.quickstartAddr, 5000+i), trace)
			if d := time.Since(start); err != nil || code != 200 || d > time.Second {
				mu.Lock()
				errs = append(errs, fmt.Sprintf("request %d: %d %v in %v", i, code, err, d))
				mu.Unlock()
			}
		}()
		<-tick.C
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Errorf("%d of %d requests failed or were slow: %s", len(errs), n, strings.Join(errs[:min(len(errs), 5)], "; "))
	}
}

// metricsReceived is the count of metric lines a StatsD daemon has parsed since it started.
func metricsReceived(admin string) (float64, error) {
	counters, err := statsdNumbers(admin, "counters")
	if err != nil {
		return 0, err
	}
	v, ok := counters["statsd.metrics_received"]
	if !ok {
		return 0, fmt.Errorf("statsd %s has no statsd.metrics_received counter", admin)
	}
	return v, nil
}

// droppedTotal sums every vigil_*_dropped_total the quick start exposes.
func (s *suite) droppedTotal() (float64, error) {
	got, err := s.query(fmt.Sprintf(`sum({__name__=~"vigil_.+_dropped_total", instance=%q})`, s.quickstartAddr), time.Time{})
	if err != nil || len(got) == 0 {
		return 0, fmt.Errorf("no vigil_*_dropped_total series in Prometheus: %v %v", got, err)
	}
	return got[0].Value, nil
}

// testFaultSurvival stops the collector and StatsD while the service is under traffic: every
// request is still answered promptly, the telemetry it could not deliver is counted as dropped
// (and VigilTelemetryDropped fires), and after both servers restart, spans and StatsD samples
// flow again without restarting the service.
func (s *suite) testFaultSurvival(t *testing.T) {
	dropped0, err := s.droppedTotal()
	if err != nil {
		t.Fatal(err)
	}

	s.ctl(t, "stop", "otelcol")
	s.ctl(t, "stop", "statsd")
	outage := time.Now()
	const duringOutage, afterRestart = 100, 50
	s.steadyOrders(t, duringOutage, traceOutage)
	t.Logf("%d requests answered with the collector and StatsD down (%v)", duringOutage, time.Since(outage).Round(time.Millisecond))

	eventually(t, 30*time.Second, func() error {
		d, err := s.droppedTotal()
		if err != nil {
			return err
		}
		if d <= dropped0 {
			return fmt.Errorf("vigil_*_dropped_total stayed at %v with both backends down", d)
		}
		return nil
	})
	s.waitAlert(t, 60*time.Second, map[string]string{"alertname": "VigilTelemetryDropped", "job": quickstartJob})

	// The front StatsD was down, so the hold one (which it repeats to) heard nothing since.
	before, err := metricsReceived(s.statsdHoldAdmin)
	if err != nil {
		t.Fatal(err)
	}
	s.ctl(t, "start", "statsd")
	s.ctl(t, "start", "otelcol")
	s.steadyOrders(t, afterRestart, traceRecovery)

	eventually(t, 45*time.Second, func() error {
		spans, err := readSpans(s.otelFile)
		if err != nil {
			return err
		}
		for _, sp := range spans {
			if sp.TraceID == traceRecovery {
				return nil
			}
		}
		return fmt.Errorf("no span of trace %s since the collector restarted", traceRecovery)
	})
	eventually(t, 30*time.Second, func() error {
		after, err := metricsReceived(s.statsdHoldAdmin)
		if err != nil {
			return err
		}
		// Each request yields at least its duration sample.
		if after-before < afterRestart {
			return fmt.Errorf("StatsD received %v metric lines since the restart, want at least one per request (%d)", after-before, afterRestart)
		}
		return nil
	})
	if code, err := getStatus("http://"+s.quickstartAddr+"/orders/1", ""); err != nil || code != 200 {
		t.Errorf("quick start after the faults: %d %v", code, err)
	}
}
