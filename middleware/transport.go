package middleware

import (
	"fmt"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Transport wraps base (nil means http.DefaultTransport) so each request gets a client
// span, carries the trace context to the server (W3C traceparent), and is timed in
// http_client_request_duration_seconds by method, server address and status. The
// duration and the span end when RoundTrip returns, that is when the response headers
// arrived; reading the body is not included. With a Logger, each request also gets an
// "http client request" line: Debug for a success, Warn for a 4xx, Error for a 5xx or a
// transport error.
func (h *HTTP) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{h: h, base: base}
}

type transport struct {
	h    *HTTP
	base http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	h := t.h
	start := now()
	mi := methodIndex(req.Method)
	host := req.URL.Hostname()

	f := h.clientFacts(req, mi, host)
	out := req
	var span trace.Span
	if h.tracer != nil {
		ctx, sp := h.tracer.Start(req.Context(), methodNames[mi], clientKind)
		span = sp
		if sp.IsRecording() {
			sp.SetAttributes(f.startAttrs(h, req)...)
		}
		// A RoundTripper must not modify its request: inject into a copy of the header.
		out = req.WithContext(ctx)
		out.Header = req.Header.Clone()
		if out.Header == nil {
			out.Header = make(http.Header)
		}
		h.inject(ctx, out.Header)
	}

	resp, err := t.base.RoundTrip(out)

	status := 0
	if err == nil && resp != nil {
		status = resp.StatusCode
	}
	d := now() - start
	if hist := h.m.clientSeriesFor(clientKey{host: host, method: mi, status: uint16(min(max(status, 0), 999))}); hist != nil {
		hist.ObserveContext(out.Context(), d)
	}
	f.end(h, status, err)
	if span != nil {
		if span.IsRecording() {
			if err != nil {
				// RecordError's event, by hand: the SDK bounds neither event attributes nor
				// the status description.
				span.AddEvent("exception", trace.WithAttributes(
					attribute.String("exception.type", fmt.Sprintf("%T", err)),
					attribute.String("exception.message", f.errMessage)))
			} else {
				span.SetAttributes(keyStatus.Int(status))
			}
			if f.errorType != "" {
				span.SetAttributes(keyErrorType.String(f.errorType))
				span.SetStatus(codes.Error, f.errMessage)
			}
		}
		span.End()
	}
	if h.logger != nil {
		h.logClient(out.Context(), &f, req, d)
	}
	return resp, err
}
