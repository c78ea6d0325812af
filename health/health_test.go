package health_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vigil-go/vigil/health"
	"github.com/vigil-go/vigil/metrics"
)

// logBuffer is a JSON log destination safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines returns the log lines as maps.
func (b *logBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func newChecker(cfg health.Config) (*health.Checker, *logBuffer) {
	var log logBuffer
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewJSONHandler(&log, nil))
	}
	return health.New(cfg), &log
}

// probe serves one request and decodes the body (nil for an empty one).
func probe(t *testing.T, h http.Handler, method string) (int, *health.Report, http.Header) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, "/readyz", nil))
	if w.Body.Len() == 0 {
		return w.Code, nil, w.Header()
	}
	var r health.Report
	if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil {
		t.Fatalf("body %q: %v", w.Body.String(), err)
	}
	return w.Code, &r, w.Header()
}

// TestReadyzFailAndBack: a failing check turns /readyz to 503 with its error, and back
// to 200 once it passes and the interval has passed; since follows the changes.
func TestReadyzFailAndBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var down atomic.Bool
		hc, _ := newChecker(health.Config{})
		must(t, hc.Add("db", func(context.Context) error {
			if down.Load() {
				return errors.New("connection refused")
			}
			return nil
		}))
		must(t, hc.Add("cache", func(context.Context) error { return nil }))
		h := hc.ReadyzHandler()
		t0 := time.Now()

		steps := []struct {
			down     bool
			wait     time.Duration
			code     int
			status   health.Status
			dbStatus health.Status
			dbErr    string
			dbSince  time.Duration // after t0
		}{
			{down: false, code: 200, status: "ok", dbStatus: "ok", dbSince: 0},
			{down: true, wait: health.DefaultInterval, code: 503, status: "fail", dbStatus: "fail", dbErr: "connection refused", dbSince: time.Second},
			{down: true, wait: health.DefaultInterval, code: 503, status: "fail", dbStatus: "fail", dbErr: "connection refused", dbSince: time.Second},
			{down: false, wait: health.DefaultInterval / 2, code: 503, status: "fail", dbStatus: "fail", dbErr: "connection refused", dbSince: time.Second}, // cached
			{down: false, wait: health.DefaultInterval / 2, code: 200, status: "ok", dbStatus: "ok", dbSince: 3 * time.Second},
		}
		for i, s := range steps {
			time.Sleep(s.wait)
			down.Store(s.down)
			code, r, hdr := probe(t, h, "GET")
			if code != s.code || r.Status != s.status {
				t.Fatalf("step %d: %d %s, want %d %s", i, code, r.Status, s.code, s.status)
			}
			if ct := hdr.Get("Content-Type"); ct != "application/json" || hdr.Get("Cache-Control") != "no-store" {
				t.Errorf("step %d: headers %v", i, hdr)
			}
			if len(r.Checks) != 2 || r.Checks[0].Name != "cache" || r.Checks[1].Name != "db" {
				t.Fatalf("step %d: checks %+v, want cache and db, sorted", i, r.Checks)
			}
			db := r.Checks[1]
			if db.Status != s.dbStatus || db.Error != s.dbErr || !db.Since.Equal(t0.Add(s.dbSince)) {
				t.Errorf("step %d: db = %+v, want %s %q since t0+%v", i, db, s.dbStatus, s.dbErr, s.dbSince)
			}
			if db.CheckedAt.Before(db.Since) || db.CheckedAt.After(time.Now()) {
				t.Errorf("step %d: checked_at %v outside [since, now]", i, db.CheckedAt)
			}
		}
	})
}

// TestReportJSON pins the body's field names.
func TestReportJSON(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hc, _ := newChecker(health.Config{})
		must(t, hc.Add("db", func(context.Context) error {
			time.Sleep(1500 * time.Microsecond)
			return errors.New("boom")
		}))
		w := httptest.NewRecorder()
		hc.ReadyzHandler().ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
		var raw map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &raw); err != nil {
			t.Fatal(err)
		}
		c := raw["checks"].([]any)[0].(map[string]any)
		now := time.Now().UTC().Format(time.RFC3339Nano)
		start := time.Now().Add(-1500 * time.Microsecond).UTC().Format(time.RFC3339Nano)
		want := map[string]any{"name": "db", "status": "fail", "latency_ms": 1.5, "error": "boom", "since": start, "checked_at": start}
		for k, v := range want {
			if fmt.Sprint(c[k]) != fmt.Sprint(v) {
				t.Errorf("%s = %v, want %v (now %s)", k, c[k], v, now)
			}
		}
		if len(c) != len(want) || raw["status"] != "fail" || len(raw) != 2 {
			t.Errorf("body %s", w.Body.String())
		}
	})
}

