//go:build integration

package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// service is one running example program, with every stdout line kept for the log checks.
type service struct {
	addr string
	cmd  *exec.Cmd
	done chan struct{}

	mu     sync.Mutex
	lines  []string
	stderr bytes.Buffer
}

// startService runs bin with args and the extra environment, and waits until it answers HTTP
// on the -addr it was given.
func startService(bin string, args, extraEnv []string) (*service, error) {
	s := &service{done: make(chan struct{})}
	for i, a := range args {
		if a == "-addr" && i+1 < len(args) {
			s.addr = args[i+1]
		}
	}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Env = append(os.Environ(), extraEnv...)
	// If the test binary dies (go test's -timeout), the kernel stops the service too.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s.cmd.Stderr = lockedWriter{&s.mu, &s.stderr}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			s.mu.Lock()
			s.lines = append(s.lines, sc.Text())
			s.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, stdout)
		_ = s.cmd.Wait()
		close(s.done)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if code, err := getStatus("http://"+s.addr+"/metrics", ""); err == nil && code == 200 {
			return s, nil
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("%s exited before answering: %s\n%s", bin, s.cmd.ProcessState, s.output())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("%s did not answer on %s within 20s\n%s", bin, s.addr, s.output())
		}
	}
}

// Stop sends SIGTERM (the program's graceful shutdown flushes its telemetry) and waits up to
// 15s before killing it.
func (s *service) Stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// Lines returns the stdout lines so far.
func (s *service) Lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

func (s *service) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	tail := s.lines
	if len(tail) > 20 {
		tail = tail[len(tail)-20:]
	}
	return strings.Join(tail, "\n") + "\n" + s.stderr.String()
}

// logRecords returns the JSON log records whose fields match all of want.
func (s *service) logRecords(want map[string]string) []map[string]any {
	var out []map[string]any
	for _, line := range s.Lines() {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		ok := true
		for k, v := range want {
			if fmt.Sprint(rec[k]) != v {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, rec)
		}
	}
	return out
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// freeAddr returns a loopback address nobody listens on right now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
