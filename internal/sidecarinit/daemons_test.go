package sidecarinit

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/claude-bottle/claude-bottle/internal/testkit"
)

func TestParseDaemons(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string // substring; "" means no error
	}{
		{in: "egress,pipelock,git-gate,supervise", want: []string{"egress", "pipelock", "git-gate", "supervise"}},
		{in: "pipelock", want: []string{"pipelock"}},
		{in: " egress , pipelock ", want: []string{"egress", "pipelock"}},
		{in: "\tgit-gate,\n pipelock", want: []string{"git-gate", "pipelock"}},
		{in: "supervise,egress", want: []string{"supervise", "egress"}}, // order kept
		{in: "pipelock,,egress,", want: []string{"pipelock", "egress"}}, // empty entries
		{in: "pipelock,pipelock, pipelock", want: []string{"pipelock"}}, // duplicates once
		{in: "egress,pipelock,egress", want: []string{"egress", "pipelock"}},
		{in: "", wantErr: `CLAUDE_BOTTLE_SIDECAR_DAEMONS="" names no daemon`},
		{in: " , ,", wantErr: "names no daemon"},
		{in: "egress,gitgate", wantErr: `unknown daemon "gitgate"`},
		{in: "egress,gitgate", wantErr: `CLAUDE_BOTTLE_SIDECAR_DAEMONS="egress,gitgate"`},
		{in: "Egress", wantErr: `did you mean "egress"`},
		{in: "init", wantErr: "known daemons: egress, pipelock, git-gate, supervise"},
		{in: "egress;pipelock", wantErr: `unknown daemon "egress;pipelock"`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseDaemons(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseDaemons(%q) error %v, want one containing %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("ParseDaemons(%q) (-want +got):\n%s", tc.in, d)
			}
		})
	}
}

func FuzzParseDaemons(f *testing.F) {
	for _, s := range []string{"egress,pipelock,git-gate,supervise", " pipelock ,", ",,", "x", "egress,egress", "Egress,\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseDaemons(s)
		if err != nil {
			if !strings.Contains(err.Error(), EnvDaemons) {
				t.Fatalf("error does not name the variable: %v", err)
			}
			return
		}
		if len(got) == 0 {
			t.Fatal("no error and no daemon")
		}
		seen := map[string]bool{}
		for _, d := range got {
			if _, ok := Ports[d]; !ok || seen[d] {
				t.Fatalf("bad or repeated daemon %q in %v", d, got)
			}
			seen[d] = true
			if !strings.Contains(s, d) {
				t.Fatalf("daemon %q not in input %q", d, s)
			}
		}
	})
}

func TestChildEnv(t *testing.T) {
	base := []string{"PATH=/bin", "EGRESS_TOKEN_0=a", "EGRESS_UPSTREAM_PROXY=http://p:8888",
		"PIPELOCK_SECRET_3=s", "HTTPS_PROXY=http://x", "https_proxy=http://x", "NO_PROXY=supervise", "SUPERVISE_PORT=9100"}
	tests := []struct {
		daemon string
		want   []string
	}{
		{"egress", []string{"PATH=/bin", "EGRESS_TOKEN_0=a", "EGRESS_UPSTREAM_PROXY=http://p:8888", "SUPERVISE_PORT=9100"}},
		{"pipelock", []string{"PATH=/bin", "EGRESS_UPSTREAM_PROXY=http://p:8888", "PIPELOCK_SECRET_3=s", "SUPERVISE_PORT=9100"}},
		{"git-gate", []string{"PATH=/bin", "EGRESS_UPSTREAM_PROXY=http://p:8888", "PIPELOCK_SECRET_3=s", "SUPERVISE_PORT=9100"}},
		{"supervise", []string{"PATH=/bin", "EGRESS_UPSTREAM_PROXY=http://p:8888", "SUPERVISE_PORT=9100"}},
	}
	for _, tc := range tests {
		t.Run(tc.daemon, func(t *testing.T) {
			got, dropped := ChildEnv(tc.daemon, base)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			if d := cmp.Diff([]string{"HTTPS_PROXY", "https_proxy", "NO_PROXY"}, dropped); d != "" {
				t.Errorf("dropped (-want +got):\n%s", d)
			}
		})
	}
}

