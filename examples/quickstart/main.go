// Command quickstart is a small net/http service instrumented with vigil.
//
//	go run ./examples/quickstart            # listens on :8080
//	curl localhost:8080/orders/42
//	curl localhost:8080/metrics
package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/vigil-go/vigil/observe"
)

func main() {
	addr := flag.String("addr", ":8080", "listen address")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	o, err := observe.Init(ctx, observe.Config{Service: "quickstart"})
	if err != nil {
		slog.Error("observe.Init", "error", err)
		os.Exit(1)
	}
	defer o.Shutdown(context.Background())

	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", getOrder)
	mux.Handle("GET /metrics", observe.MetricsHandler())

	srv := &http.Server{Addr: *addr, Handler: observe.Middleware(mux), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()
	observe.Logger().Info("listening", "addr", *addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		observe.Logger().Error("server", "error", err)
	}
}

func getOrder(w http.ResponseWriter, r *http.Request) {
	observe.Logger().InfoContext(r.Context(), "order requested", "order_id", r.PathValue("id"))
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"id":"` + r.PathValue("id") + `","status":"shipped"}` + "\n"))
}
