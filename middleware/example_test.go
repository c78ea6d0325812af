package middleware_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/vigil-go/vigil/logging"
	"github.com/vigil-go/vigil/metrics"
	"github.com/vigil-go/vigil/middleware"
)

func ExampleHTTP_Handler() {
	reg, _ := metrics.New(metrics.Config{DisableGoCollector: true, DisableProcessCollector: true, DisableHostCollector: true})
	var logs bytes.Buffer
	logger, _ := logging.New(logging.Config{Output: &logs})
	h, err := middleware.NewHTTP(middleware.HTTPConfig{Registry: reg, Logger: logger})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "order "+r.PathValue("id"))
	})
	srv := h.Handler(mux)

	req := httptest.NewRequest("GET", "/orders/42", nil)
	req.Header.Set("X-Request-ID", "req-1")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Header().Get("X-Request-ID"))

	var line map[string]any
	_ = json.Unmarshal(logs.Bytes(), &line)
	fmt.Println(line["level"], line["msg"], line["http.request.method"], line["route"], line["http.response.status_code"], line["request_id"])
	// Output:
	// 200 req-1
	// INFO http request GET /orders/{id} 200 req-1
}

func ExampleHTTP_Transport() {
	reg, _ := metrics.New(metrics.Config{DisableGoCollector: true, DisableProcessCollector: true, DisableHostCollector: true})
	h, _ := middleware.NewHTTP(middleware.HTTPConfig{Registry: reg})
	client := &http.Client{Transport: h.Transport(nil)} // nil: http.DefaultTransport
	_ = client
	fmt.Println(middleware.MetricClientDuration)
	// Output: http_client_request_duration_seconds
}

func ExampleSetRoute() {
	h, _ := middleware.NewHTTP(middleware.HTTPConfig{Logger: slog.New(slog.DiscardHandler)})
	// A router the middleware cannot read names the route itself.
	srv := h.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		middleware.SetRoute(r.Context(), "/legacy/{page}")
		fmt.Println("request id set:", middleware.RequestID(r.Context()) != "")
	}))
	srv.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/legacy/about", nil))
	// Output: request id set: true
}