// grace is how long past a check's deadline the run waits for its own error.
const grace = 20 * time.Millisecond

// TestHungCheck: a check that ignores its context is reported as timed out at its
// timeout, the run does not wait for it, and it is not started again until it returns.
func TestHungCheck(t *testing.T) {
	tests := []struct {
		name     string
		cfg      time.Duration // Config.Timeout
		own      time.Duration // the check's Timeout option
		want     time.Duration
		honoured bool // the check returns ctx.Err() at the deadline
	}{
		{name: "default timeout", want: health.DefaultTimeout},
		{name: "config timeout", cfg: 300 * time.Millisecond, want: 300 * time.Millisecond},
		{name: "own shorter", cfg: time.Second, own: 100 * time.Millisecond, want: 100 * time.Millisecond},
		{name: "run deadline wins", cfg: time.Second, own: 5 * time.Second, want: time.Second},
		{name: "honours ctx", cfg: 250 * time.Millisecond, want: 250 * time.Millisecond, honoured: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				var calls atomic.Int32
				hc, _ := newChecker(health.Config{Timeout: tt.cfg})
				var opts []health.Option
				if tt.own > 0 {
					opts = append(opts, health.Timeout(tt.own))
				}
				must(t, hc.Add("hung", func(ctx context.Context) error {
					calls.Add(1)
					if tt.honoured {
						<-ctx.Done()
						return ctx.Err()
					}
					<-release
					return nil
				}, opts...))
				must(t, hc.Add("quick", func(context.Context) error { return nil }))

				start := time.Now()
				r := hc.Check(context.Background())
				wantTook := tt.want
				if !tt.honoured {
					wantTook += grace // what the run waits for a check past its deadline
				}
				if took := time.Since(start); took != wantTook {
					t.Errorf("Check took %v, want %v", took, wantTook)
				}
				hung := r.Checks[0]
				wantErr := fmt.Sprintf("timed out after %v", tt.want)
				if r.Status != health.StatusFail || hung.Status != health.StatusFail || hung.Error != wantErr || hung.Latency != tt.want {
					t.Errorf("report %+v, want hung failing with %q after %v", r, wantErr, tt.want)
				}
				if r.Checks[1].Status != health.StatusOK {
					t.Errorf("quick = %+v: a hung neighbour failed it", r.Checks[1])
				}

				time.Sleep(health.DefaultInterval)
				r = hc.Check(context.Background())
				if tt.honoured {
					if calls.Load() != 2 {
						t.Errorf("calls = %d, want 2 (it returned, so it runs again)", calls.Load())
					}
				} else {
					if calls.Load() != 1 || !strings.Contains(r.Checks[0].Error, "not started again") {
						t.Errorf("calls = %d, report %+v: want one call, and the still-running check reported", calls.Load(), r.Checks[0])
					}
					close(release)
					synctest.Wait()
					time.Sleep(health.DefaultInterval)
					hc.Check(context.Background())
					if calls.Load() != 2 {
						t.Errorf("calls = %d after it returned, want 2", calls.Load())
					}
				}
			})
		})
	}
}

// TestProbeStorm: 1000 concurrent probes run each check once per interval, the checks
// of one run run concurrently, and the probes all get the run's answer.
func TestProbeStorm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var a, b atomic.Int32
		hc, _ := newChecker(health.Config{})
		must(t, hc.Add("a", func(context.Context) error { a.Add(1); time.Sleep(300 * time.Millisecond); return nil }))
		must(t, hc.Add("b", func(context.Context) error { b.Add(1); time.Sleep(400 * time.Millisecond); return nil }))
		h := hc.ReadyzHandler()

		storm := func() (took time.Duration) {
			start := time.Now()
			var wg sync.WaitGroup
			var bad atomic.Int32
			for range 1000 {
				wg.Go(func() {
					w := httptest.NewRecorder()
					h.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
					if w.Code != 200 {
						bad.Add(1)
					}
				})
			}
			wg.Wait()
			if bad.Load() > 0 {
				t.Errorf("%d probes not 200", bad.Load())
			}
			return time.Since(start)
		}
		if took := storm(); took != 400*time.Millisecond {
			t.Errorf("first storm took %v, want 400ms (the slower check; they run concurrently)", took)
		}
		if a.Load() != 1 || b.Load() != 1 {
			t.Errorf("runs after the first storm: a=%d b=%d, want 1 each", a.Load(), b.Load())
		}
		if took := storm(); took != 0 {
			t.Errorf("second storm took %v, want 0 (cached)", took)
		}
		time.Sleep(health.DefaultInterval)
		storm()
		if a.Load() != 2 || b.Load() != 2 {
			t.Errorf("runs after the interval: a=%d b=%d, want 2 each", a.Load(), b.Load())
		}
	})
}

