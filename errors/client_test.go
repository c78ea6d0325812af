package errors_test

import (
	"context"
	"encoding/json"
	stderrors "errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"
	"go.opentelemetry.io/otel/trace"

	verrors "github.com/vigil-go/vigil/errors"
	"github.com/vigil-go/vigil/internal/ctxattrs"
	"github.com/vigil-go/vigil/internal/sentrytest"
)

// spotlightSink is a stand-in Spotlight sidecar: it keeps what is posted to /stream.
type spotlightSink struct {
	srv  *httptest.Server
	mu   sync.Mutex
	got  [][]byte
	ct   []string
	path []string
	seen chan struct{}
}

func newSpotlightSink(t *testing.T) *spotlightSink {
	s := &spotlightSink{seen: make(chan struct{}, 100)}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.got = append(s.got, b)
		s.ct = append(s.ct, r.Header.Get("Content-Type"))
		s.path = append(s.path, r.Method+" "+r.URL.Path)
		s.mu.Unlock()
		s.seen <- struct{}{}
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *spotlightSink) wait(t *testing.T) (body []byte, ct, path string) {
	t.Helper()
	select {
	case <-s.seen:
	case <-time.After(5 * time.Second):
		t.Fatal("nothing posted to Spotlight")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got[0], s.ct[0], s.path[0]
}

// Every event is also posted to the Spotlight sidecar as an envelope, with no DSN
// needed, and with the exception in the {"values": [...]} form Spotlight requires.
func TestSpotlight(t *testing.T) {
	for _, withDSN := range []bool{false, true} {
		name := "no DSN"
		if withDSN {
			name = "with DSN"
		}
		t.Run(name, func(t *testing.T) {
			spot := newSpotlightSink(t)
			cfg := verrors.Config{Spotlight: spot.srv.URL + "/stream", Logger: discardLogger()}
			var srv *sentrytest.Server
			if withDSN {
				srv = sentrytest.NewServer(t)
				cfg.DSN = srv.DSN()
			}
			r, err := verrors.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = r.Shutdown(context.Background()) })
			id := r.Capture(context.Background(), stderrors.New("spotlight me"))
			if id == "" {
				t.Fatal("no event id")
			}
			body, ct, path := spot.wait(t)
			if path != "POST /stream" || ct != "application/x-sentry-envelope" {
				t.Errorf("posted %s as %q", path, ct)
			}
			env, err := sentrytest.Decode(body)
			if err != nil {
				t.Fatal(err)
			}
			if env.Header["event_id"] != id || len(env.Items) != 1 || env.Items[0].Type != "event" {
				t.Fatalf("envelope %v items %d", env.Header, len(env.Items))
			}
			var ev struct {
				EventID   string `json:"event_id"`
				Exception struct {
					Values []sentry.Exception `json:"values"`
				} `json:"exception"`
			}
			if err := json.Unmarshal(env.Items[0].Payload, &ev); err != nil {
				t.Fatalf("payload: %v\n%s", err, env.Items[0].Payload)
			}
			if ev.EventID != id || len(ev.Exception.Values) != 1 || ev.Exception.Values[0].Value != "spotlight me" {
				t.Errorf("payload %s", env.Items[0].Payload)
			}
			if withDSN {
				srv.WaitForEvents(t, 1, 5*time.Second)
			}
			if st := r.Stats(); st.SpotlightDropped != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// A sidecar that is down costs Sentry nothing: its copies are dropped and counted.
func TestSpotlightDownIsCounted(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	url := dead.URL + "/stream"
	dead.Close()
	srv := sentrytest.NewServer(t)
	r, err := verrors.New(verrors.Config{DSN: srv.DSN(), Spotlight: url, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	r.Capture(context.Background(), stderrors.New("to Sentry anyway"))
	srv.WaitForEvents(t, 1, 5*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown = %v: Spotlight's loss is not Sentry's", err)
	}
	if st := r.Stats(); st.Sent != 1 || st.SpotlightDropped != 1 || st.Outcomes()["spotlight_dropped"] != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestParseSpotlight(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{"", "", ""}, {"false", "", ""}, {"0", "", ""},
		{"true", verrors.DefaultSpotlightURL, ""}, {"1", verrors.DefaultSpotlightURL, ""},
		{"http://127.0.0.1:9000/stream", "http://127.0.0.1:9000/stream", ""},
		{"ftp://x", "", "want true, false or an http(s) URL"},
		{"sometimes", "", "want true, false or an http(s) URL"},
	} {
		got, err := verrors.ParseSpotlight(c.in)
		if got != c.want || (err == nil) != (c.err == "") || err != nil && err.Error() != c.err {
			t.Errorf("ParseSpotlight(%q) = %q, %v; want %q, %q", c.in, got, err, c.want, c.err)
		}
	}
}

// The client a Reporter binds goes through vigil's pipeline: a direct capture on a hub
// holding it is scrubbed and counted, and Config.ClientOptions reaches sentry-go's
// options (IgnoreErrors here) while vigil's scrubbing still wraps its BeforeSend.
func TestClientThroughVigil(t *testing.T) {
	srv := sentrytest.NewServer(t)
	var hookSaw string
	r, err := verrors.New(verrors.Config{
		DSN: srv.DSN(), Logger: discardLogger(), DedupWindow: -1, MaxEventsPerSecond: -1,
		ClientOptions: func(o *sentry.ClientOptions) {
			o.IgnoreErrors = []string{"context canceled"}
			o.ServerName = "web-7"
			o.BeforeSend = func(ev *sentry.Event, _ *sentry.EventHint) *sentry.Event {
				hookSaw = ev.Exception[len(ev.Exception)-1].Value
				ev.Tags["session_token"] = "hook-secret-1"
				return ev
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Shutdown(context.Background()) })
	hub := sentry.NewHub(r.Client(), sentry.NewScope())
	hub.CaptureException(context.Canceled)
	hub.CaptureException(stderrors.New("db down: postgres://app:pw-secret-2@db/orders"))
	ev := srv.WaitForEvents(t, 1, 5*time.Second)[0]
	r.Flush(context.Background())

	if n := len(srv.Events()); n != 1 {
		t.Errorf("%d events, want 1 (IgnoreErrors)", n)
	}
	raw := string(srv.RawBodies()[0])
	for _, secret := range []string{"pw-secret-2", "hook-secret-1"} {
		if strings.Contains(raw, secret) {
			t.Errorf("%s reached Sentry: %s", secret, raw)
		}
	}
	if !strings.Contains(hookSaw, "db down") || ev.ServerName != "web-7" {
		t.Errorf("hook saw %q, server %q", hookSaw, ev.ServerName)
	}
	if st := r.Stats(); st.Captured != 1 || st.Sent != 1 {
		t.Errorf("stats %+v", st)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// Events carry the device, os and runtime contexts of sentry-go's environment
// integration, which the client runs without (vigil writes them): vigil's own events
// always, the hub's unless the user's Integrations option took the integration out. The
// user's option still decides the rest (the modules list here).
func TestEnvironmentContexts(t *testing.T) {
	want := map[string][]string{
		"device":  {"arch", "num_cpu"},
		"os":      {"name"},
		"runtime": {"name", "version", "go_maxprocs", "go_numroutines", "go_numcgocalls"},
	}
	without := func(names ...string) func([]sentry.Integration) []sentry.Integration {
		return func(in []sentry.Integration) []sentry.Integration {
			var out []sentry.Integration
			for _, i := range in {
				if !slices.Contains(names, i.Name()) {
					out = append(out, i)
				}
			}
			return out
		}
	}
	tests := []struct {
		name         string
		integrations func([]sentry.Integration) []sentry.Integration
		hubEnv       bool // the hub's event has the contexts
		modules      bool
	}{
		{name: "defaults", hubEnv: true, modules: true},
		{name: "user drops Environment", integrations: without("Environment"), modules: true},
		{name: "user drops Modules", integrations: without("Modules"), hubEnv: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := sentrytest.NewServer(t)
			r, err := verrors.New(verrors.Config{
				DSN: srv.DSN(), Logger: discardLogger(), DedupWindow: -1, MaxEventsPerSecond: -1,
				ClientOptions: func(o *sentry.ClientOptions) { o.Integrations = tt.integrations },
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = r.Shutdown(context.Background()) })
			hub := sentry.NewHub(r.Client(), sentry.NewScope())
			scope := hub.Scope()
			scope.SetContext("device", sentry.Context{"arch": "kept-by-user"})
			hubID := string(*hub.CaptureException(stderrors.New("through the hub")))
			ownID := r.Capture(context.Background(), stderrors.New("through vigil"))
			evs := srv.WaitForEvents(t, 2, 5*time.Second)
			for _, ev := range evs {
				own := string(ev.EventID) == ownID
				if !own && string(ev.EventID) != hubID {
					t.Fatalf("unknown event %s", ev.EventID)
				}
				for name, keys := range want {
					for _, k := range keys {
						_, has := ev.Contexts[name][k]
						wantHas := own || tt.hubEnv || (name == "device" && k == "arch")
						if has != wantHas {
							t.Errorf("own=%v: contexts.%s.%s present %v, want %v (%v)", own, name, k, has, wantHas, ev.Contexts[name])
						}
					}
				}
				if !own && ev.Contexts["device"]["arch"] != "kept-by-user" {
					t.Errorf("hub event's device.arch = %v, want the scope's value", ev.Contexts["device"]["arch"])
				}
				if own && ev.Contexts["runtime"]["version"] != runtime.Version() {
					t.Errorf("runtime.version = %v", ev.Contexts["runtime"]["version"])
				}
				if got := len(ev.Modules) > 0; got != tt.modules {
					t.Errorf("own=%v: modules listed %v, want %v", own, got, tt.modules)
				}
			}
		})
	}
}

// A BeforeSend that returns a new event in place of vigil's own still sends it once.
func TestBeforeSendReplacingTheEvent(t *testing.T) {
	srv := sentrytest.NewServer(t)
	r, err := verrors.New(verrors.Config{
		DSN: srv.DSN(), Logger: discardLogger(),
		BeforeSend: func(ev *sentry.Event, _ *sentry.EventHint) *sentry.Event {
			cp := *ev
			cp.Tags = map[string]string{"copied": "yes"}
			return &cp
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	id := r.Capture(context.Background(), stderrors.New("replaced"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	evs := srv.Events()
	if len(evs) != 1 || string(evs[0].EventID) != id || evs[0].Tags["copied"] != "yes" {
		t.Fatalf("events %+v", evs)
	}
	if st := r.Stats(); st.Captured != 1 || st.Sent != 1 || st.DroppedByHook != 0 {
		t.Errorf("stats %+v", st)
	}
}

// The environment contexts are scrubbed like any other unless they hold exactly the keys
// vigil writes: a configured secret name among those keys, and whatever a hook adds,
// swaps or nests in them, is redacted.
func TestEnvironmentContextsScrubbed(t *testing.T) {
	tests := []struct {
		name   string
		redact []string
		hook   func(ev *sentry.Event)
		check  func(t *testing.T, c map[string]sentry.Context)
	}{
		{
			name: "untouched", check: func(t *testing.T, c map[string]sentry.Context) {
				if c["os"]["name"] != runtime.GOOS || c["device"]["arch"] != runtime.GOARCH {
					t.Errorf("contexts %v", c)
				}
			},
		},
		{
			name: "configured name", redact: []string{"version"},
			check: func(t *testing.T, c map[string]sentry.Context) {
				if c["runtime"]["version"] != "[REDACTED]" || c["runtime"]["name"] != "go" {
					t.Errorf("runtime %v", c["runtime"])
				}
			},
		},
		{
			name: "key added", hook: func(ev *sentry.Event) { ev.Contexts["os"]["password"] = "env-secret-1" },
			check: func(t *testing.T, c map[string]sentry.Context) {
				if c["os"]["password"] != "[REDACTED]" {
					t.Errorf("os %v", c["os"])
				}
			},
		},
		{
			name: "key swapped, same count",
			hook: func(ev *sentry.Event) {
				delete(ev.Contexts["device"], "arch")
				ev.Contexts["device"]["api_token"] = "env-secret-2"
			},
			check: func(t *testing.T, c map[string]sentry.Context) {
				if c["device"]["api_token"] != "[REDACTED]" {
					t.Errorf("device %v", c["device"])
				}
			},
		},
		{
			name: "nested map",
			hook: func(ev *sentry.Event) {
				ev.Contexts["runtime"]["name"] = map[string]any{"secret": "env-secret-3"}
			},
			check: func(t *testing.T, c map[string]sentry.Context) {
				if n, _ := c["runtime"]["name"].(map[string]any); n["secret"] != "[REDACTED]" {
					t.Errorf("runtime %v", c["runtime"])
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := sentrytest.NewServer(t)
			cfg := verrors.Config{DSN: srv.DSN(), Logger: discardLogger(), RedactKeys: tt.redact}
			if tt.hook != nil {
				cfg.BeforeSend = func(ev *sentry.Event, _ *sentry.EventHint) *sentry.Event {
					tt.hook(ev)
					return ev
				}
			}
			r, err := verrors.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = r.Shutdown(context.Background()) })
			r.Capture(context.Background(), stderrors.New("with environment"))
			ev := srv.WaitForEvents(t, 1, 5*time.Second)[0]
			if raw := string(srv.RawBodies()[0]); strings.Contains(raw, "env-secret") {
				t.Errorf("a secret reached Sentry: %s", raw)
			}
			tt.check(t, ev.Contexts)
		})
	}
}

// The trace link of a gRPC capture: no request scope, the route is the full method.
func TestTraceLinkGRPC(t *testing.T) {
	srv := sentrytest.NewServer(t)
	r, err := verrors.New(verrors.Config{DSN: srv.DSN(), Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Shutdown(context.Background()) })
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid}))
	ctx = ctxattrs.With(ctx, slog.String("request_id", "r-1"), slog.String("route", "/shop.Orders/Get"))
	r.Capture(ctx, stderrors.New("no such order"))
	ev := srv.WaitForEvents(t, 1, 5*time.Second)[0]
	tc := ev.Contexts["trace"]
	if tc["op"] != "grpc.server" || tc["trace_id"] != tid.String() || tc["span_id"] != sid.String() {
		t.Errorf("contexts.trace %v", tc)
	}
	if ev.Transaction != "/shop.Orders/Get" || ev.Tags["route"] != "/shop.Orders/Get" {
		t.Errorf("transaction %q, tags %v", ev.Transaction, ev.Tags)
	}
}

// A panic reported through the hub (sentry.Recover, re-panicking) and then recovered by
// vigil is one event; vigil's own recoveries of equal values stay separate events.
func TestPanicThroughHubThenVigil(t *testing.T) {
	srv := sentrytest.NewServer(t)
	r, err := verrors.New(verrors.Config{DSN: srv.DSN(), Logger: discardLogger(), DedupWindow: -1})
	if err != nil {
		t.Fatal(err)
	}
	hub := sentry.NewHub(r.Client(), sentry.NewScope())
	boom := stderrors.New("boom")
	vigilRecovers := func(inner func()) {
		defer func() {
			if v := recover(); v != nil {
				r.Capture(context.Background(), v)
			}
		}()
		inner()
	}
	vigilRecovers(func() {
		defer func() {
			if v := recover(); v != nil {
				hub.Recover(v)
				panic(v)
			}
		}()
		panic(boom)
	})
	vigilRecovers(func() { panic(boom) })
	vigilRecovers(func() { panic(boom) })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Events()); n != 3 {
		t.Errorf("%d events, want 3 (one per panic)", n)
	}
	if st := r.Stats(); st.Deduplicated != 1 || st.Sent != 3 {
		t.Errorf("stats %+v", st)
	}
}

// Debug routes sentry-go's own diagnostics to the Reporter's logger at debug level.
func TestDebugLogsSentryGo(t *testing.T) {
	var buf syncBuf
	r, err := verrors.New(verrors.Config{
		Spotlight: "http://127.0.0.1:1/stream", Debug: true,
		Logger: slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Shutdown(context.Background()) })
	if !strings.Contains(buf.String(), `"msg":"vigil: sentry-go"`) {
		t.Errorf("no sentry-go diagnostics in %s", buf.String())
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestClientOptionsBadDSN(t *testing.T) {
	_, err := verrors.New(verrors.Config{Logger: discardLogger(), ClientOptions: func(o *sentry.ClientOptions) {
		o.Dsn = "https://secretkey1234@/1"
	}})
	if err == nil || !strings.Contains(err.Error(), "ClientOptions.Dsn") || strings.Contains(err.Error(), "secretkey1234") {
		t.Errorf("error %v, want one naming ClientOptions.Dsn without the key", err)
	}
}
