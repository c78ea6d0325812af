package tracing

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/vigil-go/vigil/internal/limits"
)

// SpanLimits are the SDK's span limits, as the OTEL_SPAN_*_LIMIT, OTEL_EVENT_* and
// OTEL_LINK_* variables name them. A zero field means vigil's bound (internal/limits
// documents them): every attribute value is bounded, so a client-controlled value cannot
// make one span megabytes long. A limit raised here still cannot sink other spans: export
// requests are split by size (limits.ExportBatchBytes).
type SpanLimits struct {
	AttributeValueLength int // characters per attribute value; OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT
	Attributes           int // per span; OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT
	Events               int // per span; OTEL_SPAN_EVENT_COUNT_LIMIT
	Links                int // per span; OTEL_SPAN_LINK_COUNT_LIMIT
	AttributesPerEvent   int // OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT
	AttributesPerLink    int // OTEL_LINK_ATTRIBUTE_COUNT_LIMIT
}

// sdk returns the SDK limits: l's fields where set, vigil's bounds elsewhere.
func (l SpanLimits) sdk() sdktrace.SpanLimits {
	or := func(v, def int) int {
		if v > 0 {
			return v
		}
		return def
	}
	return sdktrace.SpanLimits{
		AttributeValueLengthLimit:   or(l.AttributeValueLength, limits.SpanAttrValue),
		AttributeCountLimit:         or(l.Attributes, limits.SpanAttrs),
		EventCountLimit:             or(l.Events, limits.SpanEvents),
		LinkCountLimit:              or(l.Links, limits.SpanLinks),
		AttributePerEventCountLimit: or(l.AttributesPerEvent, limits.SpanAttrsPerEvent),
		AttributePerLinkCountLimit:  or(l.AttributesPerLink, limits.SpanAttrsPerEvent),
	}
}

// spanLimits are vigil's own bounds.
var spanLimits = SpanLimits{}.sdk()

// splitExporter hands each batch to the real exporter in parts whose estimated encoded
// size stays under a byte budget (limits.ExportBatchBytes). An OTLP receiver refuses a
// whole request over its limit (4 MiB by default for gRPC), so without the split one
// request's oversized spans would take every other span of its batch down with them.
// A span over the budget on its own is sent alone: at worst it is lost by itself.
//
// It also bounds event and link attribute values as the SDK bounds span attributes
// (the SDK leaves those unbounded), copying only the spans that need it.
type splitExporter struct {
	sdktrace.SpanExporter
	budget int
}

func newSplitExporter(next sdktrace.SpanExporter) *splitExporter {
	return &splitExporter{SpanExporter: next, budget: limits.ExportBatchBytes}
}

// ExportSpans exports spans in budget-sized parts, in order. It goes on after a part
// fails (the others may well fit), and returns a *partialExportError saying how many
// spans were not exported when any part failed.
func (e *splitExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	spans = boundEventAttrs(spans)
	var (
		errs        []error
		failed      int
		start, size int
		res         *resource.Resource // the resource already counted in this part
	)
	flush := func(part []sdktrace.ReadOnlySpan) {
		if len(part) == 0 {
			return
		}
		if err := ctx.Err(); err != nil {
			errs, failed = append(errs, err), failed+len(part)
			return
		}
		if err := e.SpanExporter.ExportSpans(ctx, part); err != nil {
			errs, failed = append(errs, err), failed+len(part)
		}
	}
	for i, s := range spans {
		n := spanSize(s)
		if r := s.Resource(); r != res {
			n += resourceSize(r)
		}
		if i > start && size+n > e.budget {
			flush(spans[start:i])
			start, size = i, 0
			n = spanSize(s) + resourceSize(s.Resource())
		}
		size += n
		res = s.Resource()
	}
	flush(spans[start:])
	if failed == 0 {
		return nil
	}
	return &partialExportError{failed: failed, total: len(spans), err: errors.Join(errs...)}
}

// partialExportError reports a batch of which some parts failed.
type partialExportError struct {
	failed, total int
	err           error
}

func (e *partialExportError) Error() string {
	if e.failed == e.total {
		return e.err.Error()
	}
	return fmt.Sprintf("%d of %d spans not exported: %v", e.failed, e.total, e.err)
}

func (e *partialExportError) Unwrap() error { return e.err }

// failedSpans returns how many of the n spans handed to an exporter were lost when it
// returned err: the count a partialExportError carries, else all of them (nil: none).
func failedSpans(err error, n int) int {
	if err == nil {
		return 0
	}
	var pe *partialExportError
	if errors.As(err, &pe) {
		return pe.failed
	}
	return n
}

