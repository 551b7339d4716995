package deptest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/claude-bottle/claude-bottle"

// deps lists what pkg links (go list -deps, tests excluded).
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the go tool is required under CI: %v", err)
		}
		t.Skipf("no go tool on PATH: %v", err)
	}
	cmd := exec.Command(gobin, "list", "-deps", "-f", "{{.ImportPath}}", module+"/"+pkg)
	out, err := cmd.Output()
	if err != nil {
		msg := err.Error()
		if ee, ok := err.(*exec.ExitError); ok {
			msg += ": " + string(ee.Stderr)
		}
		t.Fatalf("go list -deps %s: %s", pkg, msg)
	}
	return strings.Fields(string(out))
}

// The daemons and what only they need.
var (
	daemons = []string{"internal/egress", "internal/pipelock", "internal/gitgate", "internal/supervise"}
	// Host side: the packages that drive Docker and the operator's terminal.
	hostSide = []string{"internal/cli", "internal/launch", "internal/engine", "internal/composecli", "internal/images", "internal/approve", "internal/dashboard"}
	// Heavy libraries only a daemon needs.
	daemonLibs = []string{
		"github.com/zricethezav/gitleaks",
		"github.com/elazarl/goproxy",
		"github.com/modelcontextprotocol/go-sdk",
		"github.com/spf13/viper",
	}
)

func hasPrefix(p string, prefixes []string) (string, bool) {
	for _, pre := range prefixes {
		if p == pre || strings.HasPrefix(p, pre+"/") {
			return pre, true
		}
	}
	return "", false
}

func withModule(pkgs []string) []string {
	out := make([]string, len(pkgs))
	for i, p := range pkgs {
		out[i] = module + "/" + p
	}
	return out
}

// TestCLILinksNoDaemon: the CLI provisions the agent from agentcontract and
// never links a daemon or a daemon's libraries (they cost it ~200 packages
// and several MB).
func TestCLILinksNoDaemon(t *testing.T) {
	forbidden := append(withModule(daemons), daemonLibs...)
	for _, p := range deps(t, "cmd/claude-bottle") {
		if pre, bad := hasPrefix(p, forbidden); bad {
			t.Errorf("cmd/claude-bottle links %s (under %s)", p, pre)
		}
	}
}

// TestSidecarInitIsSmall: the init runs as PID 1 of the bundle and as every
// healthcheck probe, so it links only the supervisor and the port checks:
// the standard library without TLS or HTTP, x/sys, layout and sidecarinit.
func TestSidecarInitIsSmall(t *testing.T) {
	allowed := []string{module + "/internal/layout", module + "/internal/sidecarinit", module + "/cmd/claude-bottle-sidecar-init", "golang.org/x/sys/unix"}
	for _, p := range deps(t, "cmd/claude-bottle-sidecar-init") {
		std := !strings.Contains(strings.Split(p, "/")[0], ".")
		switch {
		case std && (p == "net/http" || strings.HasPrefix(p, "crypto/tls")):
			t.Errorf("cmd/claude-bottle-sidecar-init links %s: the init needs no HTTP or TLS", p)
		case std || slices.Contains(allowed, p):
		default:
			t.Errorf("cmd/claude-bottle-sidecar-init links %s: only layout, sidecarinit and x/sys/unix are allowed", p)
		}
	}
}

// TestDaemonsLinkNoHostSide: nothing that runs in a sidecar drives Docker
// or the operator's terminal.
func TestDaemonsLinkNoHostSide(t *testing.T) {
	forbidden := withModule(hostSide)
	for _, d := range append(daemons, "internal/sidecarinit", "cmd/claude-bottle-sidecar") {
		for _, p := range deps(t, d) {
			if pre, bad := hasPrefix(p, forbidden); bad {
				t.Errorf("%s links %s (under %s)", d, p, pre)
			}
		}
	}
}

