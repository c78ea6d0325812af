package errors

import (
	"github.com/vigil-go/vigil/internal/jsonstr"
	"hash/maphash"
	"reflect"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/getsentry/sentry-go"
)

// maxFrames bounds the program counters taken per capture.
const maxFrames = 64

// maxCachedTraces bounds the symbol cache; past it, traces are symbolized every time.
const maxCachedTraces = 2048

// trace is a symbolized stack. Symbolizing costs microseconds, so each distinct list of
// program counters is symbolized once and shared (read-only) by every later capture.
type stackTrace struct {
	hash     uint64
	frames   []sentry.Frame  // oldest first, as Sentry wants them
	text     *jsonstr.Quoted // newest first, like a Go panic trace; encoded once for log lines
	panicked bool            // the stack runs through runtime.gopanic
	pc       uintptr         // the innermost kept frame, as a return address, for log sources
}

type traceCache struct {
	m sync.Map // uint64 -> *stackTrace
	n atomic.Int64
}

var seed = maphash.MakeSeed()

func hashPCs(pcs []uintptr) uint64 {
	if len(pcs) == 0 {
		return 0
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(&pcs[0])), len(pcs)*int(unsafe.Sizeof(pcs[0])))
	return maphash.Bytes(seed, b)
}

// get returns the symbolized trace of pcs, from the cache when it has been seen.
func (c *traceCache) get(pcs []uintptr) *stackTrace {
	h := hashPCs(pcs)
	if t, ok := c.m.Load(h); ok {
		return t.(*stackTrace)
	}
	t := symbolize(slices.Clone(pcs)) // the caller's array stays on its stack
	t.hash = h
	if c.n.Load() < maxCachedTraces {
		if _, loaded := c.m.LoadOrStore(h, t); !loaded {
			c.n.Add(1)
		}
	}
	return t
}

// symbolize resolves pcs (as runtime.Callers returns them, newest first). When the
// stack runs through runtime.gopanic, Capture was called from a deferred function during
// a panic: the frames above gopanic are the recovery machinery and the frames below it
// are the ones that panicked, so only those are kept.
func symbolize(pcs []uintptr) *stackTrace {
	var all []runtime.Frame
	frames := runtime.CallersFrames(pcs)
	for {
		f, more := frames.Next()
		if f.Function != "" || f.File != "" {
			all = append(all, f)
		}
		if !more {
			break
		}
	}
	t := &stackTrace{}
	start := -1
	for i, f := range all {
		if f.Function == "runtime.gopanic" {
			start, t.panicked = i+1, true
			break
		}
	}
	if start >= 0 {
		// Skip the runtime's own frames between gopanic and the faulting code
		// (runtime.panicmem, runtime.sigpanic, runtime.goPanicIndex, ...).
		for start < len(all) && strings.HasPrefix(all[start].Function, "runtime.") {
			start++
		}
	} else {
		start = 0
		for start < len(all) && isPlumbing(all[start].Function) {
			start++
		}
	}
	all = all[start:]
	if len(all) > 0 {
		t.pc = all[0].PC + 1 // Frame.PC is the call instruction; slog wants a return address
	}
	if n := len(all); n > 0 && all[n-1].Function == "runtime.goexit" {
		all = all[:n-1]
	}

	var sb strings.Builder
	t.frames = make([]sentry.Frame, len(all))
	for i, f := range all {
		module, fn := splitFunction(f.Function)
		t.frames[len(all)-1-i] = sentry.Frame{
			Function: fn,
			Module:   module,
			Filename: shortFile(f.File),
			AbsPath:  f.File,
			Lineno:   f.Line,
			InApp:    inApp(module, f.File),
		}
		sb.WriteString(f.Function)
		sb.WriteString("\n\t")
		// The standard library and module cache are named from GOROOT/src and
		// GOMODCACHE: as clear, and shorter lines to log on every capture.
		sb.WriteString(shortFile(f.File))
		sb.WriteByte(':')
		sb.WriteString(strconv.Itoa(f.Line))
		sb.WriteByte('\n')
	}
	t.text = jsonstr.Quote(sb.String())
	return t
}

// plumbing is the code between the user's call and runtime.Callers: this package, the
// facade, and the slog machinery the bridge is called through.
var plumbing = []string{
	"runtime.",
	"github.com/vigil-go/vigil/errors.",
	"github.com/vigil-go/vigil/observe.",
	"github.com/vigil-go/vigil/logging.",
	"github.com/vigil-go/vigil/middleware.",
	"log/slog.",
	"github.com/samber/slog-multi.",
}

func isPlumbing(fn string) bool {
	for _, p := range plumbing {
		if strings.HasPrefix(fn, p) {
			return true
		}
	}
	return false
}

// splitFunction splits "example.com/a/b.(*T).M" into "example.com/a/b" and "(*T).M".
func splitFunction(name string) (module, fn string) {
	slash := strings.LastIndexByte(name, '/')
	dot := strings.IndexByte(name[slash+1:], '.')
	if dot < 0 {
		return "", name
	}
	dot += slash + 1
	return name[:dot], name[dot+1:]
}