// Sizes in the OTLP protobuf encoding, estimated from above: each field costs its
// content plus a tag and a length (overhead), and a span's fixed fields (ids, times,
// kind, flags, counts, status code) cost at most spanFixed. OTLP/JSON is larger for
// short values (hex ids, field names) but similar for the long strings that matter here.
const (
	overhead  = 8
	spanFixed = 128
)

func spanSize(s sdktrace.ReadOnlySpan) int {
	n := spanFixed + len(s.Name()) + len(s.SpanContext().TraceState().String()) + len(s.Status().Description)
	n += attrsSize(s.Attributes())
	for _, ev := range s.Events() {
		n += 2*overhead + 16 + len(ev.Name) + attrsSize(ev.Attributes)
	}
	for _, l := range s.Links() {
		n += 3*overhead + 32 + len(l.SpanContext.TraceState().String()) + attrsSize(l.Attributes)
	}
	sc := s.InstrumentationScope()
	n += 3*overhead + len(sc.Name) + len(sc.Version) + len(sc.SchemaURL) + attrsSize(sc.Attributes.ToSlice())
	return n
}

func resourceSize(r *resource.Resource) int {
	if r == nil {
		return overhead
	}
	return 2*overhead + len(r.SchemaURL()) + attrsSize(r.Attributes())
}

func attrsSize(kvs []attribute.KeyValue) int {
	n := 0
	for _, kv := range kvs {
		n += 2*overhead + len(kv.Key) + valueSize(kv.Value)
	}
	return n
}

func valueSize(v attribute.Value) int {
	switch v.Type() {
	case attribute.STRING:
		return overhead + len(v.AsString())
	case attribute.BOOL, attribute.INT64, attribute.FLOAT64:
		return overhead + 8
	case attribute.STRINGSLICE:
		n := overhead
		for _, s := range v.AsStringSlice() {
			n += 2*overhead + len(s)
		}
		return n
	case attribute.BOOLSLICE:
		return overhead + len(v.AsBoolSlice())*(overhead+1)
	case attribute.INT64SLICE:
		return overhead + len(v.AsInt64Slice())*(overhead+10)
	case attribute.FLOAT64SLICE:
		return overhead + len(v.AsFloat64Slice())*(overhead+8)
	case attribute.BYTESLICE:
		return overhead + len(v.AsByteSlice())
	case attribute.SLICE:
		n := overhead
		for _, x := range v.AsSlice() {
			n += overhead + valueSize(x)
		}
		return n
	case attribute.MAP:
		return overhead + attrsSize(v.AsMap())
	}
	return overhead
}

// boundEventAttrs cuts string values of event and link attributes to
// limits.SpanAttrValue, copying only the spans that have longer ones.
func boundEventAttrs(spans []sdktrace.ReadOnlySpan) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for i, s := range spans {
		if !eventsTooLong(s) {
			continue
		}
		if out == nil {
			out = append([]sdktrace.ReadOnlySpan(nil), spans...)
		}
		stub := tracetest.SpanStubFromReadOnlySpan(s)
		for j := range stub.Events {
			stub.Events[j].Attributes = boundAttrs(stub.Events[j].Attributes)
		}
		for j := range stub.Links {
			stub.Links[j].Attributes = boundAttrs(stub.Links[j].Attributes)
		}
		out[i] = stub.Snapshot()
	}
	if out == nil {
		return spans
	}
	return out
}

func eventsTooLong(s sdktrace.ReadOnlySpan) bool {
	for _, ev := range s.Events() {
		if attrsTooLong(ev.Attributes) {
			return true
		}
	}
	for _, l := range s.Links() {
		if attrsTooLong(l.Attributes) {
			return true
		}
	}
	return false
}

func attrsTooLong(kvs []attribute.KeyValue) bool {
	for _, kv := range kvs {
		if kv.Value.Type() == attribute.STRING && len(kv.Value.AsString()) > limits.SpanAttrValue {
			return true
		}
	}
	return false
}

func boundAttrs(kvs []attribute.KeyValue) []attribute.KeyValue {
	out := make([]attribute.KeyValue, len(kvs))
	for i, kv := range kvs {
		if kv.Value.Type() == attribute.STRING && len(kv.Value.AsString()) > limits.SpanAttrValue {
			kv = attribute.String(string(kv.Key), limits.Truncate(kv.Value.AsString(), limits.SpanAttrValue))
		}
		out[i] = kv
	}
	return out
}
