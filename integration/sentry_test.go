//go:build integration

package integration

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-go/vigil/internal/sentrytest"
)

// sentryServer is the one stand-in of the suite: Sentry is a SaaS, so events go to a local
// server that decodes the envelope wire format (a JSON header line, then items each made of a
// JSON item header line and a payload of the given length or up to the next newline).
type sentryServer struct {
	*httptest.Server
	mu     sync.Mutex
	events []map[string]any
	bad    []string
}

func newSentryServer() *sentryServer {
	s := &sentryServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// DSN points a Sentry SDK at this server, project 42.
func (s *sentryServer) DSN() string {
	return strings.Replace(s.URL, "http://", "http://publickey@", 1) + "/42"
}

func (s *sentryServer) serve(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	raw, err := io.ReadAll(io.LimitReader(body, 10<<20))
	if err != nil || r.URL.Path != "/api/42/envelope/" {
		s.mu.Lock()
		s.bad = append(s.bad, fmt.Sprintf("%s %s: %v", r.Method, r.URL.Path, err))
		s.mu.Unlock()
		http.Error(w, "unexpected", http.StatusBadRequest)
		return
	}
	events, err := decodeEnvelope(raw)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.bad = append(s.bad, err.Error())
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.events = append(s.events, events...)
	w.WriteHeader(http.StatusOK)
}

// decodeEnvelope returns the payloads of the envelope's event items, as maps so the
// assertions see exactly the JSON that crossed the wire.
func decodeEnvelope(raw []byte) ([]map[string]any, error) {
	env, err := sentrytest.Decode(raw)
	if err != nil {
		return nil, err
	}
	var events []map[string]any
	for _, it := range env.Items {
		if it.Type != "event" {
			continue
		}
		var ev map[string]any
		if err := json.Unmarshal(it.Payload, &ev); err != nil {
			return nil, fmt.Errorf("event payload: %w", err)
		}
		events = append(events, ev)
	}
	return events, nil
}

// Events returns the events received so far.
func (s *sentryServer) Events() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.events...)
}

// path walks nested maps: path(ev, "contexts", "trace", "trace_id").
func path(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// testSentry: the panic the suite sent with a known trace id reached Sentry as an event whose
// trace context, tags and request carry that id and the route, the error log line names the
// same event id, and the collector holds a span of the same trace.
func (s *suite) testSentry(t *testing.T) {
	var ev map[string]any
	eventually(t, 15*time.Second, func() error {
		for _, e := range s.sentry.Events() {
			if path(e, "contexts", "trace", "trace_id") == tracePanic {
				ev = e
				return nil
			}
		}
		s.sentry.mu.Lock()
		defer s.sentry.mu.Unlock()
		return fmt.Errorf("no Sentry event with trace id %s among %d events (bad requests: %q)",
			tracePanic, len(s.sentry.events), s.sentry.bad)
	})
	// Tags stay low-cardinality: the per-event ids are in contexts.
	tags, _ := ev["tags"].(map[string]any)
	if tags["route"] != routePanic || tags["trace_id"] != nil || tags["request_id"] != nil {
		t.Errorf("event tags = %v, want route %s and no per-event ids", tags, routePanic)
	}
	if id := path(ev, "contexts", "attributes", "request_id"); id == nil || id == "" {
		t.Errorf("event has no request_id in contexts.attributes: %v", ev["contexts"])
	}
	if op := path(ev, "contexts", "trace", "op"); op != "http.server" {
		t.Errorf("event contexts.trace.op = %v, want http.server", op)
	}
	if tx := ev["transaction"]; tx != "GET "+routePanic {
		t.Errorf("event transaction = %v, want GET %s", tx, routePanic)
	}
	if path(ev, "exception", "values") == nil {
		t.Errorf("event exception not in the {\"values\": [...]} form: %v", ev["exception"])
	}
	if m := path(ev, "request", "method"); m != "GET" {
		t.Errorf("event request.method = %v, want GET", m)
	}
	if u, _ := path(ev, "request", "url").(string); !strings.HasSuffix(u, routePanic) {
		t.Errorf("event request.url = %q, want it to end in %s", u, routePanic)
	}
	if env := ev["environment"]; env != "integration" {
		t.Errorf("event environment = %v, want integration (SENTRY_ENVIRONMENT)", env)
	}

	// The log line of the capture names the event and the trace.
	eventID, _ := ev["event_id"].(string)
	recs := s.quickstart.logRecords(map[string]string{"trace_id": tracePanic})
	found := false
	for _, r := range recs {
		for _, v := range r {
			if sv, ok := v.(string); ok && eventID != "" && strings.ReplaceAll(sv, "-", "") == eventID {
				found = strings.EqualFold(fmt.Sprint(r["level"]), "error")
			}
		}
	}
	if !found {
		t.Errorf("no error log line with trace_id %s naming event %s; lines with that trace: %v", tracePanic, eventID, recs)
	}

	// The same trace reached the collector.
	eventually(t, 15*time.Second, func() error {
		spans, err := readSpans(s.otelFile)
		if err != nil {
			return err
		}
		for _, sp := range spans {
			if sp.TraceID == tracePanic && sp.Attr("http.route") == routePanic {
				if sp.Attr("http.response.status_code") != "500" {
					return fmt.Errorf("span of the panic has http.response.status_code %q, want 500", sp.Attr("http.response.status_code"))
				}
				return nil
			}
		}
		return fmt.Errorf("no span of trace %s with http.route %s in the collector's output", tracePanic, routePanic)
	})
}
