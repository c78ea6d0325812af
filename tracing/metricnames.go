package tracing

import (
	"context"
	"encoding/hex"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// SemconvName is the OpenTelemetry name and unit of one of vigil's families.
type SemconvName struct{ Name, Unit string }

// SemconvNames is the one table mapping vigil's Prometheus names back to the semantic
// conventions they were derived from, for export over OTLP (and console): a family
// listed here leaves with the convention's name and unit, and its labels with the
// attribute names of SemconvLabels. Every other family (the Go runtime and process
// collectors, the host collector, the vigil_* self metrics, the user's own counters)
// keeps its Prometheus name and labels, and has no unit.
var SemconvNames = map[string]SemconvName{
	"http_server_request_duration_seconds": {"http.server.request.duration", "s"},
	"http_server_active_requests":          {"http.server.active_requests", "{request}"},
	"http_server_request_body_size_bytes":  {"http.server.request.body.size", "By"},
	"http_server_response_body_size_bytes": {"http.server.response.body.size", "By"},
	"http_client_request_duration_seconds": {"http.client.request.duration", "s"},
	"rpc_server_call_duration_seconds":     {"rpc.server.call.duration", "s"},
	"rpc_client_call_duration_seconds":     {"rpc.client.call.duration", "s"},
	"rpc_server_requests_per_rpc":          {"rpc.server.requests_per_rpc", "{count}"},
	"rpc_server_responses_per_rpc":         {"rpc.server.responses_per_rpc", "{count}"},
	"rpc_client_requests_per_rpc":          {"rpc.client.requests_per_rpc", "{count}"},
	"rpc_client_responses_per_rpc":         {"rpc.client.responses_per_rpc", "{count}"},
}

// SemconvLabels maps the labels of the SemconvNames families to attribute names.
// Labels not listed (http_response_status_class, vigil's own) keep their names.
var SemconvLabels = map[string]string{
	"http_request_method":       "http.request.method",
	"http_route":                "http.route",
	"http_response_status_code": "http.response.status_code",
	"server_address":            "server.address",
	"server_port":               "server.port",
	"rpc_system_name":           "rpc.system.name",
	"rpc_method":                "rpc.method",
	"rpc_response_status_code":  "rpc.response.status_code",
	"error_type":                "error.type",
}

// intAttrs are the conventions' integer attributes, which Prometheus labels carry as text.
var intAttrs = map[string]bool{"http.response.status_code": true, "server.port": true}

// semconvProducer renames the families the bridge produces from vigil's registry.
type semconvProducer struct{ next sdkmetric.Producer }

func (p *semconvProducer) Produce(ctx context.Context) ([]metricdata.ScopeMetrics, error) {
	sms, err := p.next.Produce(ctx)
	for i := range sms {
		for j := range sms[i].Metrics {
			m := &sms[i].Metrics[j]
			m.Data = fixExemplars(m.Data)
			sc, ok := SemconvNames[m.Name]
			if !ok {
				continue
			}
			m.Name, m.Unit = sc.Name, sc.Unit
			m.Data = renameAttrs(m.Data)
		}
	}
	return sms, err
}

func renameAttrs(data metricdata.Aggregation) metricdata.Aggregation {
	switch d := data.(type) {
	case metricdata.Histogram[float64]:
		for i := range d.DataPoints {
			d.DataPoints[i].Attributes = semconvAttrs(d.DataPoints[i].Attributes)
		}
		return d
	case metricdata.ExponentialHistogram[float64]:
		for i := range d.DataPoints {
			d.DataPoints[i].Attributes = semconvAttrs(d.DataPoints[i].Attributes)
		}
		return d
	case metricdata.Sum[float64]:
		for i := range d.DataPoints {
			d.DataPoints[i].Attributes = semconvAttrs(d.DataPoints[i].Attributes)
		}
		return d
	case metricdata.Gauge[float64]:
		for i := range d.DataPoints {
			d.DataPoints[i].Attributes = semconvAttrs(d.DataPoints[i].Attributes)
		}
		return d
	case metricdata.Summary:
		for i := range d.DataPoints {
			d.DataPoints[i].Attributes = semconvAttrs(d.DataPoints[i].Attributes)
		}
		return d
	}
	return data
}

func semconvAttrs(set attribute.Set) attribute.Set {
	kvs := make([]attribute.KeyValue, 0, set.Len())
	for it := set.Iter(); it.Next(); {
		kv := it.Attribute()
		name, ok := SemconvLabels[string(kv.Key)]
		if !ok {
			kvs = append(kvs, kv)
			continue
		}
		if intAttrs[name] {
			if n, err := strconv.ParseInt(kv.Value.AsString(), 10, 64); err == nil {
				kvs = append(kvs, attribute.Int64(name, n))
				continue
			}
		}
		kvs = append(kvs, attribute.KeyValue{Key: attribute.Key(name), Value: kv.Value})
	}
	return attribute.NewSet(kvs...)
}

// fixExemplars turns the trace and span ids of vigil's exemplars, which the bridge copies
// as the labels' hex text, into the 16 and 8 bytes OTLP requires: a receiver refuses the
// whole export otherwise ("invalid SpanID length"). Ids that are not hex of the right
// length are left out.
func fixExemplars(data metricdata.Aggregation) metricdata.Aggregation {
	fix := func(es []metricdata.Exemplar[float64]) {
		for i := range es {
			es[i].TraceID = hexID(es[i].TraceID, 16)
			es[i].SpanID = hexID(es[i].SpanID, 8)
		}
	}
	switch d := data.(type) {
	case metricdata.Histogram[float64]:
		for i := range d.DataPoints {
			fix(d.DataPoints[i].Exemplars)
		}
	case metricdata.ExponentialHistogram[float64]:
		for i := range d.DataPoints {
			fix(d.DataPoints[i].Exemplars)
		}
	case metricdata.Sum[float64]:
		for i := range d.DataPoints {
			fix(d.DataPoints[i].Exemplars)
		}
	case metricdata.Gauge[float64]:
		for i := range d.DataPoints {
			fix(d.DataPoints[i].Exemplars)
		}
	}
	return data
}

func hexID(b []byte, n int) []byte {
	if len(b) == n {
		return b
	}
	if len(b) != 2*n {
		return nil
	}
	out := make([]byte, n)
	if _, err := hex.Decode(out, b); err != nil {
		return nil
	}
	return out
}
