package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestEveryCommandHasExamplesAndExitCodes: each command's --help shows an
// Example: section and the exit codes.
func TestEveryCommandHasExamplesAndExitCodes(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			t.Run(sub.CommandPath(), func(t *testing.T) {
				if strings.TrimSpace(sub.Example) == "" {
					t.Errorf("%s has no Example", sub.CommandPath())
				}
				args := append(strings.Fields(sub.CommandPath())[1:], "--help")
				out, _, err := run(t, args...)
				if err != nil {
					t.Fatal(err)
				}
				for _, want := range []string{"Examples:", "Exit codes:", "130"} {
					if !strings.Contains(out, want) {
						t.Errorf("%s --help lacks %q", sub.CommandPath(), want)
					}
				}
			})
			walk(sub)
		}
	}
	walk(NewRoot())
}

// TestVersion: version, --version and version --json agree and come from
// the build info.
func TestVersion(t *testing.T) {
	a, _, err := run(t, "version")
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := run(t, "--version")
	if err != nil {
		t.Fatal(err)
	}
	if a != b || !strings.HasPrefix(a, "claude-bottle ") || strings.Contains(a, "dev ") {
		t.Errorf("version %q, --version %q", a, b)
	}
	js, _, _ := run(t, "version", "--json")
	if !strings.Contains(js, `"go": "go1.`) {
		t.Errorf("version --json: %s", js)
	}
}

// TestCompletion: agent names, bottle names and slugs complete.
func TestCompletion(t *testing.T) {
	home := setupHome(t)
	fakeBottle(t, home, "demo-cmp12")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"__complete", "start", "de"}, "demo"},
		{[]string{"__complete", "render", "mini"}, "minimal"},
		{[]string{"__complete", "stop", "demo-"}, "demo-cmp12"},
		{[]string{"__complete", "logs", ""}, "demo-cmp12"},
		{[]string{"__complete", "info", "d"}, "demo-cmp12"},
		{[]string{"__complete", "edit", "min"}, "minimal"},
		{[]string{"__complete", "exec", "demo-c"}, "demo-cmp12"},
	} {
		root := NewRoot()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&bytes.Buffer{})
		root.SetArgs(tc.args)
		if err := root.Execute(); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), tc.want+"\n") {
			t.Errorf("%v: completions %q lack %q", tc.args, out.String(), tc.want)
		}
	}
}

// TestUsageExitCode: a command line the CLI does not take exits 2.
func TestUsageExitCode(t *testing.T) {
	for _, args := range [][]string{{"stop"}, {"logs", "--bogus", "x"}, {"list", "extra"}} {
		_, _, err := run(t, args...)
		if code := processExit(&bytes.Buffer{}, err); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d (%v)", args, code, ExitUsage, err)
		}
	}
}
