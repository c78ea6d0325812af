// Package worker is the one stop protocol of vigil's background goroutines: the Sentry
// sender, the StatsD flusher, the Pushgateway and Graphite loops and the span export
// pipelines all start with it and stop through (*W).Stop.
//
// The protocol, in three steps:
//
//  1. Stop(ctx) asks the worker to finish: the stop channel closes (for Go, the run
//     context is cancelled). The worker does its last work (a final flush, draining a
//     queue) using its work context.
//  2. Shortly before ctx's deadline (a tenth of the time left, at most 100 ms) the work
//     context is cancelled, so a request still in flight is aborted and the worker
//     counts what it could not send and returns.
//  3. Stop returns when the worker has returned, or when ctx ends, whichever is first.
//     Either way it returns by ctx's deadline, and the worker's goroutine ends soon after
//     even when Stop gave up on it: nothing it owns waits on anything but the work
//     context.
//
// Stop has no bound of its own: with a context that never ends it waits for the worker
// to finish its last work. observe gives every part's Shutdown a deadline.
package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// maxMargin bounds the time kept between cancelling the work and Stop's deadline: enough
// for a goroutine to see the cancellation, count what it dropped and return.
const maxMargin = 100 * time.Millisecond

// grace is how long Stop waits after a context without a deadline is cancelled, so that
// the worker's counts are final when Stop returns.
const grace = 20 * time.Millisecond

// ErrCutShort is wrapped by Stop's error when the worker was still working when its work
// context had to be cancelled: what it had not finished was abandoned. The error wraps
// the reason too (context.DeadlineExceeded, or the cause of Stop's context).
var ErrCutShort = errors.New("cut short")

// W is one background goroutine. Its methods are safe for concurrent use; a nil *W is a
// stopped worker.
type W struct {
	name   string
	stop   chan struct{} // closed by the first Stop
	ctx    context.Context
	cancel context.CancelCauseFunc
	done   chan struct{} // closed when run has returned

	once     sync.Once
	mu       sync.Mutex
	cutShort error // why the work context was cancelled before run returned
	panicErr error // run panicked
}

// Run starts run in a new goroutine under the full protocol: stop is closed when Stop is
// called, and ctx (the work context) ends only shortly before Stop's context does. run
// should return once stop is closed and its last work is done; everything that may block
// (a request, a dial, a pause) must watch ctx.
func Run(name string, run func(ctx context.Context, stop <-chan struct{})) *W {
	w := &W{name: name, stop: make(chan struct{}), done: make(chan struct{})}
	w.ctx, w.cancel = context.WithCancelCause(context.Background())
	go w.run(run)
	return w
}

// Go starts run in a new goroutine; ctx is cancelled when Stop is called, and run must
// return then.
func Go(name string, run func(ctx context.Context)) *W {
	return Run(name, func(ctx context.Context, stop <-chan struct{}) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		unhook := afterClose(stop, cancel)
		defer unhook()
		run(ctx)
	})
}

// Every calls tick every interval until Stop, then final once. tick's context is
// cancelled when Stop is called (a tick in progress gives way to final); final's is the
// work context, which lasts until shortly before Stop's deadline. final may be nil.
func Every(name string, interval time.Duration, tick, final func(ctx context.Context)) *W {
	return Run(name, func(ctx context.Context, stop <-chan struct{}) {
		tickCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		unhook := afterClose(stop, cancel)
		defer unhook()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				if tickCtx.Err() == nil {
					tick(tickCtx)
				}
			case <-stop:
				if final != nil {
					final(ctx)
				}
				return
			}
		}
	})
}

// afterClose calls f once ch is closed; the returned func releases the watcher.
func afterClose(ch <-chan struct{}, f func()) (release func()) {
	quit := make(chan struct{})
	go func() {
		select {
		case <-ch:
			f()
		case <-quit:
		}
	}()
	return func() { close(quit) }
}

func (w *W) run(run func(context.Context, <-chan struct{})) {
	defer close(w.done)
	defer w.cancel(context.Canceled)
	defer func() {
		// A bug in a worker must not take the host down; Stop reports it.
		if p := recover(); p != nil {
			w.mu.Lock()
			w.panicErr = fmt.Errorf("%s: panicked: %v", w.name, p)
			w.mu.Unlock()
		}
	}()
	run(w.ctx, w.stop)
}

// Name returns the name the worker was started with.
func (w *W) Name() string {
	if w == nil {
		return ""
	}
	return w.name
}

// Done is closed when the worker's goroutine has returned.
func (w *W) Done() <-chan struct{} {
	if w == nil {
		c := make(chan struct{})
		close(c)
		return c
	}
	return w.done
}

// Stop asks the worker to finish and waits for it, bounded by ctx (see the package
// documentation). It returns nil when the worker finished its last work in time; an
// error naming the worker and wrapping ErrCutShort when its work context had to be
// cancelled first; an error naming the worker and wrapping ctx's error when it was still
// running when ctx ended. Calling Stop again waits again, with the new ctx.
func (w *W) Stop(ctx context.Context) error {
	if w == nil {
		return nil
	}
	w.once.Do(func() { close(w.stop) })

	// The work context ends a margin before ctx does, or with ctx when it has no deadline.
	// A request aborted there fails with context.DeadlineExceeded, as it would have a
	// moment later.
	cut, cause := ctx, error(nil)
	if deadline, ok := ctx.Deadline(); ok {
		margin := max(min(time.Until(deadline)/10, maxMargin), 0)
		var cancel context.CancelFunc
		cut, cancel = context.WithDeadline(ctx, deadline.Add(-margin))
		defer cancel()
		cause = context.DeadlineExceeded
	}
	unhook := context.AfterFunc(cut, func() {
		if cause == nil {
			cause = context.Cause(ctx)
		}
		w.cutWork(cause)
	})
	defer unhook()

	select {
	case <-w.done:
		return w.result()
	case <-ctx.Done():
	}
	if _, ok := ctx.Deadline(); !ok {
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-w.done:
			return w.result()
		case <-t.C:
		}
	}
	select {
	case <-w.done:
		return w.result()
	default:
		return fmt.Errorf("%s: still running when Shutdown gave up: %w", w.name, ctx.Err())
	}
}

// cutWork cancels the work context, noting whether it interrupted the worker.
func (w *W) cutWork(cause error) {
	w.mu.Lock()
	select {
	case <-w.done:
	default:
		if w.cutShort == nil {
			w.cutShort = cause
		}
	}
	w.mu.Unlock()
	w.cancel(cause)
}

func (w *W) result() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.panicErr != nil:
		return w.panicErr
	case w.cutShort != nil:
		return fmt.Errorf("%s: %w: %w", w.name, ErrCutShort, w.cutShort)
	}
	return nil
}
