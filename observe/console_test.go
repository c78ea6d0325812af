package observe_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-go/vigil/observe"
)

// consoleApp is an Observer with the console on and a small service behind its
// Middleware: /orders/{id} logs inside a child span, /fail captures an error, /panic
// panics.
type consoleApp struct {
	o    *observe.Observer
	h    http.Handler
	logs *syncBuffer
}

func newConsoleApp(t *testing.T, mod func(*observe.Config)) *consoleApp {
	t.Helper()
	logs := &syncBuffer{}
	cfg := quiet(logs)
	cfg.NoGlobals = true
	cfg.Service = "shop"
	cfg.Console.Enabled = true
	if mod != nil {
		mod(&cfg)
	}
	o, err := observe.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Shutdown(context.Background()) })
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		ctx, span := o.Start(r.Context(), "load order")
		o.Logger().InfoContext(ctx, "loading order", slog.String("id", r.PathValue("id")))
		span.End()
		_, _ = io.WriteString(w, "order")
	})
	mux.HandleFunc("GET /fail", func(w http.ResponseWriter, r *http.Request) {
		o.Capture(r.Context(), errors.New("database down"))
		http.Error(w, "unavailable", http.StatusInternalServerError)
	})
	mux.HandleFunc("GET /panic", func(http.ResponseWriter, *http.Request) { panic("nil map write") })
	return &consoleApp{o: o, h: o.Middleware(mux), logs: logs}
}

// do serves one request from remote (loopback when "").
func (a *consoleApp) do(t *testing.T, target, remote string, hdr http.Header) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, target, nil)
	if remote != "" {
		r.RemoteAddr = remote
	} else {
		r.RemoteAddr = "127.0.0.1:50000"
	}
	r.Host = "127.0.0.1:8080"
	for k, v := range hdr {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, r)
	return w
}

// api fetches a console endpoint as a loopback client and decodes its JSON into v.
func (a *consoleApp) api(t *testing.T, path string, v any) string {
	t.Helper()
	w := a.do(t, "/debug/vigil/api/"+path, "", nil)
	if w.Code != http.StatusOK {
		t.Fatalf("%s: status %d: %s", path, w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s: Content-Type %q", path, ct)
	}
	if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
		t.Fatalf("%s: %v: %s", path, err, w.Body)
	}
	return w.Body.String()
}

func (a *consoleApp) flush(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if !a.o.Reporter().Flush(ctx) {
		t.Fatal("errors not flushed")
	}
}

// TestConsoleAccess: without a token only loopback connections are served, whatever
// X-Forwarded-For says; with one, every client needs it, loopback included.
func TestConsoleAccess(t *testing.T) {
	const token = "c0nsole-t0ken"
	tests := []struct {
		name, remote, token string
		hdr                 http.Header
		want                int
	}{
		{name: "loopback", remote: "127.0.0.1:50000", want: 200},
		{name: "loopback v6", remote: "[::1]:50000", want: 200},
		{name: "remote", remote: "192.0.2.7:50000", want: 403},
		{name: "remote claiming loopback", remote: "192.0.2.7:50000",
			hdr: http.Header{"X-Forwarded-For": {"127.0.0.1"}, "X-Real-Ip": {"127.0.0.1"}, "Forwarded": {"for=127.0.0.1"}}, want: 403},
		{name: "token: loopback without it", remote: "127.0.0.1:50000", token: token, want: 403},
		{name: "token: remote without it", remote: "192.0.2.7:50000", token: token, want: 403},
		{name: "token: remote, wrong", remote: "192.0.2.7:50000", token: token, hdr: http.Header{"Authorization": {"Bearer nope"}}, want: 403},
		{name: "token: remote, bearer", remote: "192.0.2.7:50000", token: token, hdr: http.Header{"Authorization": {"Bearer " + token}}, want: 200},
		{name: "token: loopback, bearer", remote: "127.0.0.1:50000", token: token, hdr: http.Header{"Authorization": {"Bearer " + token}}, want: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.token != "" {
				t.Setenv(observe.EnvConsoleToken, tt.token)
			}
			a := newConsoleApp(t, nil)
			for _, p := range []string{"/debug/vigil/api/errors", "/debug/vigil/"} {
				w := a.do(t, p, tt.remote, tt.hdr)
				if w.Code != tt.want {
					t.Errorf("%s: status %d, want %d: %s", p, w.Code, tt.want, w.Body)
				}
				if got := w.Header().Get("Content-Security-Policy"); !strings.Contains(got, "script-src 'self'") || !strings.Contains(got, "frame-ancestors 'none'") {
					t.Errorf("%s: CSP %q", p, got)
				}
				if w.Header().Get("X-Content-Type-Options") != "nosniff" || w.Header().Get("Cache-Control") != "no-store" {
					t.Errorf("%s: headers %v", p, w.Header())
				}
			}
			// The console's own requests leave no telemetry.
			if strings.Contains(a.logs.String(), "/debug/vigil") {
				t.Errorf("a console request was logged:\n%s", a.logs)
			}
		})
	}
}

