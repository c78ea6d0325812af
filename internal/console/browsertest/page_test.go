package browsertest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// hostile is what an attacker puts in every string the console shows: a path, a user agent,
// a log message, an attribute, a route, an exporter's error.
const hostile = `<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>"';window.__xss=3;//` +
	`<svg onload="window.__xss=4"></svg>javascript:window.__xss=5`

// fakeAPI answers the console's API with canned data whose every string is hostile, and serves
// the page's assets from the source tree. It checks the page alone: what it does with
// whatever the API holds, whatever the backend.
func fakeAPI(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	now := time.Now().UTC()
	ts := func(d time.Duration) string { return now.Add(-d).Format(time.RFC3339Nano) }
	attrs := map[string]any{hostile: hostile, "http.route": "/x/" + hostile, "n": 42, "nested": map[string]any{"k": hostile}}
	group := map[string]any{
		"fingerprint": "0123456789abcdef", "title": hostile, "type": hostile, "count": 3,
		"first_seen": ts(time.Minute), "last_seen": ts(time.Second), "route": hostile, "level": hostile,
		"last_event_id": hostile, "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
	}
	var version atomic.Int64
	version.Store(1)
	api := map[string]func(r *http.Request) any{
		"errors": func(*http.Request) any { return map[string]any{"groups": []any{group}} },
		"errors/0123456789abcdef": func(*http.Request) any {
			return map[string]any{"group": group, "events": []any{map[string]any{
				"event_id": hostile, "time": ts(time.Second), "message": hostile, "type": hostile, "value": hostile,
				"route": hostile, "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7", "request_id": hostile,
				"stack": []any{
					map[string]any{"function": hostile, "module": hostile, "file": hostile, "line": 7, "in_app": true},
					map[string]any{"function": "runtime.goexit", "module": "runtime", "file": "asm.s", "line": 1, "in_app": false},
				},
				"request":     map[string]any{"method": hostile, "url": hostile, "headers": map[string]any{"User-Agent": hostile}, "query": hostile},
				"attributes":  attrs,
				"breadcrumbs": []any{map[string]any{"time": ts(2 * time.Second), "category": hostile, "level": hostile, "message": hostile}},
			}}}
		},
		"traces": func(*http.Request) any {
			return map[string]any{"traces": []any{map[string]any{
				"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "root": hostile, "route": hostile, "status": hostile,
				"start": ts(time.Second), "duration_ms": 12.5, "spans": 2, "error": true,
			}}}
		},
		"traces/4bf92f3577b34da6a3ce929d0e0e4736": func(*http.Request) any {
			return map[string]any{"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "db": map[string]any{"calls": 1, "duration_ms": 2.5},
				"spans": []any{
					map[string]any{"span_id": "b7ad6b7169203331", "parent_id": "", "name": hostile, "kind": hostile, "start": ts(time.Second),
						"end": ts(time.Second - 12*time.Millisecond), "duration_ms": 12.5, "offset_ms": 0, "status": "error", "status_message": hostile,
						"attributes": attrs, "events": []any{map[string]any{"name": hostile, "time": ts(time.Second), "attributes": attrs}}, "logs": 1},
					// A cycle (a span its own parent's parent) must not hang the tree.
					map[string]any{"span_id": "00f067aa0ba902b7", "parent_id": "00f067aa0ba902b7", "name": hostile, "kind": "client",
						"start": ts(time.Second), "duration_ms": 3, "offset_ms": 2, "status": "ok", "attributes": attrs, "logs": 0},
				}}
		},
		"routes": func(*http.Request) any {
			return map[string]any{"window_s": 60, "routes": []any{map[string]any{
				"route": hostile, "method": hostile, "rate": 1.5, "count": 90, "err4xx": 3, "err5xx": 1,
				"p50_ms": 4.2, "p90_ms": 18, "p99_ms": 240, "db_calls_per_req": 1, "db_ms_per_req": 0.8,
				"buckets": []any{
					// Prometheus's buckets: cumulative counts, upper bounds in milliseconds.
					map[string]any{"le": 5, "count": 50}, map[string]any{"le": 10, "count": 70},
					map[string]any{"le": 25, "count": 85}, map[string]any{"le": 250, "count": 89}, map[string]any{"le": "+Inf", "count": 90},
				},
				"exemplars": []any{map[string]any{"value_ms": 230, "trace_id": hostile}, map[string]any{"value_ms": 4, "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"}},
			}}}
		},
		"logs": func(r *http.Request) any {
			after := r.URL.Query().Get("after")
			raw := map[string]any{"time": ts(time.Second), "level": hostile, "msg": hostile, hostile: hostile, "trace_id": hostile}
			seq := version.Load()
			if after != "" && after == jsonNumber(seq) {
				return map[string]any{"seq": seq, "lines": []any{}}
			}
			return map[string]any{"seq": seq, "lines": []any{
				map[string]any{"seq": seq, "time": ts(time.Second), "level": hostile, "msg": hostile, "trace_id": hostile, "span_id": hostile, "request_id": hostile, "raw": raw},
				map[string]any{"seq": seq, "time": ts(time.Second), "level": "ERROR", "msg": "not json: " + hostile, "raw": nil},
			}}
		},
		"self": func(*http.Request) any {
			return map[string]any{
				"counters":  []any{map[string]any{"name": hostile, "labels": map[string]any{hostile: hostile}, "value": 3}},
				"exporters": []any{map[string]any{"name": hostile, "last_ok": ts(time.Minute), "last_error": hostile, "last_error_time": ts(time.Second)}},
				"config":    []any{map[string]any{"name": hostile, "field": hostile, "value": hostile, "source": hostile}},
				"runtime":   map[string]any{"goroutines": 12, "heap_alloc": 4 << 20, "heap_sys": 16 << 20, "num_gc": 3, "gc_pause_total_ms": 0.4, "uptime_s": 75},
				"limits":    map[string]any{hostile: hostile},
			}
		},
		"health": func(*http.Request) any {
			return map[string]any{"status": hostile, "checks": []any{map[string]any{"name": hostile, "status": "fail", "latency_ms": 1.5, "error": hostile, "since": ts(time.Minute), "checked_at": ts(0)}}}
		},
		"version": func(*http.Request) any {
			v := version.Load()
			return map[string]any{"errors": v, "traces": v, "logs": v}
		},
	}
	assets := http.StripPrefix("/debug/vigil/", http.FileServerFS(os.DirFS("../assets")))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if name, ok := strings.CutPrefix(r.URL.Path, "/debug/vigil/api/"); ok {
			f := api[name]
			if f == nil {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusNotFound)
				_, _ = w.Write([]byte(`{"error":"not found: ` + strings.ReplaceAll(hostile, `"`, `\"`) + `"}`))
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(f(r))
			return
		}
		assets.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &version
}

