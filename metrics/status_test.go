package metrics

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock returns t0 plus one second per reading.
func fakeClock() func() time.Time {
	var mu sync.Mutex
	now := time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Second)
		return now
	}
}

func TestExportStatusNone(t *testing.T) {
	r, _ := newTestRegistry(t, Config{})
	if st := r.ExportStatus(); st != nil {
		t.Errorf("no backend: ExportStatus = %v, want nil", st)
	}
	if st := (*Registry)(nil).ExportStatus(); st != nil {
		t.Errorf("nil registry: ExportStatus = %v", st)
	}
}

func TestExportStatusStatsD(t *testing.T) {
	s := newStatsDServer(t)
	r := statsdRegistry(t, s, "dogstatsd", "", 1432)
	r.statsd.status.now = fakeClock() // only the test flushes: the interval is an hour
	if st := r.ExportStatus(); len(st) != 1 || st[0] != (ExportStatus{Name: "statsd"}) {
		t.Fatalf("before a flush: %+v", st)
	}
	must[*Counter](t)(r.Counter("c_total", "")).Inc()
	r.statsd.flush()
	if len(s.packets()) == 0 {
		t.Fatal("nothing sent")
	}
	st := r.ExportStatus()[0]
	if st.LastOK.IsZero() || st.LastError != "" || !st.LastErrorTime.IsZero() {
		t.Fatalf("after a good flush: %+v", st)
	}

	// The server goes away: a connected UDP socket learns it from ICMP, so a write
	// after the first fails with "connection refused".
	s.pc.Close()
	c := must[*Counter](t)(r.Counter("c_total", ""))
	for range 200 {
		c.Inc()
		r.statsd.flush()
		if r.ExportStatus()[0].LastError != "" {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	got := r.ExportStatus()[0]
	if !strings.HasPrefix(got.LastError, "metrics: StatsD send failed: ") || !strings.Contains(got.LastError, "refused") {
		t.Fatalf("LastError = %q", got.LastError)
	}
	// The first write after the close still goes out: LastOK may have moved once, but the
	// failure is the latest.
	if got.LastOK.Before(st.LastOK) || !got.LastErrorTime.After(got.LastOK) {
		t.Errorf("times: ok %v (was %v), error %v", got.LastOK, st.LastOK, got.LastErrorTime)
	}
}

func TestExportStatusStatsDUnresolved(t *testing.T) {
	r, _ := newTestRegistry(t, Config{StatsD: StatsDConfig{Addr: "statsd.invalid:8125", FlushInterval: time.Hour}})
	r.statsd.flush()
	st := r.ExportStatus()
	if len(st) != 1 || !st[0].LastOK.IsZero() || st[0].LastErrorTime.IsZero() ||
		!strings.HasPrefix(st[0].LastError, "metrics: StatsD server unreachable: ") {
		t.Fatalf("ExportStatus = %+v", st)
	}
}

// The Pushgateway's error quotes its URL and response body: the password of the URL
// never shows (it is sent as basic auth) and a secret in the body is scrubbed.
func TestExportStatusPushgateway(t *testing.T) {
	var mu sync.Mutex
	fail := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			http.Error(w, "rejected token=body-s3cret", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	u := strings.Replace(srv.URL, "http://", "http://ops:url-s3cret@", 1)
	r, _ := newTestRegistry(t, Config{Service: "batch", Push: PushConfig{URL: u, Interval: time.Hour}})
	r.pusher.status.now = fakeClock()
	if err := r.pusher.once(context.Background()); err == nil {
		t.Fatal("push to a failing gateway succeeded")
	}
	st := r.ExportStatus()
	if len(st) != 1 || st[0].Name != "pushgateway" || !st[0].LastOK.IsZero() || st[0].LastErrorTime.IsZero() {
		t.Fatalf("after a failure: %+v", st)
	}
	if e := st[0].LastError; !strings.Contains(e, "500") || strings.Contains(e, "s3cret") {
		t.Errorf("LastError = %q, want the status and no secret", e)
	}
	mu.Lock()
	fail = false
	mu.Unlock()
	if err := r.pusher.once(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := r.ExportStatus()[0]
	if !got.LastOK.After(got.LastErrorTime) || got.LastError != st[0].LastError {
		t.Errorf("after recovery: %+v", got)
	}
}

func TestExportStatusGraphite(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			sc := bufio.NewScanner(conn)
			for sc.Scan() {
			}
			conn.Close()
		}
	}()
	r, _ := newTestRegistry(t, Config{
		StatsD:   StatsDConfig{Addr: "127.0.0.1:9", FlushInterval: time.Hour},
		Graphite: GraphiteConfig{Addr: ln.Addr().String(), Interval: time.Hour}})
	must[*Counter](t)(r.Counter("jobs_total", "")).Inc()
	if err := r.graphite.once(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := r.ExportStatus()
	if len(st) != 2 || st[0].Name != "statsd" || st[1].Name != "graphite" {
		t.Fatalf("ExportStatus = %+v, want statsd then graphite", st)
	}
	if st[1].LastOK.IsZero() || st[1].LastError != "" {
		t.Errorf("graphite after a push: %+v", st[1])
	}
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := r.graphite.once(ctx); err == nil {
		t.Fatal("push to a closed port succeeded")
	}
	if got := r.ExportStatus()[1]; got.LastError == "" || got.LastErrorTime.IsZero() {
		t.Errorf("graphite after a failure: %+v", got)
	}
}
