package middleware

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/attribute"
)

// This file is the one place where the facts of an HTTP request become span attributes
// and access-log fields, for the server middleware and the client transport alike. A
// fact that both record has one name in both: OpenTelemetry's HTTP semantic conventions
// (stable since v1.23), so a query written against the traces works on the logs.
// duration_ms, error.message, panic and aborted, which no span attribute records, are
// vigil's own (accesslog.go).

// The names of HTTP facts.
const (
	nameMethod         = "http.request.method"
	nameMethodOriginal = "http.request.method_original"
	nameRoute          = "http.route"
	nameStatus         = "http.response.status_code"
	nameURLPath        = "url.path"
	nameURLQuery       = "url.query"
	nameURLScheme      = "url.scheme"
	nameURLFull        = "url.full"
	nameServerAddress  = "server.address"
	nameServerPort     = "server.port"
	nameClientAddress  = "client.address"
	nameUserAgent      = "user_agent.original"
	nameProtocol       = "network.protocol.version"
	nameReqBodySize    = "http.request.body.size"
	nameRespBodySize   = "http.response.body.size"
	nameErrorType      = "error.type"
)

// The fields of HTTP access lines (server and client), as indexes into httpLineKeys:
// the line encoder renders and checks the keys once (logging.NewLines).
const (
	fMethod = iota
	fMethodOriginal
	fURLPath
	fURLQuery
	fStatus
	fDuration
	fReqBodySize
	fRespBodySize
	fClientAddress
	fUserAgent
	fProtocol
	fErrorType
	fPanic
	fAborted
	fServerAddress
	fServerPort
	fURLFull
	fErrorMessage
	numHTTPFields
)

var httpLineKeys = [numHTTPFields]string{
	fMethod: nameMethod, fMethodOriginal: nameMethodOriginal, fURLPath: nameURLPath,
	fURLQuery: nameURLQuery, fStatus: nameStatus, fDuration: nameDuration,
	fReqBodySize: nameReqBodySize, fRespBodySize: nameRespBodySize,
	fClientAddress: nameClientAddress, fUserAgent: nameUserAgent, fProtocol: nameProtocol,
	fErrorType: nameErrorType, fPanic: namePanic, fAborted: nameAborted,
	fServerAddress: nameServerAddress, fServerPort: nameServerPort, fURLFull: nameURLFull,
	fErrorMessage: nameErrorMessage,
}

// Span attribute keys of the same names.
const (
	keyMethod         = attribute.Key(nameMethod)
	keyMethodOriginal = attribute.Key(nameMethodOriginal)
	keyRoute          = attribute.Key(nameRoute)
	keyStatus         = attribute.Key(nameStatus)
	keyURLPath        = attribute.Key(nameURLPath)
	keyURLQuery       = attribute.Key(nameURLQuery)
	keyURLScheme      = attribute.Key(nameURLScheme)
	keyURLFull        = attribute.Key(nameURLFull)
	keyServerAddress  = attribute.Key(nameServerAddress)
	keyServerPort     = attribute.Key(nameServerPort)
	keyClientAddress  = attribute.Key(nameClientAddress)
	keyUserAgent      = attribute.Key(nameUserAgent)
	keyProtocol       = attribute.Key(nameProtocol)
	keyErrorType      = attribute.Key(nameErrorType)
	keyRequestID      = attribute.Key(attrRequestID)
)

// serverFacts are a served request's facts, computed once (fill) for the span and the
// access line; they live on finish's stack.
type serverFacts struct {
	ready          bool
	method         string // the method, or _OTHER
	methodOriginal string // the client's method when method is _OTHER
	scheme, path   string
	query          string // scrubbed and bounded; "" when there is none
	host           string // server.address, from the Host header
	port           int
	client         string // client.address: the peer's host, without the port
	userAgent      string
	proto          string
	route          string
	requestID      string
	status         int
	errorType      string // the status code for 5xx, else ""
	in, out        int64
}

// fill computes f once, however many of span and line ask.
func (h *HTTP) fill(f *serverFacts, st *serverRequest, route string, status int, in int64) *serverFacts {
	if f.ready {
		return f
	}
	r := st.req
	f.ready = true
	f.method = methodNames[st.method]
	if st.method == methodOtherIdx {
		f.methodOriginal = bound(r.Method)
	}
	f.scheme = "http"
	if r.TLS != nil {
		f.scheme = "https"
	}
	f.path = bound(r.URL.Path)
	if r.URL.RawQuery != "" {
		f.query = h.scrubbedQuery(st)
	}
	host, port := hostPort(r.Host)
	f.host, f.port = bound(host), port
	client, _ := hostPort(r.RemoteAddr)
	f.client = bound(client)
	if ua := r.Header["User-Agent"]; len(ua) > 0 { // canonical already: Get would canonicalize again
		f.userAgent = bound(ua[0])
	}
	f.proto = bound(protocolVersion(r))
	f.route, f.requestID, f.status = route, st.id[0], status
	if status >= 500 {
		f.errorType = statusCode(status)
	}
	f.in, f.out = in, st.w.written
	return f
}

