package observe_test

import (
	"context"
	"errors"
	"log"
	"net/http"
	"time"

	"github.com/vigil-go/vigil/observe"
)

func Example() {
	ctx := context.Background()
	o, err := observe.Init(ctx, observe.Config{Service: "checkout"})
	if err != nil {
		log.Fatal(err)
	}
	defer func() {
		// Shutdown returns by the deadline and says what it could not deliver.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := o.Shutdown(ctx); err != nil {
			log.Print(err)
		}
	}()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		observe.Logger().InfoContext(r.Context(), "order", "id", r.PathValue("id"))
	})
	mux.Handle("GET /metrics", observe.MetricsHandler())
	_ = http.Handler(observe.Middleware(mux)) // pass to http.ListenAndServe
}

func ExampleCapture() {
	ctx := context.Background()
	go func() {
		defer func() {
			if r := recover(); r != nil {
				observe.Capture(ctx, r) // the panic, its stack and the request, to Sentry and the log
			}
		}()
		panic(errors.New("worker failed"))
	}()
}