// TestConsoleTokenOnce: ?token= on the page sets an HttpOnly SameSite=Strict cookie
// that is not the token, and sends the browser to the page without it.
func TestConsoleTokenOnce(t *testing.T) {
	const token = "c0nsole-t0ken"
	a := newConsoleApp(t, func(c *observe.Config) { c.Console.Token = token })
	w := a.do(t, "/debug/vigil/?token="+token, "192.0.2.7:50000", nil)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "./" {
		t.Fatalf("status %d, Location %q", w.Code, w.Header().Get("Location"))
	}
	ck := w.Result().Cookies()
	if len(ck) != 1 || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteStrictMode || strings.Contains(ck[0].Value, token) {
		t.Fatalf("cookie %+v", ck)
	}
	w = a.do(t, "/debug/vigil/api/version", "192.0.2.7:50000", http.Header{"Cookie": {ck[0].Name + "=" + ck[0].Value}})
	if w.Code != 200 {
		t.Errorf("with the cookie: %d %s", w.Code, w.Body)
	}
	var self struct {
		Config []struct{ Name, Field, Value, Source string }
	}
	body := a.api2(t, "self", token, &self)
	if strings.Contains(body, token) {
		t.Errorf("the token is shown: %s", body)
	}
	found := map[string]string{}
	for _, s := range self.Config {
		found[s.Field] = s.Source + " " + s.Value
	}
	if found["Console.Token"] != "field [REDACTED]" || found["Service"] != "field shop" || found["ShutdownTimeout"] != "default 10s" {
		t.Errorf("config: token %q, service %q, shutdown %q", found["Console.Token"], found["Service"], found["ShutdownTimeout"])
	}
}

// api2 is api with a bearer token.
func (a *consoleApp) api2(t *testing.T, path, token string, v any) string {
	t.Helper()
	w := a.do(t, "/debug/vigil/api/"+path, "", http.Header{"Authorization": {"Bearer " + token}})
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), v) != nil {
		t.Fatalf("%s: %d %s", path, w.Code, w.Body)
	}
	return w.Body.String()
}

// TestConsoleSettingsFromEnvironment: the self view names the variable a value came
// from, and masks a secret.
func TestConsoleSettingsFromEnvironment(t *testing.T) {
	t.Setenv(observe.EnvConsoleToken, "env-t0ken")
	t.Setenv("VIGIL_SHUTDOWN_TIMEOUT", "3s")
	t.Setenv("SENTRY_DSN", "https://publickey123@sentry.example/1")
	a := newConsoleApp(t, func(c *observe.Config) { c.Errors.Transport = nopTransport{} })
	var self struct {
		Config []struct{ Name, Field, Value, Source string }
	}
	body := a.api2(t, "self", "env-t0ken", &self)
	for _, secret := range []string{"env-t0ken", "publickey123"} {
		if strings.Contains(body, secret) {
			t.Errorf("%s shown: %s", secret, body)
		}
	}
	got := map[string]string{}
	for _, s := range self.Config {
		got[s.Field] = s.Name + " " + s.Source + " " + s.Value
	}
	for field, want := range map[string]string{
		"Console.Token":   "VIGIL_CONSOLE_TOKEN environment [REDACTED]",
		"Console.Enabled": "VIGIL_CONSOLE field true",
		"ShutdownTimeout": "VIGIL_SHUTDOWN_TIMEOUT environment 3s",
		"Errors.DSN":      "SENTRY_DSN environment https://publ****@sentry.example/1",
	} {
		if got[field] != want {
			t.Errorf("%s: %q, want %q", field, got[field], want)
		}
	}
}

type nopTransport struct{}

func (nopTransport) Configure(sentry.ClientOptions)        {}
func (nopTransport) SendEvent(*sentry.Event)               {}
func (nopTransport) Flush(time.Duration) bool              { return true }
func (nopTransport) FlushWithContext(context.Context) bool { return true }
func (nopTransport) Close()                                {}

