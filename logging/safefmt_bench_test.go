package logging_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/vigil-go/vigil/logging"
)

// BenchmarkAnyValues measures the values that go through the safe formatter: an error,
// a small map and a struct.
func BenchmarkAnyValues(b *testing.B) {
	l, err := logging.New(logging.Config{Output: io.Discard, Service: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	type user struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	}
	e := errors.New("connection refused")
	m := map[string]any{"a": 1, "b": "two"}
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		a    slog.Attr
	}{
		{"error", slog.Any("err", e)},
		{"map", slog.Any("m", m)},
		{"struct", slog.Any("user", user{1, "ann"})},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				l.LogAttrs(ctx, slog.LevelInfo, "msg", bc.a)
			}
		})
	}
}
