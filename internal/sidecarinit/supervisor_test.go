package sidecarinit

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var all4 = []string{"egress", "pipelock", "git-gate", "supervise"}

func serveAll(code string) map[string]string {
	return map[string]string{"egress": "serve " + code, "pipelock": "serve " + code, "git-gate": "serve " + code, "supervise": "serve " + code}
}

// SIGTERM reaches every daemon; all exit in the grace, none is killed, the
// exit code is the highest child's, and every line is prefixed.
func TestTermExitCodeIsHighest(t *testing.T) {
	tests := []struct {
		name  string
		modes map[string]string
		sig   syscall.Signal
		want  int
	}{
		{"all zero", serveAll("0"), syscall.SIGTERM, 0},
		{"highest wins", map[string]string{"egress": "serve 3", "pipelock": "serve 5", "git-gate": "serve 0", "supervise": "serve 1"}, syscall.SIGTERM, 5},
		{"SIGINT forwarded too", map[string]string{"egress": "serve 0", "pipelock": "serve 7", "git-gate": "serve 0", "supervise": "serve 0"}, syscall.SIGINT, 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := startInit(t, tc.modes, all4, nil)
			h.waitOutput("every daemon ready", func(s string) bool {
				for _, d := range all4 {
					if !strings.Contains(s, "["+d+"] ready "+d+"\n") {
						return false
					}
				}
				return true
			})
			h.signal(tc.sig)
			if got := h.wait(20 * time.Second); got != tc.want {
				t.Errorf("exit code %d, want %d", got, tc.want)
			}
			ev := h.snapshot()
			if n := count(ev, EventKilled, ""); n != 0 {
				t.Errorf("%d daemons were SIGKILLed; all should have exited on %v: %v", n, tc.sig, ev)
			}
			for _, d := range all4 {
				if s, e := count(ev, EventStarted, d), count(ev, EventExited, d); s != 1 || e != 1 {
					t.Errorf("%s: started %d, exited %d times; want 1 and 1", d, s, e)
				}
			}
			if z := zombieChildren(t); len(z) != 0 {
				t.Errorf("zombie children left: %v", z)
			}
			checkPrefixed(t, "stdout", h.stdout.String())
			checkPrefixed(t, "stderr", h.stderr.String())
			for _, d := range all4 {
				if !strings.Contains(h.stderr.String(), "["+d+"] stderr line from "+d+"\n") {
					t.Errorf("stderr lacks %s's prefixed line:\n%s", d, h.stderr.String())
				}
			}
		})
	}
}

// checkPrefixed asserts every line carries a "[name] " prefix.
func checkPrefixed(t *testing.T, what, out string) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		ok := false
		for _, p := range append([]string{"init"}, all4...) {
			if strings.HasPrefix(line, "["+p+"] ") {
				ok = true
			}
		}
		if !ok {
			t.Errorf("%s line without a daemon prefix: %q", what, line)
		}
	}
}

// A daemon that ignores SIGTERM is SIGKILLed when the real 8 s default grace
// runs out; the one that obeyed is not, and the exit code says 137.
func TestIgnoredTermKilledAfterDefaultGrace(t *testing.T) {
	h := startInit(t, map[string]string{"egress": "ignore-term", "pipelock": "serve 0"},
		[]string{"egress", "pipelock"}, func(c *Config) { c.Grace = 0 }) // 0: the default
	h.waitOutput("both ready", func(s string) bool {
		return strings.Contains(s, "[egress] ready") && strings.Contains(s, "[pipelock] ready")
	})
	h.signal(syscall.SIGTERM)
	got := h.wait(DefaultGrace + 10*time.Second)
	ev := h.snapshot()
	if count(ev, EventKilled, "egress") != 1 || count(ev, EventKilled, "pipelock") != 0 {
		t.Errorf("want egress killed once and pipelock never: %v", ev)
	}
	for _, e := range ev {
		if e.Kind == EventExited && e.Daemon == "egress" && !(e.Signaled && e.Signal == syscall.SIGKILL) {
			t.Errorf("egress exit %+v, want death by SIGKILL", e)
		}
	}
	if got != 128+int(syscall.SIGKILL) {
		t.Errorf("exit code %d, want %d", got, 128+int(syscall.SIGKILL))
	}
}

