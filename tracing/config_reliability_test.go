package tracing

import (
	"os"
	"strings"
	"testing"
)

// FuzzEnv sets one OpenTelemetry variable to an arbitrary value and checks that
// resolving the configuration either succeeds with a usable setting or fails with one
// error, on one line, that names the variable; and that nothing panics.
// Seeds: testdata/fuzz/FuzzEnv.
func FuzzEnv(f *testing.F) {
	vars := []string{envSDKDisabled, envServiceName, envResourceAttributes, envExporter, envSampler,
		envSamplerArg, envEndpoint, envTracesEndpoint, envProtocol, envTracesProtocol, envHeaders,
		envTracesHeaders, envInsecure, envTracesInsecure, envTimeout, envTracesTimeout, envQueueSize}
	for i, s := range []string{"true", "checkout", "service.name=a%20b,team=x", "otlp,console", "parentbased_traceidratio",
		"0.25", "http://collector:4318", "https://c/v1/traces", "grpc", "http/json", "authorization=Bearer%20x",
		"a=b,,c=d", "TRUE", "maybe", "10000", "-5", "2048"} {
		f.Add(uint8(i), s)
	}
	f.Add(uint8(6), "collector:4317")
	f.Add(uint8(6), "ftp://x")
	f.Add(uint8(2), "=novalue")
	f.Add(uint8(5), "NaN")
	f.Fuzz(func(t *testing.T, which uint8, value string) {
		if strings.ContainsRune(value, 0) {
			return // the environment cannot hold NUL
		}
		name := vars[int(which)%len(vars)]
		for _, v := range vars {
			os.Unsetenv(v)
		}
		os.Setenv(name, value)
		defer os.Unsetenv(name)
		s, err := resolve(Config{})
		if err != nil {
			if !strings.Contains(err.Error(), name+"=") {
				t.Fatalf("%s=%q: error %q does not name the variable", name, value, err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("%s=%q: error spans lines: %q", name, value, err)
			}
			return
		}
		if s.sampler == nil || s.resource == nil {
			t.Fatalf("%s=%q: accepted without a sampler or resource", name, value)
		}
		if !s.disabled && len(s.exporters) > 0 && (s.timeout <= 0 || s.queueSize <= 0) {
			t.Fatalf("%s=%q: accepted with timeout %v, queue %d", name, value, s.timeout, s.queueSize)
		}
	})
}
