package metrics

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/trace"

	"sync"
)

// exemplarSlot holds the latest exemplar of one bucket in fixed fields, so recording
// one allocates nothing. Writers use TryLock: an exemplar is a sample, and skipping one
// under contention beats waiting.
type exemplarSlot struct {
	mu    sync.Mutex
	set   bool
	value float64
	at    int64 // unix nanoseconds
	trace trace.TraceID
	span  trace.SpanID
	// out is the exposition's form of the exemplar, kept while it is current so that
	// scrapes between two observations share it.
	out *exemplarOut
}

// exemplar records v as bucket i's exemplar when ctx holds a sampled span.
func (h *histValue) exemplar(ctx context.Context, i int, v float64) {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsSampled() {
		return
	}
	slots := h.ex.Load()
	if slots == nil {
		// Once per series: most series never see a sampled span.
		s := make([]exemplarSlot, len(h.counts))
		if !h.ex.CompareAndSwap(nil, &s) {
			slots = h.ex.Load()
		} else {
			slots = &s
		}
	}
	e := &(*slots)[i]
	if !e.mu.TryLock() {
		return
	}
	e.set, e.value, e.at = true, v, time.Now().UnixNano()
	e.trace, e.span = sc.TraceID(), sc.SpanID()
	e.out = nil
	e.mu.Unlock()
}