// TestNoProgramLinksTestHelpers: the test helpers stay out of every binary.
func TestNoProgramLinksTestHelpers(t *testing.T) {
	forbidden := withModule([]string{"internal/testkit", "internal/testca", "internal/dockertest", "internal/plantest", "internal/k8stest"})
	for _, prog := range []string{"cmd/claude-bottle", "cmd/claude-bottle-sidecar", "cmd/claude-bottle-sidecar-init", "cmd/claude-bottle-testupstream"} {
		for _, p := range deps(t, prog) {
			if pre, bad := hasPrefix(p, forbidden); bad {
				t.Errorf("%s links %s (under %s)", prog, p, pre)
			}
		}
	}
}

// TestOneWayToTheEngine: the docker and kubectl CLIs are run by their
// own packages only (internal/engine, internal/composecli for compose,
// internal/kubectl), so every call gets the same error translation and
// there is one place to change how the engine is reached; tests too (a
// Compose check goes through composecli.Installed). The test helpers
// internal/dockertest and internal/k8stest are the exceptions tests need
// (they check the engine or cluster before any of it runs).
func TestOneWayToTheEngine(t *testing.T) {
	owners := map[string]string{
		"docker": "internal/engine", "docker-compose": "internal/composecli", "kubectl": "internal/kubectl",
	}
	allowed := []string{"internal/engine", "internal/composecli", "internal/kubectl", "internal/dockertest", "internal/k8stest"}
	walkGo(t, true, allowed, func(fset *token.FileSet, path string, f *ast.File) {
		test := strings.HasSuffix(path, "_test.go")
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			// Any call handed the CLI's name runs it (exec.Command, or a
			// package's own runner), but exec.LookPath, which only looks, and a
			// path join naming the binary. In a test, only exec's: a test
			// hands the CLI under test "--backend", "docker".
			sel, isSel := call.Fun.(*ast.SelectorExpr)
			if isSel && (sel.Sel.Name == "LookPath" || sel.Sel.Name == "Join") {
				return true
			}
			if test && !(isSel && (sel.Sel.Name == "Command" || sel.Sel.Name == "CommandContext")) {
				return true
			}
			for _, a := range call.Args {
				if lit, ok := a.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					name, _ := strconv.Unquote(lit.Value)
					if owner, ok := owners[name]; ok {
						t.Errorf("%s: runs %s directly; go through %s", fset.Position(call.Pos()), name, owner)
					}
				}
			}
			return true
		})
	})
}

// walkGo parses every Go file of the module (tests: _test.go files too)
// outside the packages under skip, and hands each to check.
func walkGo(t *testing.T, tests bool, skip []string, check func(fset *token.FileSet, path string, f *ast.File)) {
	t.Helper()
	fset := token.NewFileSet()
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("../..", path)
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && rel != "." || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || !tests && strings.HasSuffix(path, "_test.go") {
			return nil
		}
		if _, ok := hasPrefix(filepath.ToSlash(filepath.Dir(rel)), skip); ok {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		check(fset, path, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestOneShapeForAToolFailure: a failed docker, Compose or kubectl call
// is a toolcall.Failure (kubectl's adds what its message says), so every
// command prints, unwraps and tests them the same way. A second struct
// holding a command line and its exit status outside toolcall is a
// second shape.
func TestOneShapeForAToolFailure(t *testing.T) {
	walkGo(t, false, []string{"internal/toolcall"}, func(fset *token.FileSet, _ string, f *ast.File) {
		ast.Inspect(f, func(n ast.Node) bool {
			st, ok := n.(*ast.StructType)
			if !ok {
				return true
			}
			var fields []string
			for _, fl := range st.Fields.List {
				for _, name := range fl.Names {
					fields = append(fields, name.Name)
				}
			}
			if slices.Contains(fields, "Command") && slices.Contains(fields, "ExitCode") {
				t.Errorf("%s: a struct with a Command and an ExitCode: a failed tool call is a toolcall.Failure", fset.Position(st.Pos()))
			}
			return true
		})
	})
}
