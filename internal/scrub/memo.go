package scrub

import (
	"strings"
	"sync"
	"sync/atomic"
)

// maxCached bounds the memo of decided names, so hostile keys cannot grow memory.
const maxCached = 4096

// decided is one name's class as the memo keeps it. Entries are never changed once made,
// so a slot can point at one without copying it.
type decided struct {
	name string // the memo's own copy
	c    class
}

// numSlots is the size of the direct-mapped front of the memo (slots): a power of two.
const numSlots = 256

// memo remembers the class of each name decided, at most maxCached of them.
//
// A name read again is found first in slots, a direct-mapped table indexed by a hash of
// its length and three of its bytes: one atomic load and one string comparison, without
// hashing the whole name as a map would. Log keys and span attribute names are few and
// repeat, so nearly every lookup ends there. Two names that share a slot take turns in
// it; neither allocates, since a slot points at the entry the maps hold.
//
// Behind slots, names read often come from frozen, a plain map that is never written.
// New names go to recent, a sync.Map, in O(1); once reads of recent names have cost as
// much as a copy would, recent is folded into a new frozen map, so the copies are paid
// for by the reads they make faster (the amortization sync.Map itself used until Go 1.24).
type memo struct {
	slots  [numSlots]atomic.Pointer[decided]
	frozen atomic.Pointer[map[string]*decided]
	recent sync.Map // string -> *decided
	n      atomic.Int32
	misses atomic.Int32 // reads served by recent since the last fold
	fold   sync.Mutex
}

// slotOf hashes what distinguishes most names cheaply: the length, the first, middle and
// last bytes. name is not empty.
func slotOf(name string) uint64 {
	n := len(name)
	h := uint64(name[0]) | uint64(name[n>>1])<<8 | uint64(name[n-1])<<16 | uint64(n)<<24
	return h * 0x9e3779b97f4a7c15 >> 56 // top 8 bits: numSlots == 256
}

func (mm *memo) load(name string) (class, bool) {
	s := &mm.slots[slotOf(name)]
	if d := s.Load(); d != nil && d.name == name {
		return d.c, true
	}
	d := mm.lookup(name)
	if d == nil {
		return 0, false
	}
	s.Store(d)
	return d.c, true
}

// lookup finds name in the maps.
func (mm *memo) lookup(name string) *decided {
	if f := mm.frozen.Load(); f != nil {
		if d, ok := (*f)[name]; ok {
			return d
		}
	}
	v, ok := mm.recent.Load(name)
	if !ok {
		return nil
	}
	if mm.misses.Add(1) >= mm.n.Load() && mm.fold.TryLock() {
		mm.foldRecent()
		mm.fold.Unlock()
	}
	return v.(*decided)
}

func (mm *memo) store(name string, c class) {
	if mm.n.Load() < maxCached && mm.n.Add(1) <= maxCached {
		d := &decided{name: strings.Clone(name), c: c}
		if _, loaded := mm.recent.LoadOrStore(d.name, d); !loaded {
			mm.slots[slotOf(name)].Store(d)
		}
	}
}

// foldRecent copies frozen and recent into a new frozen map, then drops from recent
// what it copied; names stored meanwhile stay in recent for the next fold.
func (mm *memo) foldRecent() {
	old := mm.frozen.Load()
	next := make(map[string]*decided, mm.n.Load())
	if old != nil {
		for k, d := range *old {
			next[k] = d
		}
	}
	var moved []string
	mm.recent.Range(func(k, v any) bool {
		next[k.(string)] = v.(*decided)
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
