package kuberender

import (
	"fmt"
	"path"

	corev1 "k8s.io/api/core/v1"

	"github.com/claude-bottle/claude-bottle/internal/layout"
	"github.com/claude-bottle/claude-bottle/internal/plan"
)

// A store is one ConfigMap or Secret made from files of the state dir
// (what launch.Prepare writes). Public files (configs, CA certificates)
// go to ConfigMaps; private ones (the CA keys, the gate's ssh keys) to
// Secrets that only the sidecars Pod mounts.
type store struct {
	name   string
	secret bool
	// role is the Pod side that uses it ("" for the trust bundle, which
	// both mount).
	role  string
	files []storeFile
}

// storeFile maps a state-dir file to its key. Keys cannot hold '/': a
// nested file (git-gate/keys/<remote>) gets a flat key and the mount puts
// it back at its path (items).
type storeFile struct {
	path string // slash-separated, relative to the state dir
	key  string
	// mountPath is where it sits under the volume's mount point.
	mountPath string
}

// Object names of the stores.
const (
	TrustConfigMap    = "trust"
	EgressConfigMap   = "egress"
	EgressCASecret    = "egress-ca"
	PipelockConfigMap = "pipelock"
	PipelockCASecret  = "pipelock-ca"
	GitGateConfigMap  = "git-gate"
	GitGateKeysSecret = "git-gate-keys"
)

// stateDirs are the state dir's subfolders as Prepare names them, relative.
var (
	dirTrust      = base(layout.StateDir("").Trust())
	dirEgress     = base(layout.StateDir("").Egress())
	dirEgressCA   = base(layout.StateDir("").EgressCA())
	dirPipelock   = base(layout.StateDir("").Pipelock())
	dirPipelockCA = base(layout.StateDir("").PipelockCA())
	dirGitGate    = base(layout.StateDir("").GitGate())
)

func base(p string) string { return path.Base(p) }

// flat is a store file whose key is its name in its folder.
func flat(dir, name string) storeFile {
	return storeFile{path: dir + "/" + name, key: name, mountPath: name}
}

// storesFor lists the plan's stores, in the order they are rendered.
func storesFor(p *plan.Plan) []store {
	egress := p.Has(layout.DaemonEgress)
	trust := store{name: TrustConfigMap, files: []storeFile{flat(dirTrust, path.Base(layout.TrustPipelockCACert))}}
	if egress {
		trust.files = append(trust.files, flat(dirTrust, path.Base(layout.TrustEgressCACert)))
	}
	trust.files = append(trust.files, flat(dirTrust, path.Base(layout.TrustBundle)))
	out := []store{trust}
	ca := func(name, dir string) store {
		return store{name: name, secret: true, role: RoleSidecars, files: []storeFile{
			flat(dir, layout.CACertFileName), flat(dir, layout.CAKeyFileName),
		}}
	}
	if egress {
		out = append(out,
			store{name: EgressConfigMap, role: RoleSidecars, files: []storeFile{flat(dirEgress, layout.RoutesFileName)}},
			ca(EgressCASecret, dirEgressCA))
	}
	out = append(out,
		store{name: PipelockConfigMap, role: RoleSidecars, files: []storeFile{flat(dirPipelock, layout.PipelockFileName)}},
		ca(PipelockCASecret, dirPipelockCA))
	if p.Has(layout.DaemonGitGate) {
		keys := store{name: GitGateKeysSecret, secret: true, role: RoleSidecars}
		for _, g := range p.Bottle.Git {
			// Remote names are [a-z][a-z0-9-]*: valid keys as they are.
			keys.files = append(keys.files, storeFile{path: dirGitGate + "/keys/" + g.Name, key: g.Name, mountPath: "keys/" + g.Name})
		}
		out = append(out, store{name: GitGateConfigMap, role: RoleSidecars, files: []storeFile{flat(dirGitGate, layout.GateFileName)}}, keys)
	}
	return out
}

