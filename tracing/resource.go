package tracing

import (
	"bufio"
	"context"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"sync"

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
// attributes on attrs, and unless disabled, the detected attributes under them all:
// detected < OTEL_RESOURCE_ATTRIBUTES (and the Kubernetes variables) < Config fields.
func baseResource(cfg Config, attrs map[string]string) map[string]string {
	if !cfg.Disabled && !cfg.DisableResourceDetection {
		for k, v := range detected() {
			if _, ok := attrs[k]; !ok {
				attrs[k] = v
			}
		}
	}
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

// detected returns the attributes the SDK's detectors find about the host, the process
// and the container, computed once per process: host.name, process.pid,
// process.executable.name, process.runtime.*, container.id. The command line and the
// process owner are left out: arguments often carry credentials. Kubernetes attributes
// come from the downward-API variables, which observe reads (they are not detected here).
func detected() map[string]string {
	detectOnce.Do(func() {
		detectedAttrs = map[string]string{}
		// Detector failures are partial: whatever was found is kept.
		res, _ := resource.New(context.Background(),
			resource.WithHost(),
			resource.WithProcessPID(),
			resource.WithProcessExecutableName(),
			resource.WithProcessRuntimeName(),
			resource.WithProcessRuntimeVersion(),
			resource.WithProcessRuntimeDescription(),
			resource.WithContainer(),
		)
		if res != nil {
			for _, kv := range res.Attributes() {
				detectedAttrs[string(kv.Key)] = kv.Value.String()
			}
		}
		if detectedAttrs[keyContainerID] == "" {
			if id := containerIDFromMountinfo(mountinfoPath); id != "" {
				detectedAttrs[keyContainerID] = id
			}
		}
	})
	return maps.Clone(detectedAttrs)
}

var (
	detectOnce    sync.Once
	detectedAttrs map[string]string
)

const (
	keyContainerID = "container.id"
	mountinfoPath  = "/proc/self/mountinfo"
)

// containerMount finds a container id in a mount source: under cgroup v2 the cgroup
// file names no container, but the runtime bind-mounts the container's own hostname
// and resolv.conf from a directory named by its id (docker, containerd, CRI-O).
var containerMount = regexp.MustCompile(`containers/([0-9a-f]{64})/`)

func containerIDFromMountinfo(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := containerMount.FindStringSubmatch(sc.Text()); m != nil {
			return m[1]
		}
	}
	return ""
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