// TestConsoleErrorsGrouped: one row per error, counting the captures dedup suppressed,
// with the stack, request and trace of its events; a panic is its own group.
func TestConsoleErrorsGrouped(t *testing.T) {
	a := newConsoleApp(t, nil)
	for range 3 {
		a.do(t, "/fail?session=abc", "", http.Header{"Authorization": {"Bearer user-secret"}})
	}
	a.do(t, "/panic", "", nil)
	a.flush(t)
	var list struct {
		Groups []struct {
			Fingerprint string `json:"fingerprint"`
			Title       string `json:"title"`
			Route       string `json:"route"`
			Level       string `json:"level"`
			TraceID     string `json:"trace_id"`
			Count       int    `json:"count"`
			FirstSeen   string `json:"first_seen"`
		}
	}
	a.api(t, "errors", &list)
	byRoute := map[string]int{}
	fp := ""
	for _, g := range list.Groups {
		byRoute[g.Route] = g.Count
		if g.Route == "/fail" {
			fp = g.Fingerprint
			if g.Title != "*errors.errorString: database down" || g.Level != "error" || len(g.TraceID) != 32 || g.FirstSeen == "" {
				t.Errorf("group %+v", g)
			}
		}
	}
	if len(list.Groups) != 2 || byRoute["/fail"] != 3 || byRoute["/panic"] != 1 {
		t.Fatalf("groups: %+v", list.Groups)
	}
	var detail struct {
		Events []struct {
			TraceID   string `json:"trace_id"`
			RequestID string `json:"request_id"`
			Stack     []struct {
				Function string `json:"function"`
				InApp    bool   `json:"in_app"`
			} `json:"stack"`
			Request struct {
				Method  string            `json:"method"`
				URL     string            `json:"url"`
				Query   string            `json:"query"`
				Headers map[string]string `json:"headers"`
			} `json:"request"`
		} `json:"events"`
	}
	body := a.api(t, "errors/"+fp, &detail)
	if strings.Contains(body, "user-secret") || strings.Contains(body, "=abc") {
		t.Errorf("a secret reached the console: %s", body)
	}
	if len(detail.Events) != 1 {
		t.Fatalf("events: %s", body) // the duplicates are counted, not kept
	}
	ev := detail.Events[0]
	if ev.Request.Method != "GET" || ev.RequestID == "" || len(ev.Stack) == 0 || !strings.Contains(body, `"in_app":true`) {
		t.Errorf("event: %s", body)
	}
	// Its trace is held.
	var tr struct{ Spans []any }
	a.api(t, "traces/"+ev.TraceID, &tr)
	if len(tr.Spans) == 0 {
		t.Error("the event's trace is not held")
	}
}

// TestConsoleTraceAndLogs: a request's span tree, and the log lines written inside
// each span, linked by ids.
func TestConsoleTraceAndLogs(t *testing.T) {
	a := newConsoleApp(t, nil)
	a.do(t, "/orders/42", "", nil)
	var list struct {
		Traces []struct {
			TraceID string `json:"trace_id"`
			Root    string `json:"root"`
			Route   string `json:"route"`
			Spans   int    `json:"spans"`
		}
	}
	a.api(t, "traces?view=recent&route=/orders/{id}", &list)
	if len(list.Traces) != 1 || list.Traces[0].Root != "GET /orders/{id}" || list.Traces[0].Spans != 2 {
		t.Fatalf("traces: %+v", list.Traces)
	}
	id := list.Traces[0].TraceID
	var tr struct {
		Spans []struct {
			SpanID   string `json:"span_id"`
			ParentID string `json:"parent_id"`
			Name     string `json:"name"`
			Kind     string `json:"kind"`
			Logs     int    `json:"logs"`
		}
	}
	a.api(t, "traces/"+id, &tr)
	if len(tr.Spans) != 2 || tr.Spans[0].Kind != "server" || tr.Spans[1].Name != "load order" ||
		tr.Spans[1].ParentID != tr.Spans[0].SpanID || tr.Spans[1].Logs != 1 || tr.Spans[0].Logs != 1 {
		t.Fatalf("spans: %+v", tr.Spans)
	}
	var logs struct {
		Lines []struct {
			Msg     string         `json:"msg"`
			TraceID string         `json:"trace_id"`
			SpanID  string         `json:"span_id"`
			Raw     map[string]any `json:"raw"`
		}
	}
	a.api(t, "logs?trace_id="+id+"&span_id="+tr.Spans[1].SpanID, &logs)
	if len(logs.Lines) != 1 || logs.Lines[0].Msg != "loading order" || logs.Lines[0].Raw["id"] != "42" {
		t.Fatalf("logs: %+v", logs.Lines)
	}
	var routes struct {
		Routes []struct {
			Route     string           `json:"route"`
			Count     int              `json:"count"`
			P99       float64          `json:"p99_ms"`
			Buckets   []map[string]any `json:"buckets"`
			Exemplars []struct {
				TraceID string `json:"trace_id"`
			} `json:"exemplars"`
		}
	}
	a.api(t, "routes", &routes)
	if len(routes.Routes) != 1 || routes.Routes[0].Route != "/orders/{id}" || routes.Routes[0].Count != 1 ||
		routes.Routes[0].P99 <= 0 || len(routes.Routes[0].Buckets) == 0 ||
		len(routes.Routes[0].Exemplars) != 1 || routes.Routes[0].Exemplars[0].TraceID != id {
		t.Fatalf("routes: %+v", routes.Routes)
	}
}

