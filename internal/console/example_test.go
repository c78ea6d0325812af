package console_test

import (
	"fmt"
	"io"
	"net/http/httptest"

	"github.com/vigil-go/vigil/internal/console"
)

// A Console keeps what its hooks are given and serves it as JSON; here one log line,
// read back by a loopback client.
func Example() {
	c := console.New(console.Options{})
	logOut := c.LogWriter(io.Discard) // observe wraps the log writer like this
	fmt.Fprintln(logOut, `{"time":"2026-12-02T10:00:00Z","level":"WARN","msg":"<script>alert(1)</script>","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}`)

	r := httptest.NewRequest("GET", "/debug/vigil/api/logs?level=warn", nil)
	r.RemoteAddr = "127.0.0.1:50000"
	r.Host = "localhost:8080"
	w := httptest.NewRecorder()
	c.Handler().ServeHTTP(w, r)
	fmt.Print(w.Code, " ", w.Body.String())
	// Output:
	// 200 {"seq":1,"lines":[{"seq":1,"time":"2026-12-02T10:00:00Z","level":"WARN","msg":"\u003cscript\u003ealert(1)\u003c/script\u003e","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"","request_id":"","raw":{"time":"2026-12-02T10:00:00Z","level":"WARN","msg":"\u003cscript\u003ealert(1)\u003c/script\u003e","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}}]}
}