func jsonNumber(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestPageShowsHostileDataAsText opens every page of the console over an API whose every
// string is markup or script, and checks that the strings show as text, nothing runs, and the
// page raises no error and no Content-Security-Policy violation.
func TestPageShowsHostileDataAsText(t *testing.T) {
	b := newBrowser(t)
	srv, version := fakeAPI(t)
	base := srv.URL + "/debug/vigil/"
	b.open(base, "#/errors")

	pages := []struct {
		fragment, ready string
	}{
		{"#/errors", `document.querySelector('table.errors tbody tr')`},
		{"#/errors/0123456789abcdef", `document.querySelector('ol.stack .frame.app') && document.querySelector('.panel table.kv')`},
		{"#/traces", `document.querySelector('table.traces tbody tr')`},
		{"#/traces?view=failed", `document.querySelector('table.traces tbody tr')`},
		{"#/traces/4bf92f3577b34da6a3ce929d0e0e4736?span=b7ad6b7169203331", `document.querySelectorAll('.srow[data-span]').length === 2 && document.querySelector('.sdetail')`},
		{"#/routes", `document.querySelector('table.routes tbody tr') && document.querySelectorAll('svg.chart rect.hbar').length === 5`},
		{"#/logs", `document.querySelectorAll('.logrow').length === 2`},
		{"#/logs?trace_id=4bf92f3577b34da6a3ce929d0e0e4736&span_id=00f067aa0ba902b7", `document.querySelectorAll('.chip').length === 2 && document.querySelectorAll('.logrow').length === 2`},
		{"#/vigil", `document.querySelector('table.config') && document.querySelector('table.counters')`},
		{"#/errors/ffffffffffffffff", `document.querySelector('.fail')`},
		{"#/nowhere", `document.querySelector('.empty')`},
	}
	for _, p := range pages {
		b.hash(p.fragment)
		b.waitFor(p.fragment, p.ready)
		// The hostile string shows as text: the markup is in textContent, not in the DOM.
		if p.fragment != "#/nowhere" && !eval[bool](b, `document.getElementById('main').textContent.includes('<script>window.__xss=2</script>')`) {
			t.Errorf("%s: the hostile string is not shown as text", p.fragment)
		}
		b.clean("/api/errors/ffffffffffffffff")
	}

	// Clicks: a span row opens its detail; the exemplar dot links to a trace inside the page.
	b.hash("#/traces/4bf92f3577b34da6a3ce929d0e0e4736")
	b.waitFor("span rows", `document.querySelectorAll('.srow[data-span]').length === 2`)
	b.do("click span", chromedp.Click(chromedp.CSS(`.srow[data-span="00f067aa0ba902b7"] .nm`), chromedp.NodeVisible))
	b.waitFor("span detail", `document.querySelector('.sdetail') && document.querySelector('.srow.on[data-span="00f067aa0ba902b7"]')`)
	b.hash("#/routes")
	b.waitFor("chart", `document.querySelectorAll('svg.chart circle.exemplar').length === 2`)
	hrefs := eval[[]string](b, `[...document.querySelectorAll('a')].map(a => a.getAttribute('href'))`)
	for _, h := range hrefs {
		if !strings.HasPrefix(h, "#/") {
			t.Errorf("link leaves the page: %q", h)
		}
	}

	// Live: a new log line appears without a reload.
	b.hash("#/logs")
	b.waitFor("log rows", `document.querySelectorAll('.logrow').length === 2`)
	eval[chromedp.Void](b, `window.__noReload = 1`)
	version.Add(1)
	b.waitFor("new lines on the live tail", `document.querySelectorAll('.logrow').length === 4 && window.__noReload === 1`)
	b.clean()
}
