//go:build integration

package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The collector writes metrics and logs next to the spans (run.sh), one OTLP/JSON export
// request per line.
func (s *suite) signalFile(name string) string { return filepath.Join(filepath.Dir(s.otelFile), name) }

// eachLine decodes every complete JSON line of file into a fresh v and calls f.
func eachLine[T any](file string, f func(T)) error {
	fh, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("the collector's file exporter output: %w", err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var v T
		if json.Unmarshal(sc.Bytes(), &v) == nil { // else a line being written right now
			f(v)
		}
	}
	return sc.Err()
}

type otlpMetricsLine struct {
	ResourceMetrics []struct {
		Resource struct {
			Attributes []otlpAttr `json:"attributes"`
		} `json:"resource"`
		ScopeMetrics []struct {
			Metrics []struct {
				Name      string `json:"name"`
				Unit      string `json:"unit"`
				Histogram *struct {
					DataPoints []struct {
						Attributes []otlpAttr `json:"attributes"`
						Count      string     `json:"count"` // uint64 travels as a string
					} `json:"dataPoints"`
				} `json:"histogram"`
			} `json:"metrics"`
		} `json:"scopeMetrics"`
	} `json:"resourceMetrics"`
}

// testOTLPMetrics: the instance with OTEL_METRICS_EXPORTER=otlp,prometheus pushes vigil's
// HTTP family to the collector under its semantic-convention name, unit and attributes.
func (s *suite) testOTLPMetrics(t *testing.T) {
	eventually(t, 20*time.Second, func() error {
		var found, seen bool
		var unit string
		var points []string
		err := eachLine(s.signalFile("otel-metrics.jsonl"), func(l otlpMetricsLine) {
			for _, rm := range l.ResourceMetrics {
				if attrMap(rm.Resource.Attributes)["service.name"] != "quickstart" {
					continue
				}
				for _, sm := range rm.ScopeMetrics {
					for _, m := range sm.Metrics {
						if m.Name != "http.server.request.duration" || m.Histogram == nil {
							continue
						}
						seen, unit = true, m.Unit
						for _, p := range m.Histogram.DataPoints {
							a := attrMap(p.Attributes)
							points = append(points, fmt.Sprintf("%v count %s", a, p.Count))
							if a["http.route"] == routeOrders && a["http.request.method"] == "GET" &&
								a["http.response.status_code"] == "200" && p.Count != "0" {
								found = true
							}
						}
					}
				}
			}
		})
		switch {
		case err != nil:
			return err
		case !seen:
			return fmt.Errorf("no http.server.request.duration from quickstart in the collector's metrics")
		case unit != "s":
			return fmt.Errorf("http.server.request.duration has unit %q, want s", unit)
		case !found:
			return fmt.Errorf("no http.server.request.duration data point with http.route=%s, GET, 200 among %v", routeOrders, points)
		}
		return nil
	})
}

type otlpLogsLine struct {
	ResourceLogs []struct {
		Resource struct {
			Attributes []otlpAttr `json:"attributes"`
		} `json:"resource"`
		ScopeLogs []struct {
			LogRecords []struct {
				TraceID string `json:"traceId"`
				SpanID  string `json:"spanId"`
				Body    struct {
					String string `json:"stringValue"`
				} `json:"body"`
				Attributes []otlpAttr `json:"attributes"`
			} `json:"logRecords"`
		} `json:"scopeLogs"`
	} `json:"resourceLogs"`
}

// testOTLPLogs: with OTEL_LOGS_EXPORTER=otlp, the log lines of the request sent with a known
// trace id reach the collector with that trace id and the server span's span id, over gRPC
// (quickstart) and HTTP (the second instance).
func (s *suite) testOTLPLogs(t *testing.T) {
	for _, tc := range []struct{ name, trace string }{{"grpc", traceOrder}, {"http", traceHTTP}} {
		t.Run(tc.name, func(t *testing.T) {
			eventually(t, 20*time.Second, func() error {
				spans, err := readSpans(s.otelFile)
				if err != nil {
					return err
				}
				spanID := ""
				for _, sp := range spans {
					if sp.TraceID == tc.trace && sp.Kind == spanKindServer {
						spanID = sp.SpanID
					}
				}
				if spanID == "" {
					return fmt.Errorf("no server span of trace %s yet", tc.trace)
				}
				var n int
				var wrong []string
				err = eachLine(s.signalFile("otel-logs.jsonl"), func(l otlpLogsLine) {
					for _, rl := range l.ResourceLogs {
						if attrMap(rl.Resource.Attributes)["service.name"] != "quickstart" {
							continue
						}
						for _, sl := range rl.ScopeLogs {
							for _, r := range sl.LogRecords {
								if !strings.EqualFold(r.TraceID, tc.trace) {
									continue
								}
								n++
								if !strings.EqualFold(r.SpanID, spanID) {
									wrong = append(wrong, fmt.Sprintf("%q has span id %s", r.Body.String, r.SpanID))
								}
							}
						}
					}
				})
				switch {
				case err != nil:
					return err
				case n == 0:
					return fmt.Errorf("no log record with trace id %s in the collector's logs", tc.trace)
				case len(wrong) > 0:
					t.Errorf("log records of trace %s not on the server span %s: %v", tc.trace, spanID, wrong)
				}
				return nil
			})
		})
	}
}
