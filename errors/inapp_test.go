package errors_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-go/vigil/internal/sentrytest"
)

// TestInAppFrames builds a service of its own (module orderservice: no dot in its path)
// with and without -trimpath and checks which frames Sentry is told are the
// application's: the service's packages are, the standard library, a dependency and
// vigil are not.
func TestInAppFrames(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	mustCopy(t, "testdata/inapp/main.go.txt", filepath.Join(dir, "main.go"))
	mustCopy(t, "testdata/inapp/orders/orders.go.txt", filepath.Join(dir, "orders", "orders.go"))
	mustCopy(t, filepath.Join(root, "go.sum"), filepath.Join(dir, "go.sum"))
	gomod := "module orderservice\n\ngo 1.26.0\n\nrequire github.com/vigil-go/vigil v0.0.0\n\nreplace github.com/vigil-go/vigil => " + root + "\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, mode := range []struct {
		name  string
		flags []string
	}{{"default", nil}, {"trimpath", []string{"-trimpath"}}} {
		t.Run(mode.name, func(t *testing.T) {
			bin := filepath.Join(dir, "orderservice-"+mode.name)
			args := append(append([]string{"build"}, mode.flags...), "-o", bin, ".")
			cmd := exec.Command(goBin, args...)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go build: %v\n%s", err, out)
			}
			srv := sentrytest.NewServer(t)
			run := exec.Command(bin, srv.DSN())
			if out, err := run.CombinedOutput(); err != nil {
				t.Fatalf("run: %v\n%s", err, out)
			}
			ev := srv.WaitForEvents(t, 1, 10*time.Second)[0]
			st := ev.Exception[len(ev.Exception)-1].Stacktrace
			if st == nil {
				t.Fatal("no stack trace")
			}
			seen := map[string]bool{}
			for _, f := range st.Frames {
				want, known := map[string]bool{
					"orderservice/orders":              true,
					"main":                             true,
					"runtime":                          false,
					"github.com/getsentry/sentry-go":   false,
					"github.com/vigil-go/vigil/errors": false,
				}[f.Module]
				if !known {
					continue
				}
				seen[f.Module] = true
				if f.InApp != want {
					t.Errorf("frame %s.%s (%s): in_app %v, want %v", f.Module, f.Function, f.AbsPath, f.InApp, want)
				}
			}
			for _, m := range []string{"orderservice/orders", "main", "runtime", "github.com/getsentry/sentry-go"} {
				if !seen[m] {
					t.Errorf("no frame of %s in %+v", m, st.Frames)
				}
			}
		})
	}
}

func mustCopy(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
