package composecli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeTools puts a docker without the compose plugin and a docker-compose
// that prints version and counts its runs on PATH.
func fakeTools(t *testing.T, version string) (bin, runs string) {
	t.Helper()
	bin = t.TempDir()
	runs = filepath.Join(t.TempDir(), "runs")
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write("docker", "echo \"docker: 'compose' is not a docker command.\" >&2; exit 1\n")
	write("docker-compose", "echo x >> "+runs+"\necho "+version+"\n")
	t.Setenv("PATH", bin)
	return bin, runs
}

func count(t *testing.T, runs string) int {
	b, _ := os.ReadFile(runs)
	return strings.Count(string(b), "x")
}

func TestDetectCachedRemembersDockerComposeVersion(t *testing.T) {
	bin, runs := fakeTools(t, "1.29.2")
	cache := filepath.Join(t.TempDir(), "cache", "compose-tool.json")
	ctx := context.Background()
	for i, want := range []int{1, 1} { // asked once, then remembered
		r, err := DetectCached(ctx, cache)
		if err != nil {
			t.Fatal(err)
		}
		if !r.V1 || r.Version != "1.29.2" || r.Argv[0] != "docker-compose" {
			t.Fatalf("detect %d: %+v", i, r)
		}
		if got := count(t, runs); got != want {
			t.Fatalf("detect %d: docker-compose ran %d times, want %d", i, got, want)
		}
	}
	// A changed program is asked again.
	later := time.Now().Add(time.Minute)
	if err := os.WriteFile(filepath.Join(bin, "docker-compose"), []byte("#!/bin/sh\necho x >> "+runs+"\necho 2.30.0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(bin, "docker-compose"), later, later); err != nil {
		t.Fatal(err)
	}
	r, err := DetectCached(ctx, cache)
	if err != nil || r.V1 || r.Version != "2.30.0" || count(t, runs) != 2 {
		t.Fatalf("after the program changed: %+v %v, runs %d", r, err, count(t, runs))
	}
	// A damaged cache is ignored, then rewritten.
	if err := os.WriteFile(cache, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r, err := DetectCached(ctx, cache); err != nil || r.Version != "2.30.0" || count(t, runs) != 3 {
		t.Fatalf("with a damaged cache: %+v %v, runs %d", r, err, count(t, runs))
	}
	if r, err := DetectCached(ctx, cache); err != nil || r.Version != "2.30.0" || count(t, runs) != 3 {
		t.Fatalf("after rewriting the cache: %+v %v, runs %d", r, err, count(t, runs))
	}
	// Without a cache file every call asks.
	if _, err := Detect(ctx); err != nil || count(t, runs) != 4 {
		t.Fatalf("Detect without a cache: %v, runs %d", err, count(t, runs))
	}
}

func TestDetectNoTool(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if _, err := DetectCached(context.Background(), filepath.Join(t.TempDir(), "c.json")); err == nil || !strings.Contains(err.Error(), "no Compose tool found") {
		t.Fatalf("got %v", err)
	}
}
