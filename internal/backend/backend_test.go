package backend

import (
	"slices"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	for _, tc := range []struct {
		name, flag string
		env        *string
		want       Kind
		wantErr    []string // substrings of the error
	}{
		{name: "default", want: Docker},
		{name: "empty env", env: ptr(""), want: Docker},
		{name: "blank env", env: ptr("  "), want: Docker},
		{name: "env k8s", env: ptr("k8s"), want: K8s},
		{name: "env case and blanks", env: ptr(" K8S\n"), want: K8s},
		{name: "flag docker", flag: "docker", want: Docker},
		{name: "flag beats env", flag: "docker", env: ptr("k8s"), want: Docker},
		{name: "flag beats bad env", flag: "k8s", env: ptr("nomad"), want: K8s},
		{name: "bad flag", flag: "kubernetes", wantErr: []string{"--backend", `"kubernetes"`, "docker, k8s"}},
		{name: "bad env", env: ptr("podman"), wantErr: []string{Env, `"podman"`, "docker, k8s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lookup := func(k string) (string, bool) {
				if k != Env || tc.env == nil {
					return "", false
				}
				return *tc.env, true
			}
			got, err := Resolve(tc.flag, lookup)
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatalf("Resolve = %q, want an error", got)
				}
				for _, s := range tc.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q lacks %q", err, s)
					}
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Resolve = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func ptr(s string) *string { return &s }

// FuzzResolve: whatever the flag and env say, the answer is a known backend
// or an error that quotes the value.
func FuzzResolve(f *testing.F) {
	for _, s := range []string{"", "docker", "k8s", " K8s ", "kube", "\x00"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, flag, env string) {
		got, err := Resolve(flag, func(string) (string, bool) { return env, true })
		if err != nil {
			if got != "" {
				t.Fatalf("Resolve(%q, %q) = %q with error %v", flag, env, got, err)
			}
			if !strings.Contains(err.Error(), "use one of: docker, k8s") {
				t.Fatalf("error %q does not list the backends", err)
			}
			return
		}
		if !slices.Contains(All, got) {
			t.Fatalf("Resolve(%q, %q) = %q, not a backend", flag, env, got)
		}
	})
}
