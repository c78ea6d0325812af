package worker

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// Every case runs in a synctest bubble: time is virtual, so the deadlines below are
// exact, and synctest.Test fails if a goroutine of the bubble is left blocked.

func TestStop(t *testing.T) {
	tests := []struct {
		name     string
		run      func(ctx context.Context, stop <-chan struct{})
		timeout  time.Duration // 0: no deadline
		wantErr  string        // substring; "" means nil
		wantWait time.Duration // how long Stop took, in virtual time
	}{
		{
			name:    "returns at once",
			run:     func(ctx context.Context, stop <-chan struct{}) { <-stop },
			timeout: time.Second,
		},
		{
			name: "finishes its last work in time",
			run: func(ctx context.Context, stop <-chan struct{}) {
				<-stop
				sleep(ctx, 200*time.Millisecond)
			},
			timeout:  time.Second,
			wantWait: 200 * time.Millisecond,
		},
		{
			name: "hung work is cut a margin before the deadline",
			run: func(ctx context.Context, stop <-chan struct{}) {
				<-stop
				<-ctx.Done() // a request that never answers, aborted by the work context
			},
			timeout:  300 * time.Millisecond,
			wantErr:  "test worker: cut short: context deadline exceeded",
			wantWait: 270 * time.Millisecond,
		},
		{
			name: "margin is at most 100ms",
			run: func(ctx context.Context, stop <-chan struct{}) {
				<-stop
				<-ctx.Done()
			},
			timeout:  10 * time.Second,
			wantErr:  "cut short",
			wantWait: 9900 * time.Millisecond,
		},
		{
			name: "ignores cancellation for a while",
			run: func(ctx context.Context, stop <-chan struct{}) {
				<-stop
				<-ctx.Done()
				time.Sleep(time.Second) // slow to notice; still ends, after Stop gave up
			},
			timeout:  300 * time.Millisecond,
			wantErr:  "test worker: still running when Shutdown gave up: context deadline exceeded",
			wantWait: 300 * time.Millisecond,
		},
		{
			name: "panic is reported, not raised",
			run: func(ctx context.Context, stop <-chan struct{}) {
				<-stop
				panic("boom")
			},
			timeout: time.Second,
			wantErr: "test worker: panicked: boom",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := Run("test worker", tt.run)
				ctx := context.Background()
				if tt.timeout > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tt.timeout)
					defer cancel()
				}
				start := time.Now()
				err := w.Stop(ctx)
				if got := time.Since(start); got != tt.wantWait {
					t.Errorf("Stop took %v, want %v", got, tt.wantWait)
				}
				checkErr(t, err, tt.wantErr)
				if strings.Contains(tt.wantErr, "cut short") && !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("errors.Is(%v, context.DeadlineExceeded) = false", err)
				}
				<-w.Done() // the goroutine ends even when Stop gave up on it
			})
		})
	}
}

func TestStopWithoutDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := Run("w", func(ctx context.Context, stop <-chan struct{}) {
			<-stop
			<-ctx.Done()
		})
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(time.Second, cancel)
		err := w.Stop(ctx)
		checkErr(t, err, "w: cut short: context canceled")
		if !errors.Is(err, ErrCutShort) || !errors.Is(err, context.Canceled) {
			t.Errorf("errors.Is(%v, ErrCutShort / context.Canceled) = false", err)
		}
	})
}

func TestGo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ran atomic.Bool
		w := Go("go", func(ctx context.Context) {
			<-ctx.Done() // cancelled by Stop itself, not by its deadline
			ran.Store(true)
		})
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		start := time.Now()
		checkErr(t, w.Stop(ctx), "")
		if d := time.Since(start); d != 0 || !ran.Load() {
			t.Errorf("Stop took %v, ran=%v; want 0, true", d, ran.Load())
		}
		checkErr(t, w.Stop(ctx), "") // again: harmless
	})
}

func TestEvery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ticks, finals atomic.Int32
		var finalHadTime atomic.Bool
		w := Every("every", time.Second, func(ctx context.Context) {
			ticks.Add(1)
		}, func(ctx context.Context) {
			finals.Add(1)
			finalHadTime.Store(ctx.Err() == nil)
		})
		time.Sleep(3500 * time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		checkErr(t, w.Stop(ctx), "")
		if ticks.Load() != 3 || finals.Load() != 1 || !finalHadTime.Load() {
			t.Errorf("ticks=%d finals=%d finalHadTime=%v; want 3, 1, true", ticks.Load(), finals.Load(), finalHadTime.Load())
		}
	})
}

// A tick stuck on a dead backend gives way to the final tick as soon as Stop is called.
func TestEveryTickGivesWay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var final atomic.Bool
		w := Every("every", time.Second, func(ctx context.Context) {
			<-ctx.Done()
		}, func(ctx context.Context) {
			final.Store(true)
		})
		time.Sleep(1500 * time.Millisecond) // the first tick is now blocked
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		checkErr(t, w.Stop(ctx), "")
		if d := time.Since(start); d != 0 || !final.Load() {
			t.Errorf("Stop took %v, final=%v; want 0, true", d, final.Load())
		}
	})
}

func TestNil(t *testing.T) {
	var w *W
	checkErr(t, w.Stop(context.Background()), "")
	<-w.Done()
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("err = %v, want nil", err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Errorf("err = %v, want it to contain %q", err, want)
	}
}