// StateFiles lists the state-dir files the objects carry (slash-separated,
// relative to the state dir): what the launcher reads into Inputs.Files.
// The rest of the state dir (the compose file, logs, the passwd file the
// Docker sidecars need for the host's uid) stays on the host.
func StateFiles(p *plan.Plan) []string {
	out := []string{MetadataKey}
	for _, s := range storesFor(p) {
		for _, f := range s.files {
			out = append(out, f.path)
		}
	}
	return out
}

// file is a state file's content: empty when Files is nil (render), an
// error when Files lacks it.
func (r *renderer) file(rel string) ([]byte, error) {
	if r.in.Files == nil {
		return []byte{}, nil
	}
	v, ok := r.in.Files[rel]
	if !ok {
		return nil, fmt.Errorf("kuberender: state file %s is not in the inputs; the launcher reads every path kuberender.StateFiles lists from the state dir launch.Prepare wrote", rel)
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// stores renders the state-file ConfigMaps and Secrets, and the test
// upstream's CA when the plan has one.
func (r *renderer) stores() ([]Object, error) {
	var out []Object
	for _, s := range storesFor(r.p) {
		meta := r.meta(s.name, s.role)
		r.annotateUnfilled(&meta, r.in.Files == nil)
		if s.secret {
			sec := &corev1.Secret{TypeMeta: tmSecret, ObjectMeta: meta, Type: corev1.SecretTypeOpaque, Data: map[string][]byte{}}
			for _, f := range s.files {
				v, err := r.file(f.path)
				if err != nil {
					return nil, err
				}
				sec.Data[f.key] = v
			}
			out = append(out, sec)
			continue
		}
		cm := &corev1.ConfigMap{TypeMeta: tmConfigMap, ObjectMeta: meta, Data: map[string]string{}}
		for _, f := range s.files {
			v, err := r.file(f.path)
			if err != nil {
				return nil, err
			}
			cm.Data[f.key] = string(v)
		}
		out = append(out, cm)
	}
	if tu := r.p.TestUpstream; tu != nil && tu.CAFile != "" {
		meta := r.meta(TestUpstreamCAConfigMap, RoleSidecars)
		r.annotateUnfilled(&meta, r.in.TestUpstreamCA == nil)
		out = append(out, &corev1.ConfigMap{TypeMeta: tmConfigMap, ObjectMeta: meta,
			Data: map[string]string{TestUpstreamCAKey: string(r.in.TestUpstreamCA)}})
	}
	return out, nil
}

// storeByName finds one of the plan's stores.
func storeByName(p *plan.Plan, name string) store {
	for _, s := range storesFor(p) {
		if s.name == name {
			return s
		}
	}
	panic("kuberender: no store " + name)
}

// secretMode is every Secret file's mode: owner root, group the Pod's
// fsGroup (SidecarUID's group), readable by that group and nobody else.
// The daemons read the CA keys as they are; git-gate copies a key that is
// not 0600 and its own to a private 0600 file before ssh sees it.
const secretMode int32 = 0o440

// volumeSource is the Pod volume that mounts a store as its directory.
func volumeSource(s store) corev1.VolumeSource {
	var items []corev1.KeyToPath
	for _, f := range s.files {
		items = append(items, corev1.KeyToPath{Key: f.key, Path: f.mountPath})
	}
	if s.secret {
		return corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: s.name, Items: items, DefaultMode: ptr(secretMode)}}
	}
	return corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: s.name}, Items: items,
	}}
}

// projected joins several stores into one directory (git-gate's config
// dir holds gate.json from its ConfigMap and keys/<remote> from its
// Secret).
func projected(stores ...store) corev1.VolumeSource {
	src := &corev1.ProjectedVolumeSource{DefaultMode: ptr(secretMode)}
	for _, s := range stores {
		var items []corev1.KeyToPath
		for _, f := range s.files {
			items = append(items, corev1.KeyToPath{Key: f.key, Path: f.mountPath})
		}
		ref := corev1.LocalObjectReference{Name: s.name}
		if s.secret {
			src.Sources = append(src.Sources, corev1.VolumeProjection{Secret: &corev1.SecretProjection{LocalObjectReference: ref, Items: items}})
		} else {
			src.Sources = append(src.Sources, corev1.VolumeProjection{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: ref, Items: items}})
		}
	}
	return corev1.VolumeSource{Projected: src}
}