// TestAddInvalidatesCache: a check added after a run is in the next probe's report.
func TestAddInvalidatesCache(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hc, _ := newChecker(health.Config{})
		must(t, hc.Add("a", func(context.Context) error { return nil }))
		hc.Check(context.Background())
		must(t, hc.Add("b", func(context.Context) error { return errors.New("no") }))
		if r := hc.Check(context.Background()); len(r.Checks) != 2 || r.Status != health.StatusFail {
			t.Errorf("report %+v, want both checks, failing", r)
		}
	})
}

// TestProbeGivesUp: a probe whose request ends before the run returns gets 503 at once,
// and the run goes on for the next probe.
func TestProbeGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hc, _ := newChecker(health.Config{})
		must(t, hc.Add("slow", func(context.Context) error { time.Sleep(time.Second); return nil }))
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		if r := hc.Check(ctx); r.Status != health.StatusFail || time.Since(start) != 100*time.Millisecond {
			t.Errorf("report %+v after %v, want fail at the request's 100ms", r, time.Since(start))
		}
		time.Sleep(time.Second)
		if r := hc.Check(context.Background()); r.Status != health.StatusOK || len(r.Checks) != 1 {
			t.Errorf("report %+v, want the finished run's", r)
		}
	})
}

const (
	secretPassword = "s3cr3t-Pa55"
	secretToken    = "tok_9f8e7d6c5b4a"
	secretJWT      = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlLXZhbHVl"
)

type panickyError struct{}

func (panickyError) Error() string { panic("Error token=" + secretToken) }

// TestErrorText: secrets in a check's error never reach the body or the log; huge
// errors are bounded; panics (in the check, in Error) fail the check and go no further.
func TestErrorText(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		panic   any
		want    string // in the error text
		maxLen  int
		secrets []string
	}{
		{name: "dsn", err: fmt.Errorf("ping postgres://app:%s@db:5432/shop: refused", secretPassword),
			want: "postgres://app:[REDACTED]@db:5432/shop", secrets: []string{secretPassword}},
		{name: "query token", err: fmt.Errorf("GET https://api.example/v1/status?access_token=%s: 401", secretToken),
			want: "access_token=[REDACTED]", secrets: []string{secretToken}},
		{name: "bearer", err: errors.New("upstream said: Authorization: Bearer " + secretJWT),
			want: "Bearer [REDACTED]", secrets: []string{secretJWT}},
		{name: "password pair", err: errors.New("auth failed for user=app password=" + secretPassword),
			want: "password=[REDACTED]", secrets: []string{secretPassword}},
		{name: "extra redact key", err: errors.New("pin=4321 rejected"), want: "pin=[REDACTED]", secrets: []string{"4321"}},
		{name: "huge", err: errors.New(strings.Repeat("x", 1<<20)), maxLen: 1 << 10},
		{name: "empty", err: errors.New(""), want: "failed"},
		{name: "panicking Error", err: panickyError{}, want: "!PANIC", secrets: []string{secretToken}},
		{name: "check panics", panic: "nil map write token=" + secretToken, want: "panic: nil map write token=[REDACTED]", secrets: []string{secretToken}},
		{name: "check panics with error", panic: fmt.Errorf("dial postgres://u:%s@h/db", secretPassword), want: "panic: dial postgres://u:[REDACTED]@h/db", secrets: []string{secretPassword}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hc, log := newChecker(health.Config{RedactKeys: []string{"pin"}})
			must(t, hc.Add("dep", func(context.Context) error {
				if tt.panic != nil {
					panic(tt.panic)
				}
				return tt.err
			}))
			w := httptest.NewRecorder()
			hc.ReadyzHandler().ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
			var r health.Report
			if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil {
				t.Fatal(err)
			}
			got := r.Checks[0].Error
			if w.Code != 503 || !strings.Contains(got, tt.want) {
				t.Errorf("%d, error %.200q, want 503 and %q in it", w.Code, got, tt.want)
			}
			if tt.maxLen > 0 && len(got) > tt.maxLen {
				t.Errorf("error is %d bytes, want at most %d", len(got), tt.maxLen)
			}
			lines := log.lines(t)
			if len(lines) != 1 || lines[0]["error"] != got {
				t.Errorf("log %.300s: want one line with the report's error text", log.String())
			}
			for _, s := range tt.secrets {
				if strings.Contains(w.Body.String(), s) || strings.Contains(log.String(), s) {
					t.Errorf("secret %q shows:\nbody %s\nlog %s", s, w.Body.String(), log.String())
				}
			}
		})
	}
}

