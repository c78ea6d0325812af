package tracing

import (
	"os"
	"path/filepath"
	"sort"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk"
	"go.opentelemetry.io/otel/sdk/resource"
)

// Resource attribute keys (OpenTelemetry semantic conventions). They are spelled out
// rather than taken from a semconv package so that no schema URL is attached: a
// schemaless resource merges with any other and cannot fail.
const (
	keyServiceName    = "service.name"
	keyServiceVersion = "service.version"
	keyEnvironment    = "deployment.environment.name"
)

// baseResource sets the Config fields, the service name default and the SDK's
// attributes on attrs.
func baseResource(cfg Config, attrs map[string]string) map[string]string {
	set := func(k, v string) {
		if v != "" {
			attrs[k] = v
		}
	}
	set(keyServiceName, cfg.Service)
	set(keyServiceVersion, cfg.Version)
	set(keyEnvironment, cfg.Environment)
	if attrs[keyServiceName] == "" {
		attrs[keyServiceName] = "unknown_service:" + filepath.Base(os.Args[0])
	}
	attrs["telemetry.sdk.name"] = "opentelemetry"
	attrs["telemetry.sdk.language"] = "go"
	attrs["telemetry.sdk.version"] = sdk.Version()
	return attrs
}

// newResource builds the schemaless resource from resolved attributes.
func newResource(attrs map[string]string) *resource.Resource {
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	kvs := make([]attribute.KeyValue, 0, len(keys))
	for _, k := range keys {
		kvs = append(kvs, attribute.String(k, attrs[k]))
	}
	return resource.NewSchemaless(kvs...)
}