func TestCopyPrefixed(t *testing.T) {
	long := strings.Repeat("x", maxLine+10)
	tests := []struct {
		name, in, want string
	}{
		{"lines", "a\nb\n", "[d] a\n[d] b\n"},
		{"partial last line", "a\nb", "[d] a\n[d] b\n"},
		{"empty", "", ""},
		{"blank line kept", "\n", "[d] \n"},
		{"long line cut, each piece prefixed", long + "\n", "[d] " + long[:maxLine] + "\n[d] " + long[maxLine:] + "\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			copyPrefixed(&lockedWriter{w: &b}, "d", strings.NewReader(tc.in))
			if d := cmp.Diff(tc.want, b.String()); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// Health probes real listeners on loopback; ports are ephemeral so the
// test never collides with a daemon on its real port.
func TestHealth(t *testing.T) {
	up := func() int {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		return l.Addr().(*net.TCPAddr).Port
	}
	down := func() int { // a port that was just free: nothing listens
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		return p
	}
	ports := map[string]int{"egress": up(), "pipelock": up(), "git-gate": down(), "supervise": up()}
	tests := []struct {
		name     string
		args     []string
		env      string
		want     int
		wantErr  string
		wantNot  string
		wantNone bool
	}{
		{name: "bundle all up", env: "egress,pipelock,supervise", want: 0, wantNone: true},
		{name: "bundle one down", env: "egress,pipelock,git-gate", want: 1, wantErr: "git-gate (127.0.0.1:", wantNot: "egress ("},
		{name: "legacy one up", args: []string{"pipelock"}, env: "git-gate", want: 0, wantNone: true},
		{name: "legacy one down", args: []string{"git-gate"}, want: 1, wantErr: "git-gate"},
		{name: "unknown arg", args: []string{"gitgate"}, want: 2, wantErr: `unknown daemon "gitgate"`},
		{name: "bad env", env: "egress,foo", want: 2, wantErr: `unknown daemon "foo"`},
		{name: "no env no arg", want: 2, wantErr: "names no daemon"},
		{name: "two args", args: []string{"egress", "pipelock"}, want: 2, wantErr: "at most one"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			got := health(tc.args, tc.env, "127.0.0.1", ports, &stderr)
			if got != tc.want {
				t.Errorf("exit %d, want %d; stderr %q", got, tc.want, stderr.String())
			}
			if tc.wantErr != "" && !strings.Contains(stderr.String(), tc.wantErr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tc.wantErr)
			}
			if tc.wantNot != "" && strings.Contains(stderr.String(), tc.wantNot) {
				t.Errorf("stderr %q names %q, which is up", stderr.String(), tc.wantNot)
			}
			if tc.wantNone && stderr.Len() != 0 {
				t.Errorf("stderr %q, want nothing", stderr.String())
			}
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := Check(ctx, []string{"egress"}, "127.0.0.1", ports, time.Second); err != nil {
		t.Errorf("Check egress: %v", err)
	}
}

// The real binary: "init" with a bad CSV fails before starting anything and
// names the value; "init --help" documents the signals.
func TestMainErrors(t *testing.T) {
	bin := testkit.Binary(t, "cmd/claude-bottle-sidecar")
	tests := []struct {
		name string
		args []string
		env  string
		code int
		want string
	}{
		{"unknown daemon", []string{"init"}, "egress,bogus", 2, `unknown daemon \"bogus\"`},
		{"empty", []string{"init"}, "", 2, "names no daemon"},
		{"extra args", []string{"init", "egress"}, "egress", 2, "init takes no arguments"},
		{"help", []string{"init", "--help"}, "", 0, "SIGUSR1"},
		{"health unknown", []string{"health", "nope"}, "", 2, `unknown daemon "nope"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, tc.args...)
			cmd.Env = append(os.Environ(), EnvDaemons+"="+tc.env)
			out, _ := cmd.CombinedOutput() // this package's reaper is not running now
			if got := cmd.ProcessState.ExitCode(); got != tc.code {
				t.Errorf("exit %d, want %d; output %s", got, tc.code, out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("output %s lacks %q", out, tc.want)
			}
		})
	}
}

// The light claude-bottle-sidecar-init binary, really run: it starts the
// claude-bottle-sidecar next to it once per daemon (here a small shell
// program standing in for it), prefixes their lines, stops them on SIGTERM,
// and refuses to start when that binary is missing.
func TestLightInitBinary(t *testing.T) {
	// Its own folder: the test puts a stand-in claude-bottle-sidecar next to it.
	built, err := os.ReadFile(testkit.Binary(t, "cmd/claude-bottle-sidecar-init"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	lite := filepath.Join(dir, "claude-bottle-sidecar-init")
	if err := os.WriteFile(lite, built, 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(t *testing.T, env ...string) (string, int) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		var out testkit.SyncBuffer
		cmd := exec.CommandContext(ctx, lite)
		cmd.Env = append(os.Environ(), env...)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Once both daemons spoke, stop the init as docker stop would.
		for ctx.Err() == nil && cmd.ProcessState == nil {
			s := out.String()
			if strings.Contains(s, "[egress] daemon egress") && strings.Contains(s, "[pipelock] daemon pipelock") {
				break
			}
			if strings.Contains(s, `"level":"ERROR"`) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait() // this package's reaper is not running now
		return out.String(), cmd.ProcessState.ExitCode()
	}
	daemons := EnvDaemons + "=egress,pipelock"

	out, code := run(t, daemons)
	if code != 2 || !strings.Contains(out, "claude-bottle-sidecar next to it") && !strings.Contains(out, filepath.Join(dir, "claude-bottle-sidecar")) {
		t.Errorf("without the daemons' binary: exit %d, output %s; want 2 naming the missing file", code, out)
	}

	script := "#!/bin/sh\necho \"daemon $1 EGRESS_TOKEN_0=${EGRESS_TOKEN_0:-unset}\"\ntrap 'exit 0' TERM\nwhile :; do sleep 0.05; done\n"
	if err := os.WriteFile(filepath.Join(dir, "claude-bottle-sidecar"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	out, code = run(t, daemons, "EGRESS_TOKEN_0=tok")
	if code != 0 {
		t.Errorf("exit %d, want 0; output:\n%s", code, out)
	}
	for _, want := range []string{"[egress] daemon egress EGRESS_TOKEN_0=tok", "[pipelock] daemon pipelock EGRESS_TOKEN_0=unset", `[init] {`, `"msg":"init exiting","code":0`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
