package tracing_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/vigil-go/vigil/tracing"
)

// batchRecorder is an in-memory collector that records the size of every export.
type batchRecorder struct {
	mu      sync.Mutex
	batches []int
	names   []string
}

func (e *batchRecorder) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.batches = append(e.batches, len(spans))
	for _, s := range spans {
		e.names = append(e.names, s.Name())
	}
	return nil
}

func (e *batchRecorder) Shutdown(context.Context) error { return nil }

func (e *batchRecorder) got() ([]int, []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]int(nil), e.batches...), append([]string(nil), e.names...)
}

// The processor exports a batch when it is full, and a partial one only when the batch
// delay has passed, ForceFlush asks or Shutdown drains it: an ended span does not wake
// the export goroutine by itself. Time is synctest's, so the bounds are exact.
func TestBatching(t *testing.T) {
	const size, delay = 8, time.Second
	synctest.Test(t, func(t *testing.T) {
		exp := &batchRecorder{}
		p, err := tracing.New(context.Background(), tracing.Config{SpanExporter: exp,
			MaxExportBatchSize: size, BatchDelay: delay, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		end := func(n int, name string) {
			for range n {
				_, s := p.Start(context.Background(), name)
				s.End()
			}
			synctest.Wait()
		}
		check := func(step string, want ...int) {
			t.Helper()
			got, _ := exp.got()
			if !slices.Equal(got, want) {
				t.Fatalf("%s: batches %v, want %v", step, got, want)
			}
		}

		end(size-1, "a")
		check("one span short of a batch: nothing exported")
		end(1, "a")
		check("a full batch: exported at once", size)
		end(3, "b")
		time.Sleep(delay - time.Millisecond)
		synctest.Wait()
		check("before the delay", size)
		time.Sleep(time.Millisecond)
		synctest.Wait()
		check("at the delay: the partial batch", size, 3)

		end(2*size+1, "c") // two full batches, one span left
		check("two full batches", size, 3, size, size)
		if err := p.ForceFlush(context.Background()); err != nil {
			t.Fatal(err)
		}
		check("ForceFlush: the rest", size, 3, size, size, 1)

		end(2, "d")
		if err := p.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		check("Shutdown drains", size, 3, size, size, 1, 2)
		_, names := exp.got()
		want := strings.Repeat("a", size) + "bbb" + strings.Repeat("c", 2*size+1) + "dd"
		if got := strings.Join(names, ""); got != want {
			t.Errorf("spans exported in the order %q, want %q", got, want)
		}
		if d := p.Dropped(); d != 0 {
			t.Errorf("Dropped = %d", d)
		}
	})
}

// A batch never exceeds the queue: MaxExportBatchSize above MaxQueueSize is the queue
// size, and spans beyond the queue while the exporter is busy are dropped and counted,
// each exactly once.
func TestQueueBoundsAndDropCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		exp := &hangingExporter{release: make(chan struct{})}
		const queue, spans = 10, 100
		p, err := tracing.New(context.Background(), tracing.Config{SpanExporter: exp,
			MaxQueueSize: queue, MaxExportBatchSize: 1000, BatchDelay: time.Hour,
			ExportTimeout: time.Hour, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		for range spans {
			_, s := p.Start(context.Background(), "work")
			s.End()
		}
		synctest.Wait()
		// The first full batch (the queue's size) is in the exporter, which hangs; it
		// still counts against the queue until the exporter takes it.
		if n := exp.batches.Load(); n != 1 {
			t.Fatalf("%d exports, want 1", n)
		}
		if d := p.Dropped(); d < spans-2*queue || d > spans-queue {
			t.Fatalf("Dropped = %d while the exporter hangs, want between %d and %d", d, spans-2*queue, spans-queue)
		}
		close(exp.release) // the exporter fails every batch from now on
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		err = p.Shutdown(ctx)
		if d := p.Dropped(); d != spans {
			t.Errorf("Dropped = %d after Shutdown, want every span (%d): %v", d, spans, err)
		}
		if err == nil || !strings.Contains(err.Error(), "queue full") || !strings.Contains(err.Error(), "export failed") {
			t.Errorf("Shutdown = %v, want the loss by cause", err)
		}
	})
}

// Ending spans from many goroutines while batches are exported loses or repeats none.
func TestConcurrentEnds(t *testing.T) {
	exp := &batchRecorder{}
	const workers, each = 8, 500
	p, err := tracing.New(context.Background(), tracing.Config{SpanExporter: exp,
		MaxQueueSize: workers * each, MaxExportBatchSize: 64, BatchDelay: time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				_, s := p.Start(context.Background(), "w")
				s.End()
			}
		})
	}
	wg.Wait()
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	batches, names := exp.got()
	if len(names) != workers*each || p.Dropped() != 0 {
		t.Fatalf("exported %d of %d spans, dropped %d", len(names), workers*each, p.Dropped())
	}
	for _, n := range batches {
		if n > 64 {
			t.Fatalf("a batch of %d spans; MaxExportBatchSize is 64", n)
		}
	}
}

func TestBatchSettingsValidated(t *testing.T) {
	for _, cfg := range []tracing.Config{{MaxExportBatchSize: -1}, {BatchDelay: -time.Second}} {
		if _, err := tracing.New(context.Background(), cfg); err == nil {
			t.Errorf("New(%+v) = nil error", cfg)
		}
	}
}
