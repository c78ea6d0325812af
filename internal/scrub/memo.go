package scrub

import (
	"strings"
	"sync"
	"sync/atomic"
)

// maxCached bounds the memo of decided names, so hostile keys cannot grow memory.
const maxCached = 4096

// memo remembers the class of each name decided, at most maxCached of them. Names read
// often come from frozen, a plain map that is never written, so the hot path is one map
// read with neither lock nor allocation. New names go to recent, a sync.Map, in O(1);
// once reads of recent names have cost as much as a copy would, recent is folded into
// a new frozen map, so the copies are paid for by the reads they make faster (the
// amortization sync.Map itself used until Go 1.24).
type memo struct {
	frozen atomic.Pointer[map[string]class]
	recent sync.Map // string -> class
	n      atomic.Int32
	misses atomic.Int32 // reads served by recent since the last fold
	fold   sync.Mutex
}

func (mm *memo) load(name string) (class, bool) {
	if f := mm.frozen.Load(); f != nil {
		if c, ok := (*f)[name]; ok {
			return c, true
		}
	}
	v, ok := mm.recent.Load(name)
	if !ok {
		return 0, false
	}
	if mm.misses.Add(1) >= mm.n.Load() && mm.fold.TryLock() {
		mm.foldRecent()
		mm.fold.Unlock()
	}
	return v.(class), true
}

func (mm *memo) store(name string, c class) {
	if mm.n.Load() < maxCached && mm.n.Add(1) <= maxCached {
		mm.recent.Store(strings.Clone(name), c)
	}
}

// foldRecent copies frozen and recent into a new frozen map, then drops from recent
// what it copied; names stored meanwhile stay in recent for the next fold.
func (mm *memo) foldRecent() {
	old := mm.frozen.Load()
	next := make(map[string]class, mm.n.Load())
	if old != nil {
		for k, c := range *old {
			next[k] = c
		}
	}
	var moved []string
	mm.recent.Range(func(k, v any) bool {
		next[k.(string)] = v.(class)
		moved = append(moved, k.(string))
		return true
	})
	mm.frozen.Store(&next)
	for _, k := range moved {
		mm.recent.Delete(k)
	}
	mm.misses.Store(0)
}

// size returns how many names are remembered.
func (mm *memo) size() int {
	n := 0
	if f := mm.frozen.Load(); f != nil {
		n = len(*f)
	}
	mm.recent.Range(func(any, any) bool { n++; return true })
	return n
}
