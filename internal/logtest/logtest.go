// Package logtest is the log sink vigil's tests write to: safe for concurrent writers,
// read back as text or as parsed JSON lines.
package logtest

import (
	"bytes"
	"encoding/json"
	"sync"
	"testing"
)

// Buffer collects log output. The zero value is ready to use.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Lines parses every non-empty line as a JSON object; a line that is not one fails t.
func (b *Buffer) Lines(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range bytes.Split([]byte(b.String()), []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("not a JSON log line: %v: %q", err, line)
		}
		out = append(out, m)
	}
	return out
}

// Find returns the first line whose key has value, or nil.
func (b *Buffer) Find(t testing.TB, key string, value any) map[string]any {
	t.Helper()
	for _, m := range b.Lines(t) {
		if m[key] == value {
			return m
		}
	}
	return nil
}
