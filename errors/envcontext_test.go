package errors

import (
	"runtime"
	"testing"
)

// Every event gets environment contexts of its own: a hook that writes into one changes
// neither the next event's nor the template, and the runtime's changing values are
// read per event.
func TestEnvContextsAreFreshPerEvent(t *testing.T) {
	for _, e := range envContexts {
		a, b := e.instance(), e.instance()
		a["written_by_hook"] = "x"
		for _, k := range e.keys {
			a[k] = "changed"
		}
		if _, ok := b["written_by_hook"]; ok || len(b) != len(e.keys) {
			t.Errorf("%s: a write to one event's context reached another's: %v", e.name, b)
		}
		if _, ok := e.tmpl["written_by_hook"]; ok {
			t.Errorf("%s: a write to an event's context reached the template", e.name)
		}
		if e.name == "runtime" {
			if b["go_maxprocs"] != runtime.GOMAXPROCS(0) || b["go_numroutines"].(int) < 1 {
				t.Errorf("runtime context without its current values: %v", b)
			}
		}
	}
}
