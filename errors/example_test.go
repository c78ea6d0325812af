package errors_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	verrors "github.com/vigil-go/vigil/errors"
)

// A Reporter without a DSN logs every capture; with one it also sends to Sentry.
func ExampleReporter_Capture() {
	os.Unsetenv("SENTRY_DSN")
	logger := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{
		// Drop the fields that change from run to run, for the example's output.
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == "time" || a.Key == "stack" {
				return slog.Attr{}
			}
			return a
		},
	}))
	r, err := verrors.New(verrors.Config{Logger: logger})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Shutdown(context.Background())

	func() {
		defer func() {
			if p := recover(); p != nil {
				r.Capture(context.Background(), p, slog.String("job", "nightly"))
			}
		}()
		panic("index out of range")
	}()
	// Output:
	// {"level":"ERROR","msg":"panic recovered","error":"index out of range","error_type":"string","panic":true,"job":"nightly"}
}

// Invalid settings are errors that name the field, with the DSN's key masked.
func ExampleNew() {
	_, err := verrors.New(verrors.Config{DSN: "https://0123456789abcdef@/42"})
	fmt.Println(err)
	// Output:
	// errors: DSN="https://0123****@/42": invalid Sentry DSN: empty host
}
