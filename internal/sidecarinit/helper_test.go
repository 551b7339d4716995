package sidecarinit

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/claude-bottle/claude-bottle/internal/testkit"
)

// The test binary doubles as the daemons: Config.Command points back at it
// with childArg first, and TestMain turns it into the requested behaviour
// before the testing package sees the arguments.
const childArg = "sidecarinit-test-child"

func TestMain(m *testing.M) {
	if len(os.Args) > 3 && os.Args[1] == childArg {
		os.Exit(runChild(os.Args[2], os.Args[3], os.Args[4:]))
	}
	// Orphans of the test children must come back to this process (as they
	// would to PID 1 in the container) so the reaper is really exercised.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "PR_SET_CHILD_SUBREAPER:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// runChild is one test daemon. Modes:
//
//	serve <code>        print a line to stdout and stderr, print "got SIGHUP" on
//	                    each SIGHUP, exit <code> on SIGTERM/SIGINT
//	ignore-term         ignore SIGTERM, run until killed
//	exit <code>         exit at once
//	crash-once <dir>    exit 3 the first time (marker file in dir), else serve 0
//	orphan              start a grandchild that outlives us briefly, exit 0
//	sleep <duration>    sleep, exit 0
//	partial             print a last line with no newline, exit 0 on SIGTERM
func runChild(mode, daemon string, rest []string) int {
	arg := func(i int) string {
		if i < len(rest) {
			return rest[i]
		}
		return ""
	}
	switch mode {
	case "serve":
		code, _ := strconv.Atoi(arg(0))
		return serve(daemon, code)
	case "ignore-term":
		signal.Ignore(syscall.SIGTERM)
		fmt.Printf("ready %s\n", daemon)
		time.Sleep(time.Hour)
		return 0
	case "exit":
		code, _ := strconv.Atoi(arg(0))
		return code
	case "crash-once":
		marker := filepath.Join(arg(0), daemon)
		if _, err := os.Stat(marker); err != nil {
			_ = os.WriteFile(marker, nil, 0o600)
			fmt.Printf("crashing %s\n", daemon)
			return 3
		}
		return serve(daemon, 0)
	case "orphan":
		p, err := os.StartProcess(os.Args[0], []string{os.Args[0], childArg, "sleep", daemon, "30ms"},
			&os.ProcAttr{Files: []*os.File{nil, os.Stdout, os.Stderr}})
		if err != nil {
			return 1
		}
		_ = p.Release()
		return 0
	case "sleep":
		d, _ := time.ParseDuration(arg(0))
		time.Sleep(d)
		return 0
	case "partial":
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM)
		fmt.Printf("ready %s\nno newline at the end", daemon)
		<-ch
		return 0
	}
	fmt.Fprintf(os.Stderr, "unknown test child mode %q\n", mode)
	return 99
}

func serve(daemon string, code int) int {
	ch := make(chan os.Signal, 8)
	signal.Notify(ch, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	fmt.Printf("ready %s\n", daemon)
	fmt.Fprintf(os.Stderr, "stderr line from %s\n", daemon)
	for sig := range ch {
		if sig == syscall.SIGHUP {
			fmt.Printf("got SIGHUP\n")
			continue
		}
		return code
	}
	return code
}

// testkit.SyncBuffer is a bytes.Buffer safe for the init's writer and the test.

// harness runs Run in a goroutine with real child processes.
type harness struct {
	t      *testing.T
	mu     sync.Mutex
	events []Event
	stdout testkit.SyncBuffer
	stderr testkit.SyncBuffer
	done   chan struct{}
	code   int
	err    error
	cancel context.CancelFunc
}

// modes maps a daemon to its test behaviour: "serve 0", "ignore-term", ...
func startInit(t *testing.T, modes map[string]string, order []string, tune func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, done: make(chan struct{})}
	ready := make(chan struct{})
	cfg := Config{
		Daemons: order,
		Command: func(d string) []string {
			f := strings.Fields(modes[d]) // "serve 0" -> bin child serve <daemon> 0
			return append([]string{os.Args[0], childArg, f[0], d}, f[1:]...)
		},
		Grace:      3 * time.Second,
		MinBackoff: 20 * time.Millisecond,
		MaxBackoff: 200 * time.Millisecond,
		Stdout:     &h.stdout,
		Stderr:     &h.stderr,
		OnEvent: func(e Event) {
			h.mu.Lock()
			h.events = append(h.events, e)
			h.mu.Unlock()
		},
		Ready: func() { close(ready) },
	}
	if tune != nil {
		tune(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() {
		defer close(h.done)
		h.code, h.err = Run(ctx, cfg)
	}()
	t.Cleanup(func() {
		// Stop whatever is left, even after a failed assertion.
		cancel()
		select {
		case <-h.done:
		case <-time.After(20 * time.Second):
			t.Errorf("init did not stop within 20 s of cancel")
		}
		if t.Failed() {
			t.Logf("stdout:\n%s\nstderr:\n%s", h.stdout.String(), h.stderr.String())
		}
	})
	select {
	case <-ready:
	case <-h.done:
		t.Fatalf("Run returned before ready: code %d err %v", h.code, h.err)
	case <-time.After(10 * time.Second):
		t.Fatal("init not ready after 10 s")
	}
	return h
}

func (h *harness) snapshot() []Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Event(nil), h.events...)
}

// waitFor polls the event log until cond holds; bounded by 15 s.
func (h *harness) waitFor(what string, cond func([]Event) bool) []Event {
	h.t.Helper()
	return h.waitForWithin(15*time.Second, what, cond)
}

func (h *harness) waitForWithin(limit time.Duration, what string, cond func([]Event) bool) []Event {
	h.t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if ev := h.snapshot(); cond(ev) {
			return ev
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.t.Fatalf("timed out waiting for %s; events: %v", what, h.snapshot())
	return nil
}

func (h *harness) waitOutput(what string, cond func(string) bool) {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if cond(h.stdout.String()) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.t.Fatalf("timed out waiting for %s in stdout:\n%s", what, h.stdout.String())
}

// signal sends a real signal to this process, where Run's handler gets it.
func (h *harness) signal(sig syscall.Signal) {
	h.t.Helper()
	if err := syscall.Kill(os.Getpid(), sig); err != nil {
		h.t.Fatal(err)
	}
}

// wait waits for Run to return (bounded) and gives its exit code.
func (h *harness) wait(limit time.Duration) int {
	h.t.Helper()
	select {
	case <-h.done:
	case <-time.After(limit):
		h.t.Fatalf("init still running after %v", limit)
	}
	if h.err != nil {
		h.t.Fatalf("Run: %v", h.err)
	}
	return h.code
}

func count(ev []Event, kind EventKind, daemon string) int {
	n := 0
	for _, e := range ev {
		if e.Kind == kind && (daemon == "" || e.Daemon == daemon) {
			n++
		}
	}
	return n
}

func pids(ev []Event, daemon string) []int {
	var out []int
	for _, e := range ev {
		if e.Kind == EventStarted && e.Daemon == daemon {
			out = append(out, e.PID)
		}
	}
	return out
}

// zombieChildren lists the children of this process in state Z.
func zombieChildren(t *testing.T) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	me := os.Getpid()
	var z []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		// "pid (comm) S ppid ...": comm may hold spaces and parens.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(f[1]); ppid == me && f[0] == "Z" {
			z = append(z, pid)
		}
	}
	return z
}

func environ(t *testing.T, pid int) map[string]string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		t.Fatalf("read environ of %d: %v", pid, err)
	}
	m := map[string]string{}
	for _, kv := range strings.Split(string(b), "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}
