package middleware_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/vigil-go/vigil/middleware"
)

func TestTransport(t *testing.T) {
	s := newStack(t, nil)
	var gotTraceparent string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotTraceparent = r.Header.Get("Traceparent")
		if r.URL.Path == "/missing" {
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer backend.Close()
	client := &http.Client{Transport: s.h.Transport(backend.Client().Transport)}
	u, _ := url.Parse(backend.URL)

	for _, tt := range []struct {
		path      string
		status    int
		spanError bool
	}{{"/ok?api_key=k1", 200, false}, {"/missing", 404, true}} {
		req, _ := http.NewRequest("GET", backend.URL+tt.path, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if req.Header.Get("Traceparent") != "" {
			t.Error("the transport modified the caller's request")
		}
		spans := s.exp.GetSpans().Snapshots()
		sp := spans[len(spans)-1]
		if sp.SpanKind() != trace.SpanKindClient || sp.Name() != "GET" {
			t.Errorf("span %q kind %v", sp.Name(), sp.SpanKind())
		}
		if want := "00-" + sp.SpanContext().TraceID().String() + "-" + sp.SpanContext().SpanID().String() + "-01"; gotTraceparent != want {
			t.Errorf("server saw traceparent %q, want %q", gotTraceparent, want)
		}
		a := attrs(sp)
		if a["http.response.status_code"].AsInt64() != int64(tt.status) || a["server.address"].AsString() != u.Hostname() {
			t.Errorf("span attributes %v", a)
		}
		if full := a["url.full"].AsString(); tt.status == 200 && full != backend.URL+"/ok?api_key=[REDACTED]" {
			t.Errorf("url.full = %q, want the key redacted", full)
		}
		if (sp.Status().Code == codes.Error) != tt.spanError {
			t.Errorf("span status %v", sp.Status())
		}
	}
	dur := gather(t, s.reg, middleware.MetricClientDuration)
	for _, code := range []string{"200", "404"} {
		want := map[string]string{"http_request_method": "GET", "server_address": u.Hostname(),
			"http_response_status_code": code, "http_response_status_class": code[:1] + "xx"}
		if n, ok := find(dur, want); !ok || n != 1 {
			t.Errorf("client series %v missing: %v", want, dur)
		}
	}
}

func TestTransportError(t *testing.T) {
	s := newStack(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: connection refused
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: s.h.Transport(tr)}
	if _, err := client.Get("http://" + addr + "/"); err == nil {
		t.Fatal("want an error")
	}
	sp := s.exp.GetSpans().Snapshots()[0]
	if sp.Status().Code != codes.Error || attrs(sp)["error.type"].AsString() != "connection" || len(sp.Events()) == 0 {
		t.Errorf("span status %v attrs %v events %v", sp.Status(), attrs(sp), sp.Events())
	}
	// No response, no status code: the code label is empty (which Prometheus treats as
	// absent) and the class says "error".
	dur := gather(t, s.reg, middleware.MetricClientDuration)
	if len(dur) != 1 || dur[0].labels["http_response_status_class"] != "error" ||
		dur[0].labels["http_response_status_code"] != "" || dur[0].labels["server_address"] != "127.0.0.1" {
		t.Errorf("error not recorded: %v", dur)
	}
}
