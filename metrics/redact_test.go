package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Labels named like secrets export "[REDACTED]" (one series for every value): the
// built-in names and the configured ones, but not the allowed ones.
func TestSecretLabelsAreRedacted(t *testing.T) {
	r, _ := newTestRegistry(t, Config{RedactKeys: []string{"ssn", "tenant_pin"}})
	c := must[*Counter](t)(r.Counter("lookups_total", "Lookups.", "route", "api_token", "user_ssn", "tenant_pin"))
	c.With("/a", "tok-1", "123-45", "9999").Inc()
	c.With("/a", "tok-2", "678-90", "1111").Inc()
	want := `
# HELP lookups_total Lookups.
# TYPE lookups_total counter
lookups_total{api_token="[REDACTED]",route="/a",tenant_pin="[REDACTED]",user_ssn="[REDACTED]"} 2
`
	if err := testutil.GatherAndCompare(r.Prometheus(), strings.NewReader(want), "lookups_total"); err != nil {
		t.Error(err)
	}
}

func TestEmptyRedactKeyIsAnError(t *testing.T) {
	_, err := New(Config{RedactKeys: []string{" "},
		DisableGoCollector: true, DisableProcessCollector: true, DisableHostCollector: true})
	if err == nil || !strings.Contains(err.Error(), "RedactKeys[0]") {
		t.Fatalf("err = %v, want it to name RedactKeys[0]", err)
	}
}
