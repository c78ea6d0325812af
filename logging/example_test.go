package logging_test

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/vigil-go/vigil/logging"
)

func Example() {
	logger, err := logging.New(logging.Config{
		Service: "checkout",
		Output:  os.Stdout,
	})
	if err != nil {
		panic(err)
	}
	// Request-scoped attributes ride in the context.
	ctx := logging.WithAttrs(context.Background(), slog.String("request_id", "r-42"))

	// A fixed time keeps the example's output stable; a real record carries its own.
	r := slog.NewRecord(time.Time{}, slog.LevelInfo, "login", 0)
	r.AddAttrs(slog.String("user", "ada"), slog.String("password", "hunter2"))
	_ = logger.Handler().Handle(ctx, r)
	// Output:
	// {"level":"INFO","msg":"login","service":"checkout","request_id":"r-42","user":"ada","password":"[REDACTED]"}
}
