//go:build integration

package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"
)

// span is what the suite reads back of one span the collector received; the collector's file
// exporter writes one OTLP/JSON ExportTraceServiceRequest per line.
type span struct {
	Service string
	TraceID string
	SpanID  string
	Name    string
	Kind    int
	Attrs   map[string]string
}

func (s span) Attr(k string) string { return s.Attrs[k] }

const spanKindServer = 2

type otlpAttr struct {
	Key   string `json:"key"`
	Value struct {
		String *string  `json:"stringValue"`
		Int    *string  `json:"intValue"` // int64 travels as a JSON string
		Bool   *bool    `json:"boolValue"`
		Double *float64 `json:"doubleValue"`
	} `json:"value"`
}

func attrMap(attrs []otlpAttr) map[string]string {
	m := make(map[string]string, len(attrs))
	for _, a := range attrs {
		switch v := a.Value; {
		case v.String != nil:
			m[a.Key] = *v.String
		case v.Int != nil:
			m[a.Key] = *v.Int
		case v.Bool != nil:
			m[a.Key] = fmt.Sprint(*v.Bool)
		case v.Double != nil:
			m[a.Key] = fmt.Sprint(*v.Double)
		}
	}
	return m
}

// readSpans parses everything the collector has written so far.
func readSpans(file string) ([]span, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("the collector's file exporter output: %w", err)
	}
	defer f.Close()
	var out []span
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var req struct {
			ResourceSpans []struct {
				Resource struct {
					Attributes []otlpAttr `json:"attributes"`
				} `json:"resource"`
				ScopeSpans []struct {
					Spans []struct {
						TraceID    string     `json:"traceId"`
						SpanID     string     `json:"spanId"`
						Name       string     `json:"name"`
						Kind       int        `json:"kind"`
						Attributes []otlpAttr `json:"attributes"`
					} `json:"spans"`
				} `json:"scopeSpans"`
			} `json:"resourceSpans"`
		}
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			continue // a line being written right now
		}
		for _, rs := range req.ResourceSpans {
			service := attrMap(rs.Resource.Attributes)["service.name"]
			for _, ss := range rs.ScopeSpans {
				for _, sp := range ss.Spans {
					out = append(out, span{Service: service, TraceID: sp.TraceID, SpanID: sp.SpanID,
						Name: sp.Name, Kind: sp.Kind, Attrs: attrMap(sp.Attributes)})
				}
			}
		}
	}
	return out, sc.Err()
}

// testOTLP: the collector received every server span of the traffic over gRPC, with the route
// and status as attributes; the span of the request sent with a known trace id has the span id
// its log line names; the instance exporting over OTLP/HTTP got through too.
func (s *suite) testOTLP(t *testing.T) {
	t.Run("grpc", func(t *testing.T) {
		var byTrace span
		eventually(t, 20*time.Second, func() error {
			spans, err := readSpans(s.otelFile)
			if err != nil {
				return err
			}
			orders := 0
			byTrace = span{}
			for _, sp := range spans {
				// The OTLP/HTTP instance's one span has its own trace id; every other comes over gRPC.
				if sp.Service != "quickstart" || sp.Kind != spanKindServer || sp.Attr("http.route") != routeOrders || sp.TraceID == traceHTTP {
					continue
				}
				orders++
				if sp.TraceID == traceOrder {
					byTrace = sp
				}
			}
			if orders < wantOrders || byTrace.TraceID == "" {
				return fmt.Errorf("%d server spans of quickstart for %s (want %d), span of trace %s found: %v",
					orders, routeOrders, wantOrders, traceOrder, byTrace.TraceID != "")
			}
			if orders > wantOrders {
				t.Errorf("%d server spans for %s, want exactly %d", orders, routeOrders, wantOrders)
			}
			return nil
		})
		if got := byTrace.Attr("http.request.method"); got != "GET" {
			t.Errorf("span http.request.method = %q, want GET", got)
		}
		if got := byTrace.Attr("http.response.status_code"); got != "200" {
			t.Errorf("span http.response.status_code = %q, want 200", got)
		}
		if byTrace.Name != "GET "+routeOrders {
			t.Errorf("span name = %q, want %q", byTrace.Name, "GET "+routeOrders)
		}
		recs := s.quickstart.logRecords(map[string]string{"trace_id": traceOrder})
		if len(recs) == 0 {
			t.Fatalf("no log line carries trace_id %s", traceOrder)
		}
		for _, r := range recs {
			if r["span_id"] != byTrace.SpanID {
				t.Errorf("log line %v: span_id %v, want the server span's %s", r["msg"], r["span_id"], byTrace.SpanID)
			}
		}
	})
	t.Run("metrics", s.testOTLPMetrics) // otlp_signals_test.go
	t.Run("logs", s.testOTLPLogs)
	t.Run("http", func(t *testing.T) {
		eventually(t, 20*time.Second, func() error {
			spans, err := readSpans(s.otelFile)
			if err != nil {
				return err
			}
			for _, sp := range spans {
				// That instance exports only to the collector's OTLP/HTTP port.
				if sp.TraceID == traceHTTP && sp.Kind == spanKindServer && sp.Attr("http.route") == routeOrders {
					return nil
				}
			}
			return fmt.Errorf("no server span of trace %s from the instance exporting over OTLP/HTTP", traceHTTP)
		})
	})
}