// TestStateChangeLoggedOnce: a first run that passes logs nothing; a failure logs one
// warning however many probes see it; recovery logs one line; a new failure logs again.
func TestStateChangeLoggedOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var fail atomic.Bool
		hc, log := newChecker(health.Config{})
		must(t, hc.Add("db", func(context.Context) error {
			if fail.Load() {
				return errors.New("refused")
			}
			return nil
		}))
		run := func(failing bool, runs int) {
			fail.Store(failing)
			for range runs {
				for range 5 {
					hc.Check(context.Background())
				}
				time.Sleep(health.DefaultInterval)
			}
		}
		run(false, 3)
		run(true, 10)
		run(false, 10)
		run(true, 2)

		var got []string
		for _, l := range log.lines(t) {
			got = append(got, fmt.Sprintf("%s %s %s %v", l["level"], l["msg"], l["check"], l["error"]))
		}
		want := []string{
			"WARN health check failing db refused",
			"INFO health check passing again db <nil>",
			"WARN health check failing db refused",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

// TestGauges: one up and one latency series per check, as the last run left them.
func TestGauges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg, err := metrics.New(metrics.Config{DisableGoCollector: true, DisableProcessCollector: true, DisableHostCollector: true})
		if err != nil {
			t.Fatal(err)
		}
		defer reg.Shutdown(context.Background())
		if n, _ := testutil.GatherAndCount(reg.Gatherer(), "vigil_health_check_up"); n != 0 {
			t.Fatalf("%d up series before any check", n)
		}
		var fail atomic.Bool
		hc, _ := newChecker(health.Config{Registry: reg})
		must(t, hc.Add("db", func(context.Context) error {
			time.Sleep(250 * time.Millisecond)
			if fail.Load() {
				return errors.New("no")
			}
			return nil
		}))
		must(t, hc.Add("cache", func(context.Context) error { return nil }))

		compare := func(dbUp int) {
			t.Helper()
			want := fmt.Sprintf(`
# HELP vigil_health_check_latency_seconds Duration of the health check's last run.
# TYPE vigil_health_check_latency_seconds gauge
vigil_health_check_latency_seconds{check="cache"} 0
vigil_health_check_latency_seconds{check="db"} 0.25
# HELP vigil_health_check_up 1 if the health check passed its last run, 0 if it failed.
# TYPE vigil_health_check_up gauge
vigil_health_check_up{check="cache"} 1
vigil_health_check_up{check="db"} %d
`, dbUp)
			if err := testutil.GatherAndCompare(reg.Gatherer(), strings.NewReader(want),
				"vigil_health_check_up", "vigil_health_check_latency_seconds"); err != nil {
				t.Error(err)
			}
		}
		hc.Check(context.Background())
		compare(1)
		fail.Store(true)
		time.Sleep(health.DefaultInterval)
		hc.Check(context.Background())
		compare(0)

		// A second Checker on the same registry shares the families.
		hc2, _ := newChecker(health.Config{Registry: reg})
		must(t, hc2.Add("queue", func(context.Context) error { return nil }))
	})
}

// TestLivezRunsNoCheck: /livez answers 200 in every phase and never runs a check.
func TestLivezRunsNoCheck(t *testing.T) {
	var calls atomic.Int32
	hc, _ := newChecker(health.Config{})
	must(t, hc.Add("db", func(context.Context) error { calls.Add(1); return errors.New("down") }))
	for _, p := range []health.Phase{health.Running, health.Starting, health.Stopping} {
		hc.SetPhase(p)
		for _, m := range []string{"GET", "HEAD"} {
			w := httptest.NewRecorder()
			hc.LivezHandler().ServeHTTP(w, httptest.NewRequest(m, "/livez", nil))
			wantBody := `{"status":"ok","checks":[]}` + "\n"
			if m == "HEAD" {
				wantBody = ""
			}
			if w.Code != 200 || w.Body.String() != wantBody {
				t.Errorf("phase %d %s: %d %q", p, m, w.Code, w.Body.String())
			}
		}
	}
	if calls.Load() != 0 {
		t.Errorf("livez ran the check %d times", calls.Load())
	}
}

