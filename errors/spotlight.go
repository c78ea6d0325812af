package errors

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/getsentry/sentry-go"

	"github.com/vigil-go/vigil/internal/worker"
)

// spotlightQueue bounds the envelope copies waiting for the sidecar.
const spotlightQueue = 64

// spotlight posts a copy of every envelope to a Spotlight sidecar, on its own goroutine
// and queue, so a slow or absent sidecar never holds Capture or the Sentry sender.
// Sentry's SDK specification has every SDK do this when SENTRY_SPOTLIGHT is set;
// sentry-go does not (getsentry/sentry-go#846).
type spotlight struct {
	url     string
	q       chan *sentry.Event
	client  *http.Client
	w       *worker.W
	dropped atomic.Uint64
}

func newSpotlight(url string, timeout time.Duration) *spotlight {
	s := &spotlight{url: url, q: make(chan *sentry.Event, spotlightQueue), client: &http.Client{Timeout: timeout}}
	s.w = worker.Run("errors: Spotlight sender", s.run)
	return s
}

// offer queues a copy without waiting; a full queue drops it and counts.
func (s *spotlight) offer(ev *sentry.Event) {
	select {
	case s.q <- ev:
	default:
		s.dropped.Add(1)
	}
}

func (s *spotlight) run(ctx context.Context, stop <-chan struct{}) {
	defer s.client.CloseIdleConnections()
	for {
		select {
		case ev := <-s.q:
			s.post(ctx, ev)
		case <-stop:
			for {
				select {
				case ev := <-s.q:
					if ctx.Err() != nil {
						s.dropped.Add(1)
						continue
					}
					s.post(ctx, ev)
				default:
					return
				}
			}
		}
	}
}

func (s *spotlight) post(ctx context.Context, ev *sentry.Event) {
	body, err := envelope(ev)
	if err != nil {
		s.dropped.Add(1)
		return
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		s.dropped.Add(1)
		return
	}
	req.Header.Set("Content-Type", "application/x-sentry-envelope")
	resp, err := s.client.Do(req)
	if err != nil {
		s.dropped.Add(1)
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		s.dropped.Add(1)
	}
}

func (s *spotlight) stop(ctx context.Context) {
	if s != nil {
		_ = s.w.Stop(ctx)
	}
}
