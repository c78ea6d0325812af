package health_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/vigil-go/vigil/health"
)

// A readiness check that fails, then passes: /readyz answers 503, then 200, while
// /livez answers 200 throughout.
func Example() {
	var queueUp atomic.Bool
	hc := health.New(health.Config{
		Interval: time.Millisecond, // results answer probes for 1ms (1s by default)
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	_ = hc.Add("queue", func(ctx context.Context) error {
		if !queueUp.Load() {
			return errors.New("dial amqp://app:hunter2@10.0.0.7:5672: connection refused")
		}
		return nil
	})

	mux := http.NewServeMux()
	mux.Handle("GET /livez", hc.LivezHandler())
	mux.Handle("GET /readyz", hc.ReadyzHandler())
	probe := func(path string) {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		fmt.Println(path, w.Code)
	}

	probe("/livez")
	probe("/readyz")
	r := hc.Last().Checks[0]
	fmt.Println(r.Name, r.Status, r.Error)

	queueUp.Store(true)
	time.Sleep(2 * time.Millisecond) // past the interval: the next probe runs the check
	probe("/readyz")
	// Output:
	// /livez 200
	// /readyz 503
	// queue fail dial amqp://app:[REDACTED]@10.0.0.7:5672: connection refused
	// /readyz 200
}