// A daemon that crashes is restarted with a new PID while its siblings keep
// theirs and stay alive.
func TestCrashedDaemonRestartsSiblingsKeepPIDs(t *testing.T) {
	dir := t.TempDir()
	modes := serveAll("0")
	modes["git-gate"] = "crash-once " + dir
	h := startInit(t, modes, all4, nil)
	ev := h.waitFor("git-gate restarted", func(ev []Event) bool { return len(pids(ev, "git-gate")) == 2 })
	h.waitOutput("git-gate serving again", func(s string) bool { return strings.Contains(s, "[git-gate] ready git-gate") })
	gg := pids(ev, "git-gate")
	if gg[0] == gg[1] {
		t.Errorf("git-gate restarted with the same PID %d", gg[0])
	}
	for _, e := range ev {
		if e.Kind == EventExited && e.Daemon == "git-gate" && e.Code != 3 {
			t.Errorf("git-gate's crash exit code %d, want 3", e.Code)
		}
	}
	for _, d := range []string{"egress", "pipelock", "supervise"} {
		p := pids(ev, d)
		if len(p) != 1 {
			t.Fatalf("%s started %d times; a sibling's crash must not restart it", d, len(p))
		}
		if _, err := os.Stat("/proc/" + strconv.Itoa(p[0])); err != nil {
			t.Errorf("%s (pid %d) is gone: %v", d, p[0], err)
		}
	}
	if !strings.Contains(h.stdout.String(), `"msg":"daemon died; restarting after backoff"`) {
		t.Errorf("restart not logged:\n%s", h.stdout.String())
	}
	h.signal(syscall.SIGTERM)
	if got := h.wait(20 * time.Second); got != 0 {
		t.Errorf("exit code %d, want 0 (the last exits were clean)", got)
	}
	ev = h.snapshot()
	for _, d := range []string{"egress", "pipelock", "supervise"} {
		if n := len(pids(ev, d)); n != 1 {
			t.Errorf("%s started %d times", d, n)
		}
	}
}

// SIGUSR1 restarts pipelock and nothing else; SIGHUP reaches egress and
// pipelock only.
func TestSignalsUSR1AndHUP(t *testing.T) {
	h := startInit(t, serveAll("0"), all4, nil)
	h.waitOutput("every daemon ready", func(s string) bool {
		return strings.Count(s, "] ready ") == 4
	})
	before := h.snapshot()

	h.signal(syscall.SIGUSR1)
	ev := h.waitFor("pipelock restarted", func(ev []Event) bool { return len(pids(ev, "pipelock")) == 2 })
	for _, d := range []string{"egress", "git-gate", "supervise"} {
		if got, want := pids(ev, d), pids(before, d); len(got) != 1 || got[0] != want[0] {
			t.Errorf("%s PIDs %v after SIGUSR1, want unchanged %v", d, got, want)
		}
	}
	if n := count(ev, EventExited, "pipelock"); n != 1 {
		t.Errorf("pipelock exited %d times, want 1", n)
	}
	h.waitOutput("new pipelock ready", func(s string) bool { return strings.Count(s, "[pipelock] ready ") == 2 })

	h.signal(syscall.SIGHUP)
	h.waitOutput("SIGHUP at egress and pipelock", func(s string) bool {
		return strings.Contains(s, "[egress] got SIGHUP") && strings.Contains(s, "[pipelock] got SIGHUP")
	})
	h.signal(syscall.SIGTERM)
	if got := h.wait(20 * time.Second); got != 0 {
		t.Errorf("exit code %d", got)
	}
	out := h.stdout.String()
	for _, d := range []string{"git-gate", "supervise"} {
		if strings.Contains(out, "["+d+"] got SIGHUP") {
			t.Errorf("%s received SIGHUP; only egress and pipelock should", d)
		}
	}
}

// 100+ deaths of a crash-looping daemon, each leaving an orphan grandchild
// that dies after its parent: every process is reaped, no zombie is left.
func TestNoZombiesAfterManyDeaths(t *testing.T) {
	modes := map[string]string{"egress": "serve 0", "pipelock": "orphan", "git-gate": "exit 1"}
	h := startInit(t, modes, []string{"egress", "pipelock", "git-gate"}, func(c *Config) {
		c.MinBackoff, c.MaxBackoff = time.Millisecond, 2*time.Millisecond
	})
	// Each death is a real process start; under -race on a loaded machine
	// that is slow, hence the generous bound.
	h.waitForWithin(90*time.Second, "100 daemon deaths", func(ev []Event) bool {
		return count(ev, EventExited, "pipelock")+count(ev, EventExited, "git-gate") >= 100
	})
	h.signal(syscall.SIGTERM)
	h.wait(20 * time.Second)
	ev := h.snapshot()
	if n := count(ev, EventOrphan, ""); n == 0 {
		t.Errorf("no orphan grandchild was reaped; the reaper did not see reparented processes")
	}
	// Orphans still sleeping when the init stopped are reaped by their
	// next owner (this process, as subreaper): give them their 30 ms.
	time.Sleep(200 * time.Millisecond)
	if z := zombieChildren(t); len(z) != 0 {
		// Reap them so other tests are not confused, then fail.
		for _, p := range z {
			var ws syscall.WaitStatus
			syscall.Wait4(p, &ws, syscall.WNOHANG, nil)
		}
		// Orphans that outlived Run are not its to reap; only fail on
		// zombies that were ours.
		mine := map[int]bool{}
		for _, e := range ev {
			if e.Kind == EventStarted {
				mine[e.PID] = true
			}
		}
		for _, p := range z {
			if mine[p] {
				t.Errorf("daemon pid %d left as a zombie", p)
			}
		}
	}
	if len(pids(ev, "egress")) != 1 {
		t.Errorf("egress restarted during its siblings' crash loop: %v", pids(ev, "egress"))
	}
	if !strings.Contains(h.stdout.String(), `"backoff"`) {
		t.Error("restarts not logged with their backoff")
	}
}

