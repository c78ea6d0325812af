package benchmarks

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// consoleStack builds one stack of the console comparison.
type consoleStack struct {
	impl  string
	build func(tb testing.TB) httpStack
}

// consoleStacks are the HTTP full stack (logs to io.Discard, spans and events to dropping
// sinks) without vigil, with vigil, and with vigil and its dev console on: the console's cost
// on the request path is impl=vigil+console minus impl=vigil (the goal: at most 1.15x the
// overhead of impl=vigil over impl=bare).
var consoleStacks = []consoleStack{
	{"bare", func(tb testing.TB) httpStack { return bareStack(tb, nil, nil) }},
	{"vigil", func(tb testing.TB) httpStack { return vigilConsole(tb, false) }},
	{"vigil+console", func(tb testing.TB) httpStack { return vigilConsole(tb, true) }},
}

// vigilConsole is vigilFull's observer with the dev console on or off. The console is turned
// on as a user would, with VIGIL_CONSOLE=true.
func vigilConsole(tb testing.TB, on bool) httpStack {
	tb.Helper()
	if on {
		tb.Setenv("VIGIL_CONSOLE", "true")
	}
	spans := &spanSink{}
	o := newObserver(tb, vigilSinks{spans: spans})
	impl := "vigil"
	if on {
		impl = "vigil+console"
	}
	return httpStack{impl: impl, handler: o.Middleware(orderMux())}
}

// BenchmarkConsole serves one routed GET through each stack, as BenchmarkHTTP does. Each
// stack is built inside its own leaf, so a process that runs one leaf (run.sh's rounds)
// carries no other stack's goroutines or rings.
func BenchmarkConsole(b *testing.B) {
	for _, c := range consoleStacks {
		b.Run("impl="+c.impl, func(b *testing.B) {
			s := c.build(b)
			req := orderRequest()
			b.ReportAllocs()
			done := cpuPerOp(b)
			for b.Loop() {
				w := httptest.NewRecorder()
				s.handler.ServeHTTP(w, req)
			}
			done()
		})
	}
}

// TestConsoleStacksDoTheWork checks that the stacks serve the order, and that the console
// stack really has the console: it serves /debug/vigil/ to a loopback client and its API
// holds the request just served (a benchmark of a console that collected nothing would
// measure nothing).
func TestConsoleStacksDoTheWork(t *testing.T) {
	for _, c := range consoleStacks {
		t.Run("impl="+c.impl, func(t *testing.T) {
			s := c.build(t)
			w := httptest.NewRecorder()
			s.handler.ServeHTTP(w, orderRequest())
			if w.Code != http.StatusOK || w.Body.String() != orderBody {
				t.Fatalf("order: %d %q", w.Code, w.Body.String())
			}
			if c.impl == "bare" {
				return
			}
			get := func(path string) *httptest.ResponseRecorder {
				r := httptest.NewRequest(http.MethodGet, path, nil)
				r.RemoteAddr = "127.0.0.1:50000"
				r.Host = "127.0.0.1:8080" // the console also wants a loopback Host (no DNS rebinding)
				w := httptest.NewRecorder()
				s.handler.ServeHTTP(w, r)
				return w
			}
			page := get("/debug/vigil/")
			if c.impl == "vigil" {
				if page.Code != http.StatusNotFound {
					t.Fatalf("console off: GET /debug/vigil/ = %d, want 404 (the mux's)", page.Code)
				}
				return
			}
			if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), "app.js") {
				t.Fatalf("console on: GET /debug/vigil/ = %d %.200q", page.Code, page.Body.String())
			}
			var logs struct {
				Lines []struct {
					Msg string `json:"msg"`
				} `json:"lines"`
			}
			api := get("/debug/vigil/api/logs")
			if err := json.Unmarshal(api.Body.Bytes(), &logs); err != nil || len(logs.Lines) == 0 {
				t.Fatalf("console on: api/logs = %d %.300q (%v), want the access line", api.Code, api.Body.String(), err)
			}
		})
	}
}