// TestConsoleScriptIsData: markup in a path, a user agent, a log line and an error
// comes back as JSON strings (with <, > escaped), never as markup.
func TestConsoleScriptIsData(t *testing.T) {
	a := newConsoleApp(t, nil)
	const js = "<script>alert(1)</script>"
	mux := http.NewServeMux()
	mux.HandleFunc("GET /x/{v}", func(w http.ResponseWriter, r *http.Request) {
		a.o.Logger().InfoContext(r.Context(), js, slog.String("v", r.PathValue("v")))
		a.o.Capture(r.Context(), errors.New(js))
	})
	a.h = a.o.Middleware(mux)
	a.do(t, "/x/"+url.PathEscape(js), "", http.Header{"User-Agent": {js}})
	a.flush(t)
	for _, p := range []string{"errors", "traces", "logs"} {
		var v any
		body := a.api(t, p, &v)
		if strings.Contains(body, "<") || strings.Contains(body, ">") {
			t.Errorf("%s: raw markup in %s", p, body)
		}
		if !strings.Contains(fmt.Sprint(v), js) && p != "traces" {
			t.Errorf("%s: the string is not returned as data: %s", p, body)
		}
	}
	var list struct {
		Traces []struct {
			TraceID string `json:"trace_id"`
		}
	}
	a.api(t, "traces", &list)
	var tr struct {
		Spans []struct {
			Attributes map[string]any `json:"attributes"`
		}
	}
	a.api(t, "traces/"+list.Traces[0].TraceID, &tr)
	if ua := tr.Spans[0].Attributes["user_agent.original"]; ua != js {
		t.Errorf("user agent %v", ua)
	}
}

// TestConsoleBounded: under sustained traffic the console's rings stay within their
// documented bounds, and the heap stops growing once they are full.
func TestConsoleBounded(t *testing.T) {
	// The log goes nowhere: a test buffer would grow with the traffic.
	a := newConsoleApp(t, func(c *observe.Config) { c.Logging.Output = io.Discard })
	ua := strings.Repeat("Mozilla/5.0 ", 100)
	round := func(n, off int) {
		for i := range n {
			p := fmt.Sprintf("/orders/%d", off+i)
			if i%10 == 0 {
				p = "/fail"
			}
			a.do(t, p, "", http.Header{"User-Agent": {ua}})
		}
		a.flush(t)
		var v any
		a.api(t, "routes", &v) // a poll of the page
	}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	base := heap()
	round(1500, 0) // fills the log and trace rings
	before := heap()
	round(3000, 1500)
	after := heap()
	var self struct {
		Limits map[string]int `json:"limits"`
	}
	a.api(t, "self", &self)
	l := self.Limits
	if l["held_log_bytes"] > l["log_bytes"] || l["held_trace_bytes"] > l["trace_bytes"] || l["held_error_bytes"] > l["error_bytes"] ||
		l["held_log_bytes"] == 0 || l["held_trace_bytes"] == 0 {
		t.Errorf("limits: %v", l)
	}
	var traces struct{ Traces []any }
	a.api(t, "traces?limit=1000", &traces)
	var logs struct{ Lines []any }
	a.api(t, "logs?limit=100000", &logs)
	if len(traces.Traces) > 500 || len(logs.Lines) > 2000 || len(logs.Lines) < 1000 {
		t.Errorf("%d traces, %d log lines", len(traces.Traces), len(logs.Lines))
	}
	growth := int64(after) - int64(before)
	t.Logf("heap %d -> %d bytes (%+d) after 3000 more requests; held: %v", before, after, growth, l)
	if growth > 4<<20 {
		t.Errorf("heap grew by %d bytes with full rings", growth)
	}
	// The documented figure: the rings' byte bounds add up to 16 MiB.
	if total := int64(after) - int64(base); total > 16<<20 {
		t.Errorf("the console and its traffic hold %d bytes, over 16 MiB", total)
	}
}

