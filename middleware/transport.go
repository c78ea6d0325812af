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
// arrived; reading the body is not included.
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

	out := req
	var span trace.Span
	if h.tracer != nil {
		ctx, sp := h.tracer.Start(req.Context(), methodNames[mi], clientKind)
		span = sp
		if sp.IsRecording() {
			sp.SetAttributes(h.clientAttrs(req, mi, host)...)
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
	if hist := h.m.clientSeriesFor(clientKey{host: host, method: mi, status: uint16(min(max(status, 0), 999))}); hist != nil {
		hist.ObserveContext(out.Context(), now()-start)
	}
	if span != nil {
		if span.IsRecording() {
			switch {
			case err != nil:
				// RecordError's event, by hand: the SDK bounds neither event attributes nor
				// the status description, and the error's text carries the URL.
				msg := bound(h.matcher.Text(err.Error()))
				span.AddEvent("exception", trace.WithAttributes(
					attribute.String("exception.type", fmt.Sprintf("%T", err)),
					attribute.String("exception.message", msg)))
				span.SetAttributes(keyErrorType.String(errorType(err)))
				span.SetStatus(codes.Error, msg)
			default:
				span.SetAttributes(keyStatus.Int(status))
				if status >= 400 {
					// Client spans fail on 4xx too: the call did not get what it asked for.
					span.SetAttributes(keyErrorType.String(statusCode(status)))
					span.SetStatus(codes.Error, "")
				}
			}
		}
		span.End()
	}
	return resp, err
}

func (h *HTTP) clientAttrs(req *http.Request, mi uint8, host string) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 6)
	attrs = append(attrs, keyMethod.String(methodNames[mi]))
	if mi == methodOtherIdx {
		attrs = append(attrs, keyMethodOriginal.String(bound(req.Method)))
	}
	// A proxy forwards its client's path and query: bound them like the server side does.
	attrs = append(attrs, keyServerAddress.String(bound(host)), keyURLFull.String(bound(h.matcher.URL(req.URL))))
	if _, port := hostPort(req.URL.Host); port > 0 {
		attrs = append(attrs, keyServerPort.Int(port))
	} else if req.URL.Scheme == "https" {
		attrs = append(attrs, keyServerPort.Int(443))
	} else if req.URL.Scheme == "http" {
		attrs = append(attrs, keyServerPort.Int(80))
	}
	return attrs
}
