package metrics

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// userFamilies defines one family of each kind in r, as a package would in its vars.
type userFamilies struct {
	plain    *Counter
	byRoute  *Counter
	kept     *Counter // a series bound before Forward and kept
	inflight *Gauge
	sizes    *Histogram
	jobs     *Timer
}

func defineUser(t *testing.T, r *Registry) userFamilies {
	t.Helper()
	u := userFamilies{
		plain:    must[*Counter](t)(r.Counter("jobs_total", "Jobs.")),
		byRoute:  must[*Counter](t)(r.Counter("requests_total", "Requests.", "route")),
		inflight: must[*Gauge](t)(r.Gauge("in_flight", "In flight.")),
		sizes:    must[*Histogram](t)(r.NewHistogram(Opts{Name: "size_bytes", Help: "Sizes.", Labels: []string{"route"}, Buckets: []float64{10, 100}})),
		jobs:     must[*Timer](t)(r.NewTimer(Opts{Name: "job_seconds", Help: "Job time.", Buckets: []float64{1}})),
	}
	u.kept = u.byRoute.With("/kept")
	if err := r.GaugeFunc("queue_len", "Queue.", func() float64 { return 7 }); err != nil {
		t.Fatal(err)
	}
	return u
}

// use records one of everything.
func (u userFamilies) use() {
	u.plain.Inc()
	u.byRoute.With("/a").Inc()
	u.kept.Add(2)
	u.inflight.Inc()
	u.sizes.With("/a").Observe(50)
	u.jobs.Observe(time.Second / 2)
}

func TestForwardMovesHandlesAndValues(t *testing.T) {
	const names = "jobs_total requests_total in_flight size_bytes job_seconds queue_len"
	src, _ := newTestRegistry(t, Config{})
	dst, _ := newTestRegistry(t, Config{})
	u := defineUser(t, src)
	u.use() // before Forward: recorded in src, moved to dst by Forward
	if err := src.Forward(dst, nil); err != nil {
		t.Fatal(err)
	}
	u.use()
	after := must[*Counter](t)(src.Counter("late_total", "Defined after Forward."))
	after.Inc()

	want := `
# HELP in_flight In flight.
# TYPE in_flight gauge
in_flight 2
# HELP job_seconds Job time.
# TYPE job_seconds histogram
job_seconds_bucket{le="1"} 2
job_seconds_bucket{le="+Inf"} 2
job_seconds_sum 1
job_seconds_count 2
# HELP jobs_total Jobs.
# TYPE jobs_total counter
jobs_total 2
# HELP late_total Defined after Forward.
# TYPE late_total counter
late_total 1
# HELP queue_len Queue.
# TYPE queue_len gauge
queue_len 7
# HELP requests_total Requests.
# TYPE requests_total counter
requests_total{route="/a"} 2
requests_total{route="/kept"} 4
# HELP size_bytes Sizes.
# TYPE size_bytes histogram
size_bytes_bucket{route="/a",le="10"} 0
size_bytes_bucket{route="/a",le="100"} 2
size_bytes_bucket{route="/a",le="+Inf"} 2
size_bytes_sum{route="/a"} 100
size_bytes_count{route="/a"} 2
`
	all := strings.Fields(names + " late_total")
	if err := testutil.GatherAndCompare(dst.Prometheus(), strings.NewReader(want), all...); err != nil {
		t.Errorf("destination after Forward: %v", err)
	}
	// src still exports its families, emptied of what moved.
	if got := src.fams["jobs_total"].handle.(*Counter).value(); got != 0 {
		t.Errorf("src jobs_total = %v after the move, want 0", got)
	}

	// Back: new observations go to src; a gauge's value follows its handle.
	if err := src.Forward(nil, nil); err != nil {
		t.Fatal(err)
	}
	u.inflight.Dec()
	u.plain.Inc()
	if got := u.inflight.value(); got != 1 {
		t.Errorf("in_flight back in src = %v, want 1 (2 carried back, then Dec)", got)
	}
	if got := u.plain.value(); got != 1 {
		t.Errorf("jobs_total back in src = %v, want 1 (the destination keeps what it counted)", got)
	}
	if got := must[*Counter](t)(dst.Counter("jobs_total", "Jobs.")).value(); got != 2 {
		t.Errorf("dst jobs_total = %v after Forward(nil), want 2", got)
	}
}