// TestConsoleOff: without the console, /debug/vigil/ is the application's path like
// any other, and ConsoleHandler says how to turn it on.
func TestConsoleOff(t *testing.T) {
	for _, env := range []string{"", "false"} {
		t.Run("VIGIL_CONSOLE="+env, func(t *testing.T) {
			t.Setenv(observe.EnvConsole, env)
			a := newConsoleApp(t, func(c *observe.Config) { c.Console.Enabled = false })
			w := a.do(t, "/debug/vigil/api/errors", "", nil)
			if w.Code != http.StatusNotFound || strings.Contains(w.Body.String(), "groups") {
				t.Errorf("status %d: %s", w.Code, w.Body)
			}
			if !strings.Contains(a.logs.String(), `"url.path":"/debug/vigil/api/errors"`) {
				t.Errorf("the request was not the application's: %s", a.logs)
			}
			w = httptest.NewRecorder()
			a.o.ConsoleHandler().ServeHTTP(w, httptest.NewRequest("GET", "/debug/vigil/", nil))
			if w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "VIGIL_CONSOLE=true") {
				t.Errorf("ConsoleHandler: %d %s", w.Code, w.Body)
			}
		})
	}
}

// TestConsoleHandlerMounted: ConsoleHandler serves the console under another path.
func TestConsoleHandlerMounted(t *testing.T) {
	a := newConsoleApp(t, nil)
	mux := http.NewServeMux()
	mux.Handle("/admin/vigil/", http.StripPrefix("/admin/vigil", a.o.ConsoleHandler()))
	r := httptest.NewRequest("GET", "/admin/vigil/api/version", nil)
	r.RemoteAddr, r.Host = "127.0.0.1:1", "localhost:8080"
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	var v map[string]int
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &v) != nil || len(v) != 3 {
		t.Errorf("%d %s", w.Code, w.Body)
	}
	r = httptest.NewRequest("GET", "/admin/vigil/", nil)
	r.RemoteAddr, r.Host = "127.0.0.1:1", "localhost:8080"
	w = httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		t.Errorf("page: %d %v", w.Code, w.Header())
	}
}

// TestConsoleSpansRedacted: spans are held as they ended but shown as the exporters
// would send them: secret attributes, secrets in values and in status text redacted.
func TestConsoleSpansRedacted(t *testing.T) {
	a := newConsoleApp(t, nil)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		_, span := a.o.Start(r.Context(), "check", trace.WithAttributes(
			attribute.String("auth.token", "tok-s3cret"),
			attribute.String("upstream", "https://bob:pw-s3cret@db.example/x")))
		span.SetStatus(codes.Error, "login failed: password=pw2-s3cret")
		span.End()
	})
	a.h = a.o.Middleware(mux)
	a.do(t, "/login", "", nil)
	var list struct {
		Traces []struct {
			TraceID string `json:"trace_id"`
		}
	}
	a.api(t, "traces", &list)
	body := a.api(t, "traces/"+list.Traces[0].TraceID, &struct{}{})
	if strings.Contains(body, "s3cret") || !strings.Contains(body, "[REDACTED]") {
		t.Errorf("trace view: %s", body)
	}
}

// The console under another path, beside the service's own routes. Middleware serves it
// at /debug/vigil/ by itself; ConsoleHandler is for a separate admin listener or path.
func ExampleConsoleHandler() {
	o, err := observe.Init(context.Background(), observe.Config{Console: observe.ConsoleConfig{Enabled: true}})
	if err != nil {
		return
	}
	defer o.Shutdown(context.Background())
	admin := http.NewServeMux()
	admin.Handle("/admin/vigil/", http.StripPrefix("/admin/vigil", observe.ConsoleHandler()))
	go func() { _ = http.ListenAndServe("127.0.0.1:9090", admin) }()
}
