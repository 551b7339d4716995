// Package compose renders a bottle plan into a Compose document: a pure
// function, plan in, YAML out. It emits only the subset of the Compose
// format that both Debian's docker-compose 1.29.2 and Compose v2 accept;
// the one exception, the top-level name:, is dropped by ForComposeV1.
package compose

import (
	"go.yaml.in/yaml/v3"
)

// Document is a compose file.
type Document struct {
	Name     string            `yaml:"name,omitempty"`
	Services Ordered[*Service] `yaml:"services"`
	Networks Ordered[*Network] `yaml:"networks,omitempty"`
	Volumes  Ordered[*Volume]  `yaml:"volumes,omitempty"`
}

// Service is one compose service, with the fields claude-bottle emits.
type Service struct {
	Image         string                   `yaml:"image,omitempty"`
	Build         *BuildSpec               `yaml:"build,omitempty"`
	PullPolicy    string                   `yaml:"pull_policy,omitempty"`
	ContainerName string                   `yaml:"container_name"`
	Hostname      string                   `yaml:"hostname,omitempty"`
	Entrypoint    []string                 `yaml:"entrypoint,omitempty,flow"`
	Command       []string                 `yaml:"command,omitempty,flow"`
	Restart       string                   `yaml:"restart,omitempty"`
	User          Quoted                   `yaml:"user,omitempty"`
	Init          bool                     `yaml:"init,omitempty"`
	Runtime       string                   `yaml:"runtime,omitempty"`
	StdinOpen     bool                     `yaml:"stdin_open,omitempty"`
	Tty           bool                     `yaml:"tty,omitempty"`
	Networks      Ordered[*ServiceNetwork] `yaml:"networks"`
	DNS           []string                 `yaml:"dns,omitempty"`
	ExtraHosts    []string                 `yaml:"extra_hosts,omitempty"`
	Environment   []string                 `yaml:"environment,omitempty"`
	Volumes       []string                 `yaml:"volumes,omitempty"`
	Tmpfs         []string                 `yaml:"tmpfs,omitempty"`
	ReadOnly      bool                     `yaml:"read_only,omitempty"`
	CapDrop       []string                 `yaml:"cap_drop,omitempty"`
	SecurityOpt   []string                 `yaml:"security_opt,omitempty"`
	Healthcheck   *Healthcheck             `yaml:"healthcheck,omitempty"`
	Labels        Ordered[string]          `yaml:"labels,omitempty"`
	DependsOn     []string                 `yaml:"depends_on,omitempty"`
}

// BuildSpec is a service's build: section.
type BuildSpec struct {
	Context    string `yaml:"context,omitempty"`
	Dockerfile string `yaml:"dockerfile"`
}

// ServiceNetwork is a service's attachment to a network. A nil one renders
// as null (attached, no options).
type ServiceNetwork struct {
	Aliases []string `yaml:"aliases,omitempty,flow"`
}

// Healthcheck is a service's healthcheck.
type Healthcheck struct {
	Test        []string `yaml:"test,flow"`
	Interval    string   `yaml:"interval,omitempty"`
	Timeout     string   `yaml:"timeout,omitempty"`
	Retries     int      `yaml:"retries,omitempty"`
	StartPeriod string   `yaml:"start_period,omitempty"`
}

// Network is a top-level network.
type Network struct {
	Internal   bool            `yaml:"internal,omitempty"`
	DriverOpts Ordered[string] `yaml:"driver_opts,omitempty"`
	Labels     Ordered[string] `yaml:"labels,omitempty"`
}

// Volume is a top-level named volume.
type Volume struct {
	Labels Ordered[string] `yaml:"labels,omitempty"`
}

// Ordered is a YAML mapping that keeps insertion order, so the rendered
// file reads in a stable, meaningful order (golden files stay readable).
type Ordered[T any] struct {
	keys []string
	vals map[string]T
}

// Set adds or replaces key.
func (o *Ordered[T]) Set(key string, v T) {
	if o.vals == nil {
		o.vals = map[string]T{}
	}
	if _, ok := o.vals[key]; !ok {
		o.keys = append(o.keys, key)
	}
	o.vals[key] = v
}

// Get returns key's value.
func (o *Ordered[T]) Get(key string) (T, bool) {
	v, ok := o.vals[key]
	return v, ok
}

// Keys returns the keys in order.
func (o *Ordered[T]) Keys() []string { return append([]string(nil), o.keys...) }

// Len is the number of keys.
func (o *Ordered[T]) Len() int { return len(o.keys) }

// IsZero lets omitempty drop an empty mapping.
func (o Ordered[T]) IsZero() bool { return len(o.keys) == 0 }

// MarshalYAML renders the mapping in insertion order.
func (o Ordered[T]) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for _, k := range o.keys {
		var v yaml.Node
		if err := v.Encode(o.vals[k]); err != nil {
			return nil, err
		}
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, &v)
	}
	return n, nil
}

// Quoted is a string always written in double quotes: "uid:gid" values like
// 1000:59 would otherwise read as base-60 integers in YAML 1.1 parsers
// (docker-compose 1.x uses PyYAML).
type Quoted string

// MarshalYAML writes the string double-quoted.
func (q Quoted) MarshalYAML() (any, error) {
	return &yaml.Node{Kind: yaml.ScalarNode, Style: yaml.DoubleQuotedStyle, Tag: "!!str", Value: string(q)}, nil
}

// IsZero lets omitempty drop an empty value.
func (q Quoted) IsZero() bool { return q == "" }
