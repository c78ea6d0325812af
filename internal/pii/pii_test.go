package pii_test

import (
	"testing"

	"github.com/vigil-go/vigil/internal/pii"
)

func TestIPHeader(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"X-Forwarded-For", true},
		{"x-forwarded-for", true}, // gRPC metadata keys are lower case
		{"X-FORWARDED-FOR", true},
		{"X-Real-Ip", true},
		{"x-real-ip", true},
		{"Forwarded", true},
		{"True-Client-IP", true},
		{"cf-connecting-ip", true},
		{"x-envoy-external-address", true},
		{"X-Forwarded-Proto", false},
		{"X-Forwarded-Host", false},
		{"User-Agent", false},
		{"x-tenant", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := pii.IPHeader(tt.name); got != tt.want {
			t.Errorf("IPHeader(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { pii.IPHeader("x-forwarded-for") }); n != 0 {
		t.Errorf("IPHeader allocates %v times", n)
	}
}
