//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"
)

// pushGroup is one group of Pushgateway's /api/v1/metrics: its grouping labels and families.
type pushGroup struct {
	Labels   map[string]string
	Families map[string]json.RawMessage
	PushTime float64
}

func (s *suite) pushGroups() ([]pushGroup, error) {
	resp, err := client.Get(s.pushgateway + "/api/v1/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string                       `json:"status"`
		Data   []map[string]json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("pushgateway /api/v1/metrics: %w", err)
	}
	var out []pushGroup
	for _, d := range body.Data {
		g := pushGroup{Families: map[string]json.RawMessage{}}
		for k, v := range d {
			switch k {
			case "labels":
				if err := json.Unmarshal(v, &g.Labels); err != nil {
					return nil, err
				}
			case "last_push_successful":
			default:
				g.Families[k] = v
			}
		}
		var pt struct {
			Metrics []struct {
				Value string `json:"value"`
			} `json:"metrics"`
		}
		if raw, ok := g.Families["push_time_seconds"]; ok && json.Unmarshal(raw, &pt) == nil && len(pt.Metrics) > 0 {
			g.PushTime, _ = strconv.ParseFloat(pt.Metrics[0].Value, 64)
		}
		out = append(out, g)
	}
	return out, nil
}

// testPushgateway: examples/batch, a job that runs and exits, pushed its metrics to the real
// Pushgateway (VIGIL_PUSHGATEWAY_URL) by the time it exited, and Prometheus scraped them from
// there under the job's own label.
func (s *suite) testPushgateway(t *testing.T) {
	bin := filepath.Join(s.bin, "batch")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("examples/batch is not there to push (%v)", err)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), "VIGIL_PUSHGATEWAY_URL="+s.pushgateway, "OTEL_SDK_DISABLED=true")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("examples/batch: %v\n%s", err, out)
	}

	groups, err := s.pushGroups()
	if err != nil {
		t.Fatal(err)
	}
	var g *pushGroup
	for i := range groups {
		if groups[i].PushTime >= float64(start.Unix()) {
			g = &groups[i]
		}
	}
	if g == nil {
		t.Fatalf("no Pushgateway group pushed since the batch started; groups: %+v\nbatch output:\n%s", groups, out)
	}
	var families []string
	for name := range g.Families {
		if name != "push_time_seconds" && name != "push_failure_time_seconds" {
			families = append(families, name)
		}
	}
	sort.Strings(families)
	if len(families) == 0 {
		t.Fatalf("group %v holds no metric of the batch", g.Labels)
	}
	job := g.Labels["job"]
	t.Logf("group %v: %v", g.Labels, families)

	eventually(t, 20*time.Second, func() error {
		got, err := s.query(fmt.Sprintf(`push_time_seconds{job=%q}`, job), time.Time{})
		if err != nil {
			return err
		}
		if len(got) == 0 || got[0].Value < float64(start.Unix()) {
			return fmt.Errorf("Prometheus has push_time_seconds{job=%q} = %v, want a push after %v", job, got, start.Unix())
		}
		return nil
	})
}