func TestForwardToAnotherDestination(t *testing.T) {
	src, _ := newTestRegistry(t, Config{})
	a, _ := newTestRegistry(t, Config{})
	b, _ := newTestRegistry(t, Config{})
	u := defineUser(t, src)
	for _, step := range []struct {
		to        *Registry
		wantA     float64 // jobs_total in a
		wantB     float64
		wantGauge float64 // in_flight where the handle records
	}{
		{to: a, wantA: 1, wantB: 0, wantGauge: 1},
		{to: b, wantA: 1, wantB: 1, wantGauge: 2},
		{to: a, wantA: 2, wantB: 1, wantGauge: 3},
		{to: nil, wantA: 2, wantB: 1, wantGauge: 4},
	} {
		if err := src.Forward(step.to, nil); err != nil {
			t.Fatal(err)
		}
		u.plain.Inc()
		u.inflight.Inc()
		ca := must[*Counter](t)(a.Counter("jobs_total", "Jobs."))
		cb := must[*Counter](t)(b.Counter("jobs_total", "Jobs."))
		if ca.value() != step.wantA || cb.value() != step.wantB {
			t.Errorf("forwarded to %p: a=%v b=%v, want %v %v", step.to, ca.value(), cb.value(), step.wantA, step.wantB)
		}
		g := u.inflight
		if to := g.redirect(); to != nil {
			g = to
		}
		if g.value() != step.wantGauge {
			t.Errorf("forwarded to %p: gauge %v, want %v", step.to, g.value(), step.wantGauge)
		}
	}
}

func TestForwardConflictSkipAndChains(t *testing.T) {
	src, _ := newTestRegistry(t, Config{})
	dst, log := newTestRegistry(t, Config{})
	other, _ := newTestRegistry(t, Config{})
	mine := must[*Counter](t)(src.Counter("clash", "", "a"))
	internal := must[*Counter](t)(src.Counter("internal_total", ""))
	must[*Gauge](t)(dst.Gauge("clash", "", "a"))

	err := src.Forward(dst, func(name string) bool { return name == "internal_total" })
	if err == nil || !strings.Contains(err.Error(), `"clash"`) {
		t.Fatalf("Forward over a conflicting definition: %v, want an error naming clash", err)
	}
	mine.With("x").Inc()
	internal.Inc()
	if mine.With("x").value() != 1 || internal.value() != 1 {
		t.Error("a conflicting or skipped family must keep recording in the source")
	}
	if slices.Contains(dst.Names(), "internal_total") {
		t.Error("a skipped family was defined in the destination")
	}
	_ = log

	if err := dst.Forward(other, nil); err == nil {
		t.Error("a destination was forwarded itself")
	}
	if err := other.Forward(src, nil); err == nil {
		t.Error("a forwarded registry became a destination")
	}
	if err := src.Forward(nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := dst.Forward(other, nil); err != nil {
		t.Errorf("after Forward(nil), dst is no destination any more: %v", err)
	}
}

// Forwarding while other goroutines record loses nothing: every increment ends up in
// exactly one of the two registries.
func TestForwardConcurrentNothingLost(t *testing.T) {
	src, _ := newTestRegistry(t, Config{})
	dst, _ := newTestRegistry(t, Config{})
	c := must[*Counter](t)(src.Counter("hits_total", "", "route"))
	const workers, per = 4, 5000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			route := []string{"/a", "/b", "/c", "/d"}[w]
			kept := c.With(route)
			for i := range per {
				if i%2 == 0 {
					kept.Inc()
				} else {
					c.With(route).Inc()
				}
			}
		})
	}
	for i := range 200 {
		to := dst
		if i%2 == 1 {
			to = nil
		}
		if err := src.Forward(to, nil); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	var total float64
	for _, r := range []*Registry{src, dst} {
		f := must[*Counter](t)(r.Counter("hits_total", "", "route"))
		for _, n := range f.vec.series() {
			total += n.val.value()
		}
	}
	if total != workers*per {
		t.Errorf("counted %v increments across both registries, want %d", total, workers*per)
	}
}

func TestForwardReachesDestinationStatsD(t *testing.T) {
	s := newStatsDServer(t)
	src, _ := newTestRegistry(t, Config{})
	dst := statsdRegistry(t, s, "dogstatsd", "", 0)
	c := must[*Counter](t)(src.Counter("jobs_total", ""))
	c.Inc()
	if err := src.Forward(dst, nil); err != nil {
		t.Fatal(err)
	}
	c.Add(2)
	dst.statsd.flush()
	if got := lines(s.packets()); !slices.Equal(got, []string{"jobs_total:3|c"}) {
		t.Errorf("StatsD lines %q, want the moved and the new increments as one counter line", got)
	}
}