// EGRESS_TOKEN_* reach egress only, PIPELOCK_SECRET_* pipelock only, and
// proxy variables no daemon: read from the kernel's copy of each child's
// environment.
func TestPrivateEnvReachesItsDaemonOnly(t *testing.T) {
	env := append(os.Environ(),
		"EGRESS_TOKEN_0=tok-zero-secret", "EGRESS_TOKEN_1=tok-one-secret",
		"PIPELOCK_SECRET_0=agent-secret", "HTTP_PROXY=http://127.0.0.1:1", "no_proxy=x",
		"SUPERVISE_PORT=9100")
	h := startInit(t, serveAll("0"), all4, func(c *Config) { c.Env = env })
	ev := h.waitFor("four started", func(ev []Event) bool { return count(ev, EventStarted, "") == 4 })
	for _, e := range ev {
		got := environ(t, e.PID)
		for _, k := range []string{"EGRESS_TOKEN_0", "EGRESS_TOKEN_1"} {
			if _, has := got[k]; has != (e.Daemon == "egress") {
				t.Errorf("%s has %s: %v; want it in egress only", e.Daemon, k, has)
			}
		}
		if _, has := got["PIPELOCK_SECRET_0"]; has != (e.Daemon == "pipelock" || e.Daemon == "git-gate") {
			t.Errorf("%s has PIPELOCK_SECRET_0: %v; want it in pipelock and git-gate only", e.Daemon, has)
		}
		for _, k := range []string{"HTTP_PROXY", "no_proxy"} {
			if _, has := got[k]; has {
				t.Errorf("%s has %s; proxy variables must reach no daemon", e.Daemon, k)
			}
		}
		if got["SUPERVISE_PORT"] != "9100" {
			t.Errorf("%s lost an ordinary variable: SUPERVISE_PORT=%q", e.Daemon, got["SUPERVISE_PORT"])
		}
		if e.Daemon == "egress" && got["EGRESS_TOKEN_0"] != "tok-zero-secret" {
			t.Errorf("egress EGRESS_TOKEN_0=%q", got["EGRESS_TOKEN_0"])
		}
	}
	if strings.Contains(h.stdout.String(), "tok-zero-secret") {
		t.Error("a token value reached the log")
	}
	h.signal(syscall.SIGTERM)
	h.wait(20 * time.Second)
}

// A command that cannot start is logged, retried with backoff, and does
// not stop the siblings; a partial last line still gets its prefix.
func TestStartFailureAndPartialLine(t *testing.T) {
	h := startInit(t, map[string]string{"egress": "partial", "supervise": "serve 0"},
		[]string{"egress", "supervise"}, func(c *Config) {
			inner := c.Command
			c.Command = func(d string) []string {
				if d == "supervise" {
					return []string{"/nonexistent/claude-bottle-sidecar", d}
				}
				return inner(d)
			}
		})
	h.waitFor("two start failures", func(ev []Event) bool { return count(ev, EventStartFailed, "supervise") >= 2 })
	h.waitOutput("egress ready", func(s string) bool { return strings.Contains(s, "[egress] ready egress") })
	h.signal(syscall.SIGTERM)
	if got := h.wait(20 * time.Second); got != 127 {
		t.Errorf("exit code %d, want 127 (supervise never started)", got)
	}
	out := h.stdout.String()
	if !strings.Contains(out, "[egress] no newline at the end") {
		t.Errorf("partial line lost:\n%s", out)
	}
	if !strings.Contains(out, "/nonexistent/claude-bottle-sidecar") {
		t.Errorf("start failure does not name the command:\n%s", out)
	}
	if len(pids(h.snapshot(), "egress")) != 1 {
		t.Error("egress restarted because a sibling could not start")
	}
}
