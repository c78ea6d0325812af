package observe

import (
	"slices"
	"sync"
	"sync/atomic"
)

// The live Observers, in Init order. The last one is the package default; the last one
// without NoGlobals owns the process globals; the handles made on the fallback record
// into the default's registry. Shutdown takes an Observer out wherever it is, and all
// three follow the new top, so shutting Observers down in any order leaves the state
// of the ones still live (or, once none is, the state from before the first Init).
var live struct {
	mu    sync.Mutex
	stack []*Observer
	// owner is the Observer whose globals are installed (nil: none of vigil's); prev is
	// what was installed before it, and installed what vigil set last.
	owner           *Observer
	prev, installed globals
}

// current is the package default: the top of live.stack, nil when it is empty. Package
// functions read it once per call.
var current atomic.Pointer[Observer]

// enter makes o the top of the stack (Init).
func enter(o *Observer) {
	live.mu.Lock()
	defer live.mu.Unlock()
	live.stack = append(live.stack, o)
	follow()
}

// leave takes o out of the stack (Shutdown); it does nothing for an Observer that
// never entered it (New) or already left.
func leave(o *Observer) {
	live.mu.Lock()
	defer live.mu.Unlock()
	i := slices.Index(live.stack, o)
	if i < 0 {
		return
	}
	live.stack = slices.Delete(live.stack, i, i+1)
	follow()
}

// follow points the default, the globals and the fallback's handles at the top of the
// stack. live.mu is held.
func follow() {
	var top, owner *Observer
	if n := len(live.stack); n > 0 {
		top = live.stack[n-1]
	}
	for _, o := range slices.Backward(live.stack) {
		if !o.cfg.NoGlobals {
			owner = o
			break
		}
	}
	current.Store(top)
	if owner != live.owner {
		switchGlobals(live.owner, owner)
		live.owner = owner
	}
	if fb := fallbackObs.Load(); fb != nil {
		fb.forwardTo(top)
	}
}

// bound caches what a package-level wrapper built for one Observer.
type bound[T any] struct {
	o *Observer
	v T
}

// perDefault holds the value a package-level Middleware, Transport or gRPC option built
// for the current default, so that each request costs two atomic loads, and a new
// default (Init, Shutdown) one rebuild.
type perDefault[T any] struct{ cur atomic.Pointer[bound[T]] }

func (p *perDefault[T]) get(o *Observer, build func(*Observer) T) T {
	if b := p.cur.Load(); b != nil && b.o == o {
		return b.v
	}
	v := build(o)
	p.cur.Store(&bound[T]{o: o, v: v})
	return v
}
