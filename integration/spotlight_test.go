//go:build integration

package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// traceSpotlight is the trace id of the GET /panic sent to the Spotlight quick start.
const traceSpotlight = "7c1d5e9f2a3b4c6d8e0f1a2b3c4d5e6f"

// TestSpotlight: a quick start with SENTRY_SPOTLIGHT set and no DSN posts its panic to the
// real Spotlight sidecar (run.sh starts it from npm), which accepts the envelope and shows it
// to its clients: its /stream (what the Spotlight UI reads) replays the event, exception and
// trace link included.
func TestSpotlight(t *testing.T) {
	s := suiteFor(t)
	base := os.Getenv("VIGIL_IT_SPOTLIGHT")
	if base == "" {
		t.Fatal("VIGIL_IT_SPOTLIGHT not set: run integration/run.sh, which starts the sidecar")
	}
	addr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	svc, err := startService(filepath.Join(s.bin, "quickstart"), []string{"-addr", addr},
		[]string{"SENTRY_DSN=", "SENTRY_SPOTLIGHT=" + base + "/stream", "VIGIL_STATSD_ADDR="})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Stop()
	if code, err := getStatus("http://"+addr+routePanic, traceSpotlight); err != nil || code != http.StatusInternalServerError {
		t.Fatalf("GET %s: %d, %v", routePanic, code, err)
	}

	var ev map[string]any
	eventually(t, 15*time.Second, func() (err error) {
		ev, err = spotlightEvent(base, traceSpotlight)
		return err
	})
	if v := path(ev, "exception", "values"); v == nil {
		t.Errorf("event exception not in the values form: %v", ev["exception"])
	}
	if op := path(ev, "contexts", "trace", "op"); op != "http.server" {
		t.Errorf("contexts.trace.op = %v", op)
	}
	if tx := ev["transaction"]; tx != "GET "+routePanic {
		t.Errorf("transaction = %v, want GET %s", tx, routePanic)
	}
	// The UI that shows the events is served too.
	if code, err := getStatus(base+"/", ""); err != nil || code != http.StatusOK {
		t.Errorf("Spotlight UI: %d, %v", code, err)
	}
}

// spotlightEvent reads the sidecar's event stream (server-sent events, each an envelope as
// JSON: [header, [[item header, payload], ...]]) until an event of the trace shows up.
func spotlightEvent(base, traceID string) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/stream?client=vigil-integration", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 8<<20)
	seen := 0
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		seen++
		var env []json.RawMessage
		if json.Unmarshal([]byte(data), &env) != nil || len(env) < 2 {
			continue
		}
		var items [][]json.RawMessage
		if json.Unmarshal(env[1], &items) != nil {
			continue
		}
		for _, it := range items {
			if len(it) < 2 {
				continue
			}
			var ev map[string]any
			if json.Unmarshal(it[1], &ev) == nil && path(ev, "contexts", "trace", "trace_id") == traceID {
				return ev, nil
			}
		}
	}
	return nil, fmt.Errorf("Spotlight's stream has no event of trace %s among %d envelopes", traceID, seen)
}
