package logtest

import (
	"sync"
	"testing"
)

func TestBuffer(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = b.Write([]byte(`{"n":` + string(rune('0'+i)) + `,"msg":"x"}` + "\n"))
		}()
	}
	wg.Wait()
	if got := len(b.Lines(t)); got != 4 {
		t.Fatalf("lines = %d, want 4", got)
	}
	if m := b.Find(t, "n", 2.0); m == nil {
		t.Errorf("Find(n=2) = nil in %q", b.String())
	}
	if m := b.Find(t, "n", 9.0); m != nil {
		t.Errorf("Find(n=9) = %v", m)
	}
}
