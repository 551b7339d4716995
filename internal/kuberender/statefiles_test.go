package kuberender

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	corev1 "k8s.io/api/core/v1"

	"github.com/claude-bottle/claude-bottle/internal/launch"
	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/plantest"
)

// hostOnly are the state files no object carries: the compose file (a
// Docker artefact) and the passwd file naming the host's uid for Docker's
// sidecars (here they run as the image's own user).
var hostOnly = []string{"docker-compose.yml", "passwd"}

// prepared runs the real launch.Prepare for a golden bottle in a home of
// its own and returns the plan's state files as Inputs.Files, with their
// modes.
func prepared(t *testing.T, c plantest.Combo) (Inputs, map[string]fs.FileMode, []string) {
	t.Helper()
	home := t.TempDir()
	p := plantest.PlanIn(t, c, filepath.Join(home, ".claude-bottle"))
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(key, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".ssh", "id_ed25519_demo"), pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	sec := &launch.Secrets{Tokens: map[string]string{"GH_PAT": "ghp_x"}, Env: map[string]string{"API_KEY": "k"}}
	if err := launch.Prepare(launch.PrepareInput{Plan: p, Secrets: sec, ComposeFile: []byte("name: x\n"), HomeDir: home,
		SidecarUID: "1000", SidecarGID: "1000", Now: time.Unix(0, 0)}); err != nil {
		t.Fatal(err)
	}
	in := Inputs{Files: map[string][]byte{}}
	modes := map[string]fs.FileMode{}
	var all []string
	root := string(p.StateDir)
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		all = append(all, rel)
		st, err := os.Stat(path)
		if err != nil {
			return err
		}
		modes[rel] = st.Mode().Perm()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range StateFiles(p) {
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
		if err != nil {
			t.Fatalf("StateFiles lists %s, which Prepare did not write: %v", f, err)
		}
		in.Files[f] = data
	}
	return in, modes, all
}

// TestStateFilesArePrepares: every file launch.Prepare writes is carried
// by an object or is one of hostOnly; each carried file's content lands
// under its key; a private file (no group or other bits: the CA keys, the
// gate's keys) only ever in a Secret.
func TestStateFilesArePrepares(t *testing.T) {
	for _, c := range plantest.FeatureCombos() {
		t.Run(c.Features(), func(t *testing.T) {
			in, modes, all := prepared(t, c)
			p := plantest.PlanIn(t, c, "/unused")
			carried := StateFiles(p)
			stay := hostOnly
			if !p.Has(layout.DaemonEgress) {
				// Written for every bottle, read only by egress (compose
				// mounts it only then too).
				stay = append(slices.Clone(stay), "egress/routes.json")
			}
			for _, f := range all {
				if !slices.Contains(carried, f) && !slices.Contains(stay, f) {
					t.Errorf("Prepare writes %s, which no object carries and hostOnly does not list", f)
				}
			}
			objs, err := Render(p, in)
			if err != nil {
				t.Fatal(err)
			}
			byName := map[string]Object{}
			for _, o := range objs {
				byName[o.GetObjectKind().GroupVersionKind().Kind+"/"+o.GetName()] = o
				if o.GetAnnotations()[AnnotationValues] != "" && o.GetObjectKind().GroupVersionKind().Kind != "Secret" {
					t.Errorf("%s %s is annotated %q though every file was given", o.GetObjectKind().GroupVersionKind().Kind, o.GetName(), FilledAtStart)
				}
			}
			root := byName["ConfigMap/"+RootName].(*corev1.ConfigMap)
			if root.Data[MetadataKey] != string(in.Files[MetadataKey]) || len(root.Data[MetadataKey]) == 0 {
				t.Errorf("the root ConfigMap's %s is not the state dir's", MetadataKey)
			}
			private := 0
			for _, s := range storesFor(p) {
				for _, f := range s.files {
					if modes[f.path]&0o077 == 0 {
						private++
						if !s.secret {
							t.Errorf("%s is private (mode %o) but goes to ConfigMap %s", f.path, modes[f.path], s.name)
						}
					}
					var got []byte
					if s.secret {
						got = byName["Secret/"+s.name].(*corev1.Secret).Data[f.key]
					} else {
						got = []byte(byName["ConfigMap/"+s.name].(*corev1.ConfigMap).Data[f.key])
					}
					if string(got) != string(in.Files[f.path]) || len(got) == 0 {
						t.Errorf("%s %s key %s does not hold %s", map[bool]string{true: "Secret", false: "ConfigMap"}[s.secret], s.name, f.key, f.path)
					}
				}
			}
			if private == 0 {
				t.Error("no private file found: the mode check checks nothing")
			}
			delete(in.Files, carried[len(carried)-1])
			if _, err := Render(p, in); err == nil {
				t.Errorf("a missing %s renders without error", carried[len(carried)-1])
			}
		})
	}
}

// TestSidecarsReadTheirSecrets: Secret files are group-readable by the
// sidecars Pod's fsGroup (its own user's group) and by nobody else; the
// agent Pod mounts no Secret at all.
func TestSidecarsReadTheirSecrets(t *testing.T) {
	for name, objs := range bottles(t) {
		sp, ap := pods(objs)
		sc := sp.Spec.SecurityContext
		if sc.FSGroup == nil || *sc.FSGroup != *sc.RunAsGroup || *sc.RunAsUser != SidecarUID {
			t.Errorf("%s: sidecars run as %v:%v with fsGroup %v", name, sc.RunAsUser, sc.RunAsGroup, sc.FSGroup)
		}
		secretVolumes := 0
		for _, v := range sp.Spec.Volumes {
			var mode *int32
			switch {
			case v.Secret != nil:
				mode = v.Secret.DefaultMode
			case v.Projected != nil:
				mode = v.Projected.DefaultMode
			default:
				continue
			}
			secretVolumes++
			if mode == nil || *mode&0o040 == 0 || *mode&0o007 != 0 || *mode&0o222 != 0 {
				t.Errorf("%s: volume %s mode %v: want group-readable, not world-readable, not writable", name, v.Name, mode)
			}
		}
		if secretVolumes == 0 {
			t.Errorf("%s: the sidecars Pod mounts no Secret", name)
		}
		for _, v := range ap.Spec.Volumes {
			if v.Secret != nil || v.Projected != nil {
				t.Errorf("%s: the agent mounts volume %s from a Secret or projection", name, v.Name)
			}
		}
	}
}
