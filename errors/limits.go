package errors

import (
	"sync"
	"sync/atomic"
)

// maxFingerprints bounds the dedup table; when it is full of live entries, new errors
// are not deduplicated (the rate cap still holds them).
const maxFingerprints = 4096

// dedupTable remembers, per fingerprint (error type, message and stack), the event sent
// last and until when copies of it are suppressed.
type dedupTable struct {
	window int64 // nanoseconds; 0 disables
	mu     sync.Mutex
	m      map[uint64]*dedupEntry
	// soonest is a lower bound on the entries' expiry: while the table is full and
	// nothing can have expired, remember returns without scanning, so a flood of
	// distinct errors costs O(1) each rather than a sweep of the whole table.
	soonest int64
}

type dedupEntry struct {
	id         string
	until      int64
	suppressed int
}

// check reports whether fp was sent inside the window (returning that event's id and
// counting the copy), or else how many copies the expired entry suppressed, which the
// next event reports.
func (d *dedupTable) check(fp uint64, now int64) (id string, dup bool, carried int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e := d.m[fp]
	if e == nil {
		return "", false, 0
	}
	if now < e.until {
		e.suppressed++
		return e.id, true, 0
	}
	delete(d.m, fp)
	return "", false, e.suppressed
}

func (d *dedupTable) remember(fp uint64, id string, now int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = make(map[uint64]*dedupEntry)
	}
	if len(d.m) >= maxFingerprints {
		if now < d.soonest {
			return
		}
		d.soonest = now + d.window
		for k, e := range d.m {
			if now >= e.until {
				delete(d.m, k)
			} else if e.until < d.soonest {
				d.soonest = e.until
			}
		}
		if len(d.m) >= maxFingerprints {
			return
		}
	}
	d.m[fp] = &dedupEntry{id: id, until: now + d.window}
}

// bucket is a token bucket: rate events per second, bursts of up to one second's worth.
type bucket struct {
	mu     sync.Mutex
	rate   float64 // 0 disables
	burst  float64
	tokens float64
	last   int64
}

func (b *bucket) init(rate float64) {
	b.rate = rate
	b.burst = max(1, rate)
	b.tokens = b.burst
}

func (b *bucket) allow(now int64) bool {
	if b.rate == 0 {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.last != 0 && now > b.last {
		b.tokens = min(b.burst, b.tokens+float64(now-b.last)*b.rate/1e9)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

type counters struct {
	captured, sent, deduplicated, sampledOut, rateCapped, queueFull,
	droppedByHook, rateLimited, failed, closed atomic.Uint64
}

// Stats counts what happened to captures since New. Every capture is logged; these say
// what reached Sentry and why the rest did not.
type Stats struct {
	Captured      uint64 // Capture calls and bridge records with a value
	Sent          uint64 // accepted by Sentry (2xx); with a custom Transport, handed to it
	Deduplicated  uint64 // copies of an error already sent inside the dedup window
	SampledOut    uint64 // dropped by SampleRate
	RateCapped    uint64 // dropped by MaxEventsPerSecond
	QueueFull     uint64 // dropped because the send queue was full (Sentry slow or down)
	DroppedByHook uint64 // BeforeSend returned nil
	RateLimited   uint64 // refused by Sentry (429) or dropped during its Retry-After backoff
	Failed        uint64 // network errors, timeouts, other non-2xx answers
	Closed        uint64 // captured after Shutdown, or left unsent at its deadline
	// SpotlightDropped counts copies for the Spotlight sidecar that were not delivered
	// (its queue full, or the sidecar absent or refusing). Sentry's counts above are
	// independent of it.
	SpotlightDropped uint64
}

// Stats returns the counts so far.
func (r *Reporter) Stats() Stats {
	if r == nil {
		return Stats{}
	}
	c := &r.stats
	st := Stats{
		Captured: c.captured.Load(), Sent: c.sent.Load(), Deduplicated: c.deduplicated.Load(),
		SampledOut: c.sampledOut.Load(), RateCapped: c.rateCapped.Load(), QueueFull: c.queueFull.Load(),
		DroppedByHook: c.droppedByHook.Load(), RateLimited: c.rateLimited.Load(),
		Failed: c.failed.Load(), Closed: c.closed.Load(),
	}
	if r.spot != nil {
		st.SpotlightDropped = r.spot.dropped.Load()
	}
	return st
}

// Outcomes returns the counts keyed by the outcome label used in metrics
// (vigil_errors_events_total{outcome=...}); Captured is not an outcome and is left out.
func (s Stats) Outcomes() map[string]uint64 {
	return map[string]uint64{
		"sent":            s.Sent,
		"deduplicated":    s.Deduplicated,
		"sampled_out":     s.SampledOut,
		"rate_capped":     s.RateCapped,
		"queue_full":      s.QueueFull,
		"dropped_by_hook": s.DroppedByHook,
		"rate_limited":    s.RateLimited,
		"failed":          s.Failed,
		"closed":          s.Closed,

		"spotlight_dropped": s.SpotlightDropped,
	}
}