// spanAttrs appends the server span's attributes to attrs (a pooled array, which the
// SDK copies from). Body sizes are opt-in in the conventions and stay off the span.
func (f *serverFacts) spanAttrs(attrs []attribute.KeyValue) []attribute.KeyValue {
	attrs = append(attrs, keyMethod.String(f.method))
	if f.methodOriginal != "" {
		attrs = append(attrs, keyMethodOriginal.String(f.methodOriginal))
	}
	attrs = append(attrs, keyURLScheme.String(f.scheme), keyURLPath.String(f.path))
	if f.query != "" {
		attrs = append(attrs, keyURLQuery.String(f.query))
	}
	if f.host != "" {
		attrs = append(attrs, keyServerAddress.String(f.host))
	}
	if f.port > 0 {
		attrs = append(attrs, keyServerPort.Int(f.port))
	}
	if f.client != "" {
		attrs = append(attrs, keyClientAddress.String(f.client))
	}
	if f.userAgent != "" {
		attrs = append(attrs, keyUserAgent.String(f.userAgent))
	}
	attrs = append(attrs, keyProtocol.String(f.proto), keyRequestID.String(f.requestID),
		keyRoute.String(f.route), keyStatus.Int(f.status))
	if f.errorType != "" {
		attrs = append(attrs, keyErrorType.String(f.errorType))
	}
	return attrs
}

// line writes the server access line's fields. http.route and request_id are not among
// them: the log handler writes them from the request's context, on this line and every
// other line of the request. Path, query, user agent and an unknown method are the
// client's text, scrubbed by the value rule (the query's secret parameters are redacted
// already); the rest come from fixed sets or numbers.
func (f *serverFacts) line(w *lineWriter, d time.Duration) {
	w.known(fMethod, f.method)
	if f.methodOriginal != "" {
		w.str(fMethodOriginal, f.methodOriginal)
	}
	w.str(fURLPath, f.path)
	if f.query != "" {
		w.str(fURLQuery, f.query)
	}
	w.int(fStatus, int64(f.status))
	w.duration(fDuration, d)
	w.int(fReqBodySize, f.in)
	w.int(fRespBodySize, f.out)
	if f.client != "" {
		w.str(fClientAddress, f.client)
	}
	if f.userAgent != "" {
		w.str(fUserAgent, f.userAgent)
	}
	w.str(fProtocol, f.proto)
	if f.errorType != "" {
		w.known(fErrorType, f.errorType)
	}
}

// clientFacts are an outgoing request's facts, for the client span and the client's
// access line.
type clientFacts struct {
	method, methodOriginal string
	host                   string // server.address
	port                   int    // server.port: explicit, else the scheme's
	url                    string // url.full, scrubbed and bounded; computed on demand
	status                 int    // 0: no response
	errorType              string
	errMessage             string // scrubbed and bounded
}

func (h *HTTP) clientFacts(req *http.Request, mi uint8, host string) clientFacts {
	f := clientFacts{method: methodNames[mi], host: bound(host)}
	if mi == methodOtherIdx {
		f.methodOriginal = bound(req.Method)
	}
	if _, port := hostPort(req.URL.Host); port > 0 {
		f.port = port
	} else if req.URL.Scheme == "https" {
		f.port = 443
	} else if req.URL.Scheme == "http" {
		f.port = 80
	}
	return f
}

// fullURL returns url.full; a proxy forwards its client's path and query, so it is
// scrubbed and bounded like the server's.
func (f *clientFacts) fullURL(h *HTTP, req *http.Request) string {
	if f.url == "" {
		f.url = bound(h.matcher.URL(req.URL))
	}
	return f.url
}

// end records the outcome: the status, or the transport error's kind and text.
func (f *clientFacts) end(h *HTTP, status int, err error) {
	f.status = status
	switch {
	case err != nil:
		f.errorType = errorType(err)
		// The error's text carries the URL: scrubbed, like url.full.
		f.errMessage = bound(h.matcher.Text(err.Error()))
	case status >= 400:
		// Client spans fail on 4xx too: the call did not get what it asked for.
		f.errorType = statusCode(status)
	}
}

// startAttrs are the client span's attributes known before the request is sent, so that
// samplers see them.
func (f *clientFacts) startAttrs(h *HTTP, req *http.Request) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 5)
	attrs = append(attrs, keyMethod.String(f.method))
	if f.methodOriginal != "" {
		attrs = append(attrs, keyMethodOriginal.String(f.methodOriginal))
	}
	attrs = append(attrs, keyServerAddress.String(f.host), keyURLFull.String(f.fullURL(h, req)))
	if f.port > 0 {
		attrs = append(attrs, keyServerPort.Int(f.port))
	}
	return attrs
}

// level is the client line's level: Debug for a success (the server logs the request),
// Warn for a 4xx, Error for a 5xx or no response.
func (f *clientFacts) level() slog.Level {
	switch {
	case f.status == 0 || f.status >= 500:
		return slog.LevelError
	case f.status >= 400:
		return slog.LevelWarn
	}
	return slog.LevelDebug
}

func (f *clientFacts) line(w *lineWriter, h *HTTP, req *http.Request, d time.Duration) {
	w.known(fMethod, f.method)
	if f.methodOriginal != "" {
		w.str(fMethodOriginal, f.methodOriginal)
	}
	w.str(fServerAddress, f.host)
	if f.port > 0 {
		w.int(fServerPort, int64(f.port))
	}
	w.str(fURLFull, f.fullURL(h, req))
	if f.status > 0 {
		w.int(fStatus, int64(f.status))
	}
	w.duration(fDuration, d)
	if f.errorType != "" {
		w.str(fErrorType, f.errorType)
	}
	if f.errMessage != "" {
		w.str(fErrorMessage, f.errMessage)
	}
}

// logClient writes the transport's line, "http client request"; a panicking log handler
// loses the line, never the response.
func (h *HTTP) logClient(ctx context.Context, f *clientFacts, req *http.Request, d time.Duration) {
	defer func() {
		if v := recover(); v != nil {
			h.hooks.panicked(ctx, hookLogger, v)
		}
	}()
	level := f.level()
	w := lineWriter{keys: httpLineKeys[:]}
	if !w.begin(ctx, h.lines, h.logger, level, "http client request") {
		return
	}
	f.line(&w, h, req, d)
	w.end(ctx, h.logger, level, "http client request")
}
