package metrics

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vigil-go/vigil/internal/envtest"
)

// pushgateway is an httptest stand-in that records each push's method, path and body.
type pushgateway struct {
	mu     sync.Mutex
	pushes []string
	status int
}

func (p *pushgateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	p.mu.Lock()
	p.pushes = append(p.pushes, r.Method+" "+r.URL.Path+"\n"+string(body))
	status := p.status
	p.mu.Unlock()
	if status != 0 {
		w.WriteHeader(status)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (p *pushgateway) got() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.pushes...)
}

func TestPushgatewayPeriodicAndFinal(t *testing.T) {
	gw := &pushgateway{}
	srv := httptest.NewServer(gw)
	defer srv.Close()
	r, _ := newTestRegistry(t, Config{Push: PushConfig{URL: srv.URL, Job: "nightly", Interval: 30 * time.Millisecond,
		Grouping: map[string]string{"shard": "3"}}})
	c := must[*Counter](t)(r.Counter("rows_total", "Rows."))
	c.Add(10)
	deadline := time.Now().Add(2 * time.Second)
	for len(gw.got()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if len(gw.got()) == 0 {
		t.Fatal("no periodic push")
	}
	c.Add(32)
	if err := r.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	pushes := gw.got()
	last := pushes[len(pushes)-1]
	if !strings.HasPrefix(last, "PUT /metrics/job/nightly/shard/3\n") {
		t.Errorf("final push went to %q", strings.SplitN(last, "\n", 2)[0])
	}
	// The body is protobuf-delimited by default; the counter's name shows in it.
	if !strings.Contains(last, "rows_total") {
		t.Errorf("final push lacks rows_total")
	}
	n := len(pushes)
	time.Sleep(80 * time.Millisecond)
	if len(gw.got()) != n {
		t.Error("pushes continued after Shutdown")
	}
}

func TestPushgatewayFailuresCounted(t *testing.T) {
	gw := &pushgateway{status: http.StatusServiceUnavailable}
	srv := httptest.NewServer(gw)
	defer srv.Close()
	r, log := newTestRegistry(t, Config{Service: "batch", Push: PushConfig{URL: srv.URL, Interval: time.Hour}})
	err := r.Shutdown(context.Background())
	if err == nil || !strings.Contains(err.Error(), "metrics: final Pushgateway push failed: unexpected status code 503") {
		t.Fatalf("Shutdown err = %v, want the failed final push", err)
	}
	if got := gw.got(); len(got) != 1 || !strings.HasPrefix(got[0], "PUT /metrics/job/batch\n") {
		t.Fatalf("pushes = %q (job should default to Service)", got)
	}
	want := `
# HELP vigil_metrics_push_failures_total Pushes that failed, by target: pushgateway, graphite.
# TYPE vigil_metrics_push_failures_total counter
vigil_metrics_push_failures_total{target="pushgateway"} 1
`
	if err := testutil.GatherAndCompare(r.Prometheus(), strings.NewReader(want), "vigil_metrics_push_failures_total"); err != nil {
		t.Error(err)
	}
	if !strings.Contains(log.String(), "push failed") {
		t.Errorf("failure not logged: %s", log)
	}
}

func TestPushgatewayDeadShutdownHonoursDeadline(t *testing.T) {
	// A server that accepts and never answers.
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	defer srv.Close()
	defer close(hang)
	r, _ := newTestRegistry(t, Config{Service: "b", Push: PushConfig{URL: srv.URL, Interval: time.Hour}})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := r.Shutdown(ctx)
	// The push's own timeout is the interval, an hour: only the context can end this wait.
	if err == nil || time.Since(start) > 100*time.Millisecond+envtest.Blocked {
		t.Fatalf("Shutdown = %v after %v, want a deadline error at the 100ms deadline", err, time.Since(start))
	}
}

func TestGraphiteBridge(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 100)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			sc := bufio.NewScanner(conn)
			for sc.Scan() {
				got <- sc.Text()
			}
			conn.Close()
		}
	}()
	r, _ := newTestRegistry(t, Config{Graphite: GraphiteConfig{Addr: ln.Addr().String(), Prefix: "svc", Interval: time.Hour}})
	must[*Counter](t)(r.Counter("jobs_total", "", "queue")).With("mail").Add(3)
	if err := r.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(2 * time.Second)
	for {
		select {
		case l := <-got:
			if strings.HasPrefix(l, "svc.jobs_total.queue.mail 3 ") {
				return
			}
		case <-timeout:
			t.Fatal("no graphite line for jobs_total")
		}
	}
}