// goroot is where the standard library was built from, read off a standard library
// function's file name (runtime.GOROOT is deprecated and may not match the binary).
var goroot = func() string {
	pc := reflect.ValueOf(strings.Cut).Pointer()
	file, _ := runtime.FuncForPC(pc).FileLine(pc)
	root, _, ok := strings.Cut(file, "/src/strings/")
	if !ok {
		return ""
	}
	return root
}()

func shortFile(file string) string {
	if i := strings.Index(file, "/pkg/mod/"); i >= 0 {
		return file[i+len("/pkg/mod/"):]
	}
	if goroot != "" && strings.HasPrefix(file, goroot+"/src/") {
		return file[len(goroot)+len("/src/"):]
	}
	return file
}

// vigilPath prefixes every vigil package (the keys of libraryPackages included).
const vigilPath = "github.com/vigil-go/vigil/"

// libraryPackages are vigil's own packages: frames in them are not the application's.
var libraryPackages = map[string]bool{
	"github.com/vigil-go/vigil/errors":     true,
	"github.com/vigil-go/vigil/observe":    true,
	"github.com/vigil-go/vigil/logging":    true,
	"github.com/vigil-go/vigil/middleware": true,
	"github.com/vigil-go/vigil/metrics":    true,
	"github.com/vigil-go/vigil/tracing":    true,
}

// mainModule is the main module's path from build info ("orderservice",
// "github.com/acme/shop"), and nested are the dependencies whose paths lie under it:
// frames are the application's when their package is in the one and not the others.
// Package paths do not change with -trimpath, file names do, so this holds in both.
var mainModule, nested = func() (string, []string) {
	bi, ok := debug.ReadBuildInfo()
	if !ok || bi.Main.Path == "" || bi.Main.Path == "command-line-arguments" {
		return "", nil
	}
	var under []string
	for _, d := range bi.Deps {
		if strings.HasPrefix(d.Path, bi.Main.Path+"/") {
			under = append(under, d.Path)
		}
	}
	return bi.Main.Path, under
}()

// within reports whether pkg is mod or a package under it (without building mod+"/",
// which allocated on every frame of every event).
func within(pkg, mod string) bool {
	return strings.HasPrefix(pkg, mod) && (len(pkg) == len(mod) || pkg[len(mod)] == '/')
}

// inApp reports whether a frame is the application's own code: a package of the main
// module (package main included), not the standard library, a dependency or vigil itself.
func inApp(module, file string) bool {
	switch {
	case module == "main" || strings.HasPrefix(module, "main."):
		return true
	case strings.HasPrefix(module, vigilPath) &&
		(libraryPackages[module] || strings.HasPrefix(module[len(vigilPath):], "internal/")):
		return false
	case mainModule != "":
		if !within(module, mainModule) {
			return false
		}
		for _, d := range nested {
			if within(module, d) {
				return false
			}
		}
		return true
	}
	// No build info: judge by the file name (wrong under -trimpath, the best there is).
	first, _, _ := strings.Cut(module, "/")
	switch {
	case !strings.Contains(first, "."):
		return false // standard library
	case strings.Contains(file, "/pkg/mod/") || strings.Contains(file, "/vendor/"):
		return false
	}
	return true
}

// ownPCs returns the program counters an error recorded where it was created, for the
// conventions in use: pkg/errors and its forks (StackTrace() returning a slice of
// uintptr-based frames) and go-errors style Callers() []uintptr. The lookup is cached per
// type, so errors without a stack pay one map read.
func ownPCs(err error) []uintptr {
	t := reflect.TypeOf(err)
	if t == nil {
		return nil
	}
	var ex *stackMethod
	if v, ok := stackMethods.Load(t); ok {
		ex = v.(*stackMethod)
	} else {
		ex = findStackMethod(t)
		stackMethods.Store(t, ex)
	}
	if ex.index < 0 {
		return nil
	}
	return ex.call(err)
}

var stackMethods sync.Map // reflect.Type -> *stackMethod

type stackMethod struct{ index int }

func findStackMethod(t reflect.Type) *stackMethod {
	for _, name := range []string{"StackTrace", "Callers"} {
		m, ok := t.MethodByName(name)
		if !ok || m.Type.NumIn() != 1 || m.Type.NumOut() != 1 {
			continue
		}
		out := m.Type.Out(0)
		if out.Kind() == reflect.Slice && out.Elem().Kind() == reflect.Uintptr {
			return &stackMethod{index: m.Index}
		}
	}
	return &stackMethod{index: -1}
}

func (s *stackMethod) call(err error) (pcs []uintptr) {
	defer func() {
		if recover() != nil { // a broken StackTrace method must not break capture
			pcs = nil
		}
	}()
	out := reflect.ValueOf(err).Method(s.index).Call(nil)[0]
	n := min(out.Len(), maxFrames)
	pcs = make([]uintptr, n)
	for i := range n {
		pcs[i] = uintptr(out.Index(i).Uint())
	}
	return pcs
}
