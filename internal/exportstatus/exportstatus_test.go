package exportstatus

import (
	"strings"
	"testing"
	"time"
)

func TestTracker(t *testing.T) {
	var k Tracker
	if ok, msg, at := k.Read(); !ok.IsZero() || msg != "" || !at.IsZero() {
		t.Fatalf("zero Tracker read %v %q %v", ok, msg, at)
	}
	t0 := time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC)
	k.Failed(t0, "  push failed: 500  \n")
	k.OK(t0.Add(time.Second))
	ok, msg, at := k.Read()
	if !ok.Equal(t0.Add(time.Second)) || msg != "push failed: 500" || !at.Equal(t0) {
		t.Errorf("read %v %q %v", ok, msg, at)
	}
	k.Failed(t0.Add(2*time.Second), strings.Repeat("x", 10*MaxError))
	if _, msg, _ := k.Read(); len(msg) > MaxError+len("…") {
		t.Errorf("failure text of %d bytes kept, bound %d", len(msg), MaxError)
	}
}