// TestPhases: starting runs the checks but answers 503 "starting"; stopping runs none
// and answers 503 "stopping" with the last results.
func TestPhases(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		hc, _ := newChecker(health.Config{})
		must(t, hc.Add("db", func(context.Context) error { calls.Add(1); return nil }))
		h := hc.ReadyzHandler()
		tests := []struct {
			phase  health.Phase
			code   int
			status health.Status
			calls  int32
		}{
			{health.Starting, 503, "starting", 1},
			{health.Running, 200, "ok", 2},
			{health.Stopping, 503, "stopping", 2},
			{health.Running, 200, "ok", 3},
		}
		for _, tt := range tests {
			hc.SetPhase(tt.phase)
			code, r, _ := probe(t, h, "GET")
			if code != tt.code || r.Status != tt.status || calls.Load() != tt.calls || len(r.Checks) != 1 {
				t.Errorf("phase %d: %d %+v after %d calls, want %d %s after %d", tt.phase, code, r, calls.Load(), tt.code, tt.status, tt.calls)
			}
			if last := hc.Last(); last.Status != tt.status {
				t.Errorf("phase %d: Last().Status = %s", tt.phase, last.Status)
			}
			time.Sleep(health.DefaultInterval)
		}
	})
}

// TestNoChecks: with nothing to check, ready is ok with an empty list, not null.
func TestNoChecks(t *testing.T) {
	hc, _ := newChecker(health.Config{})
	w := httptest.NewRecorder()
	hc.ReadyzHandler().ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
	if w.Code != 200 || w.Body.String() != `{"status":"ok","checks":[]}`+"\n" {
		t.Errorf("%d %q", w.Code, w.Body.String())
	}
	if b, _ := json.Marshal(hc.Last()); string(b) != `{"status":"ok","checks":[]}` {
		t.Errorf("Last() = %s", b)
	}
}

func TestMethods(t *testing.T) {
	hc, _ := newChecker(health.Config{})
	for _, h := range []http.Handler{hc.LivezHandler(), hc.ReadyzHandler()} {
		for m, want := range map[string]int{"GET": 200, "HEAD": 200, "POST": 405, "DELETE": 405} {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(m, "/x", nil))
			if w.Code != want {
				t.Errorf("%s: %d, want %d", m, w.Code, want)
			}
			if m == "HEAD" && w.Body.Len() != 0 {
				t.Errorf("HEAD has a body")
			}
		}
	}
}

func TestAddErrors(t *testing.T) {
	ok := func(context.Context) error { return nil }
	tests := []struct {
		name  string
		check string
		fn    func(context.Context) error
		want  string // "" for success
	}{
		{name: "fine", check: "postgres primary", fn: ok},
		{name: "duplicate", check: "db", fn: ok, want: "already added"},
		{name: "empty", check: "", fn: ok, want: "want 1 to 64"},
		{name: "long", check: strings.Repeat("n", 65), fn: ok, want: "want 1 to 64"},
		{name: "control", check: "a\nb", fn: ok, want: "control characters"},
		{name: "invalid utf-8", check: "\xff", fn: ok, want: "UTF-8"},
		{name: "nil", check: "nil", want: "is nil"},
	}
	hc, _ := newChecker(health.Config{})
	must(t, hc.Add("db", ok))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := hc.Add(tt.check, tt.fn)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("Add(%q) = %v, want %q", tt.check, err, tt.want)
			}
		})
	}
	if got := strings.Join(hc.Names(), ","); got != "db,postgres primary" {
		t.Errorf("Names() = %s", got)
	}
}

// TestRegistryConflict: gauges the registry refuses make Add fail, naming the metric.
func TestRegistryConflict(t *testing.T) {
	reg, err := metrics.New(metrics.Config{DisableGoCollector: true, DisableProcessCollector: true, DisableHostCollector: true})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Shutdown(context.Background())
	if _, err := reg.Counter("vigil_health_check_up", "mine"); err != nil {
		t.Fatal(err)
	}
	hc, _ := newChecker(health.Config{Registry: reg})
	if err := hc.Add("db", func(context.Context) error { return nil }); err == nil || !strings.Contains(err.Error(), "vigil_health_check_up") {
		t.Errorf("Add = %v, want the conflict", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

type panicHandler struct{ slog.Handler }

func (panicHandler) Enabled(context.Context, slog.Level) bool  { return true }
func (panicHandler) Handle(context.Context, slog.Record) error { panic("log sink exploded") }

// TestLoggerPanics: a logger whose handler panics loses the line; the probe is answered
// and the process goes on.
func TestLoggerPanics(t *testing.T) {
	hc := health.New(health.Config{Logger: slog.New(panicHandler{})})
	must(t, hc.Add("db", func(context.Context) error { return errors.New("down") }))
	if code, r, _ := probe(t, hc.ReadyzHandler(), "GET"); code != 503 || r.Checks[0].Error != "down" {
		t.Errorf("%d %+v", code, r)
	}
}
