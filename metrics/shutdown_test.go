package metrics

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// burst defines, in a registry, what a short-lived job leaves behind: 5,000 distinct
// timer samples (10 series of 500), 200 counters and 50 gauges. The timers are defined
// first, so a flush in definition order would send them first.
func burst(t *testing.T, r *Registry) {
	tm := must[*Timer](t)(r.Timer("job_step_seconds", "", "step"))
	for s := range 10 {
		st := tm.With("s" + strconv.Itoa(s))
		for i := range 500 {
			st.Observe(time.Duration(s*1000+i+1) * time.Microsecond)
		}
	}
	c := must[*Counter](t)(r.Counter("job_items_total", "", "kind"))
	for i := range 200 {
		c.With("k" + strconv.Itoa(i)).Add(float64(i + 1))
	}
	g := must[*Gauge](t)(r.Gauge("job_queue_depth", "", "queue"))
	for i := range 50 {
		g.With("q" + strconv.Itoa(i)).Set(float64(i + 1))
	}
}

// countKinds counts received lines by StatsD type.
func countKinds(packets []string) (counters, gauges, timers int) {
	for _, l := range lines(packets) {
		switch {
		case strings.Contains(l, "|c"):
			counters++
		case strings.Contains(l, "|g"):
			gauges++
		case strings.Contains(l, "|ms"), strings.Contains(l, "|h"):
			timers++
		}
	}
	return
}

// A receiver with a small socket buffer that does not read during the final flush (the
// worst case of a busy one) keeps what arrived first: every counter and gauge must be
// among it.
func TestStatsDFinalFlushSendsAggregatedSeriesFirst(t *testing.T) {
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetReadBuffer(64 << 10); err != nil {
		t.Fatal(err)
	}
	s := &statsdServer{t: t, pc: pc}
	t.Cleanup(func() { pc.Close() })
	r, _ := newTestRegistry(t, Config{StatsD: StatsDConfig{Addr: s.addr(), FlushInterval: time.Hour, OneValuePerLine: true}})
	burst(t, r)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	counters, gauges, timers := countKinds(s.packets())
	t.Logf("received %d counters, %d gauges, %d of 5000 timer samples", counters, gauges, timers)
	if counters != 200 || gauges != 50 {
		t.Errorf("received %d counters and %d gauges, want 200 and 50", counters, gauges)
	}
}

// The final flush paces itself and stops at the deadline: what it could not send is
// named in Shutdown's error, and the aggregated series went out before the samples.
func TestStatsDFinalFlushPacedWithinDeadline(t *testing.T) {
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetReadBuffer(4 << 20); err != nil {
		t.Fatal(err)
	}
	s := &statsdServer{t: t, pc: pc}
	t.Cleanup(func() { pc.Close() })
	tests := []struct {
		name    string
		pause   time.Duration // each pacing pause, in synctest time
		want    string        // Shutdown's error; "" means nil
		timers  int           // timer lines that arrive
		pauses  int
		elapsed time.Duration
	}{
		// 5,000 timer lines fill 5 paces of 32 KiB; 250 aggregated lines come first.
		{name: "fast enough", pause: time.Millisecond, timers: 5000, pauses: 5, elapsed: 5 * time.Millisecond},
		{
			name: "deadline cuts the samples", pause: 100 * time.Millisecond,
			want:   "metrics: 2159 StatsD lines not sent: 2159 still unsent when the deadline passed",
			timers: 2841, pauses: 3, elapsed: 270 * time.Millisecond,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// One value per line: the bytes of 5,000 lines, enough to need pacing.
				r, _ := newTestRegistry(t, Config{StatsD: StatsDConfig{Addr: s.addr(), FlushInterval: time.Hour, OneValuePerLine: true}})
				var pauses atomic.Int32
				r.statsd.pause = func(ctx context.Context, d time.Duration) bool {
					pauses.Add(1)
					return pause(ctx, tt.pause)
				}
				burst(t, r)
				ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
				defer cancel()
				start := time.Now()
				err := r.Shutdown(ctx)
				elapsed := time.Since(start)
				if (err == nil) != (tt.want == "") || err != nil && err.Error() != tt.want {
					t.Errorf("Shutdown = %v, want %q", err, tt.want)
				}
				if tt.want != "" && !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("errors.Is(%v, context.DeadlineExceeded) = false", err)
				}
				if int(pauses.Load()) != tt.pauses || elapsed != tt.elapsed {
					t.Errorf("%d pauses in %v, want %d in %v", pauses.Load(), elapsed, tt.pauses, tt.elapsed)
				}
			})
			counters, gauges, timers := countKinds(s.packets())
			if counters != 200 || gauges != 50 || timers != tt.timers {
				t.Errorf("received %d counters, %d gauges, %d timers; want 200, 50, %d", counters, gauges, timers, tt.timers)
			}
		})
	}
}

// A Pushgateway that never answers: Shutdown returns at its deadline, names the failed
// final push, and quotes neither the password nor more than a bounded body.
func TestPushgatewayFinalPushLoss(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    []string // substrings of the error, in order
		maxLen  int
	}{
		{
			name: "hung",
			handler: func(w http.ResponseWriter, r *http.Request) {
				// Read the body first: only then does the server notice the client leaving.
				_, _ = io.Copy(io.Discard, r.Body)
				<-r.Context().Done()
			},
			want: []string{"metrics: final Pushgateway push failed: ", "/metrics/job/batch", "context deadline exceeded"},
		},
		{
			name: "huge error body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.WriteHeader(http.StatusBadGateway)
				chunk := strings.Repeat("x", 64<<10)
				for range 64 { // 4 MiB
					if _, err := io.WriteString(w, chunk); err != nil {
						return
					}
				}
			},
			want:   []string{"metrics: final Pushgateway push failed: unexpected status code 502 while pushing to http://", "/metrics/job/batch: xxx"},
			maxLen: 64<<10 + 200,
		},
		{
			name: "ok",
			handler: func(w http.ResponseWriter, r *http.Request) {
				if u, p, ok := r.BasicAuth(); !ok || u != "ops" || p != "s3cret-pw" {
					w.WriteHeader(http.StatusUnauthorized)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			u := strings.Replace(srv.URL, "http://", "http://ops:s3cret-pw@", 1)
			r, log := newTestRegistry(t, Config{Service: "batch", Push: PushConfig{URL: u, Interval: time.Hour}})
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := r.Shutdown(ctx)
			t.Logf("Shutdown took %v: %.200v", time.Since(start).Round(time.Millisecond), err)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Shutdown = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Shutdown = nil")
			}
			msg := err.Error()
			rest := msg
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("error %.300q lacks %q", msg, w)
				}
				rest = rest[i+len(w):]
			}
			if tt.maxLen > 0 && len(msg) > tt.maxLen {
				t.Errorf("error is %d bytes, want at most %d", len(msg), tt.maxLen)
			}
			if strings.Contains(msg, "s3cret") || strings.Contains(log.String(), "s3cret") {
				t.Error("the password leaked into the error or the log")
			}
		})
	}
}

func TestGraphiteFinalPushLoss(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: connection refused
	r, _ := newTestRegistry(t, Config{Graphite: GraphiteConfig{Addr: addr, Interval: time.Hour}})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err = r.Shutdown(ctx)
	want := "metrics: final Graphite push failed: dial tcp " + addr + ": connect: connection refused"
	if err == nil || err.Error() != want {
		t.Errorf("Shutdown = %v\nwant %s", err, want)
	}
}
