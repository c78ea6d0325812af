package health

import (
	"encoding/json"
	"net/http"
)

// livezBody is the whole answer of LivezHandler: liveness runs no check.
var livezBody = []byte(`{"status":"ok","checks":[]}` + "\n")

// LivezHandler answers liveness probes: 200 with {"status":"ok","checks":[]} as long as
// the process can serve HTTP. It runs no check, whatever the phase: a dependency that is
// down is a reason to stop sending traffic (readiness), not to restart the process,
// and a restart during shutdown would cut the drain short.
func (c *Checker) LivezHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !probeMethod(w, r) {
			return
		}
		header(w)
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(livezBody)
		}
	})
}

// ReadyzHandler answers readiness probes with the Report as JSON (see Check): 200 when
// its status is ok, 503 otherwise (a failing check, starting or stopping).
func (c *Checker) ReadyzHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !probeMethod(w, r) {
			return
		}
		report := c.Check(r.Context())
		body, err := json.Marshal(report)
		if err != nil { // unreachable: a Report holds strings, numbers and times
			http.Error(w, `{"status":"fail","checks":[]}`, http.StatusInternalServerError)
			return
		}
		header(w)
		code := http.StatusOK
		if report.Status != StatusOK {
			code = http.StatusServiceUnavailable
		}
		w.WriteHeader(code)
		if r.Method != http.MethodHead {
			_, _ = w.Write(append(body, '\n'))
		}
	})
}

// probeMethod accepts GET and HEAD, and answers anything else with 405.
func probeMethod(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}

func header(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
}
