package logging

import (
	"testing"
	"time"
)

// TestAppendTime checks the per-second cache against time.Format: across zones, a zone
// change within the same second, second boundaries and years outside 0-9999.
func TestAppendTime(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		ny = time.FixedZone("EST", -5*3600)
	}
	base := time.Date(2026, 12, 2, 13, 45, 59, 999_999_999, time.UTC)
	times := []time.Time{
		base, base.Add(time.Nanosecond), base.Add(time.Millisecond),
		base.In(ny), base.In(time.FixedZone("X", 5*3600+1800)), base.In(time.FixedZone("Y", -90*60)),
		base, // back to UTC in the same second: the cache is per location
		time.Date(1969, 12, 31, 23, 59, 59, 500_000_000, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 8, 6, 59, 59, 0, time.UTC).In(ny), // DST starts at 07:00 UTC
		time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC).In(ny),
	}
	for _, tm := range times {
		for range 2 { // a miss, then a hit
			got := string(appendTime(nil, tm))
			want := tm.Format("2006-01-02T15:04:05.000Z07:00")
			if y := tm.Year(); y < 0 || y > 9999 {
				want = tm.Format(time.RFC3339Nano)
			}
			if got != want {
				t.Errorf("appendTime(%v) = %q, want %q", tm, got, want)
			}
		}
	}
}
