//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// alert is one alert as Alertmanager's API v2 lists it.
type alert struct {
	Labels map[string]string `json:"labels"`
	Status struct {
		State string `json:"state"`
	} `json:"status"`
}

func (s *suite) alerts() ([]alert, error) {
	resp, err := client.Get(s.alertmanager + "/api/v2/alerts?active=true")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out []alert
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("alertmanager /api/v2/alerts: %w", err)
	}
	return out, nil
}

// waitAlert waits until Alertmanager holds an active alert with all of want's labels.
func (s *suite) waitAlert(t *testing.T, d time.Duration, want map[string]string) {
	t.Helper()
	eventually(t, d, func() error {
		as, err := s.alerts()
		if err != nil {
			return err
		}
		var names []string
		for _, a := range as {
			names = append(names, fmt.Sprintf("%s%v", a.Labels["alertname"], a.Labels))
			ok := a.Status.State == "active"
			for k, v := range want {
				ok = ok && a.Labels[k] == v
			}
			if ok {
				return nil
			}
		}
		return fmt.Errorf("no active alert %v in Alertmanager; it has: %s", want, strings.Join(names, ", "))
	})
}

// testAlerts: deploy/'s alert rules, evaluated by Prometheus on the live metrics (with `for:`
// cut to 5s by run.sh), reach Alertmanager with the labels a receiver routes on.
func (s *suite) testAlerts(t *testing.T) {
	t.Run("5xx ratio", func(t *testing.T) {
		s.waitAlert(t, 60*time.Second, map[string]string{
			"alertname": "VigilHTTPHigh5xxRatio", "job": quickstartJob, "http_route": routePanic, "severity": "page"})
	})
	t.Run("target down", func(t *testing.T) {
		// run.sh's Prometheus scrapes a second quick start target where nothing listens.
		s.waitAlert(t, 60*time.Second, map[string]string{
			"alertname": "VigilTargetDown", "job": quickstartJob, "severity": "page"})
		as, err := s.alerts()
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range as {
			if a.Labels["alertname"] == "VigilTargetDown" && a.Labels["instance"] == s.quickstartAddr {
				t.Errorf("VigilTargetDown fired for the live quick start %s", s.quickstartAddr)
			}
		}
	})
	t.Run("captured error spike", func(t *testing.T) {
		s.waitAlert(t, 60*time.Second, map[string]string{
			"alertname": "VigilCapturedErrorSpike", "job": quickstartJob, "severity": "ticket"})
	})
}
