package stacks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"gopkg.in/yaml.v3"

	"github.com/argo-platform/argo-platform/infra/gcp/google"
)

// Own is what a team puts in place of the example values the stack files
// ship with, once for all three stacks (`go run ./stacks/own`). A zero field
// leaves its key as the file has it.
type Own struct {
	// ProjectPrefix names each environment's project <prefix>-<environment>,
	// as docs/bootstrap.md creates them.
	ProjectPrefix string
	// Region replaces gcp:region (the files ship with asia-northeast1).
	Region string
	// Domain is the team's domain: Argo is served on argo.<environment>.<domain>,
	// production on argo.<domain>.
	Domain string
	// Networks replace cluster.authorizedNetworks.
	Networks []google.AuthorizedNetwork
	// Members replace iap.members.
	Members []string
	// Emails replace alerts.emails in the stacks whose file lists alerts
	// (staging and production as shipped; experimental e-mails no one).
	Emails []string
	// SSOClientID replaces access.ssoClientId: the OAuth client made for
	// argo-server (docs/bootstrap.md), one for every stack.
	SSOClientID string
	// Viewers, Runners and Editors replace access.viewers, access.runners
	// and access.editors; Runners also each identity's runners.
	Viewers, Runners, Editors []string
}

// Host is where environment env serves Argo's UI under the team's domain.
func (o Own) Host(env string) string {
	if env == Production {
		return "argo." + o.Domain
	}
	return "argo." + env + "." + o.Domain
}

// SetOwn rewrites the text of one stack file with o's values, keeping its
// comments, its order and every other key as they are.
func SetOwn(file []byte, stack string, o Own) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(file, &doc); err != nil {
		return nil, fmt.Errorf("Pulumi.%s.yaml: %w", stack, err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("Pulumi.%s.yaml: not a stack file (want a mapping with config)", stack)
	}
	config := child(doc.Content[0], "config")
	settings := child(config, KeySettings)
	env := stack
	if e := lookup(settings, "environment"); e != nil && e.Value != "" {
		env = e.Value
	}
	if o.ProjectPrefix != "" {
		set(config, KeyProject, scalar(o.ProjectPrefix+"-"+env))
	}
	if o.Region != "" {
		set(config, KeyRegion, scalar(o.Region))
	}
	if o.Domain != "" {
		set(settings, "domain", scalar(o.Host(env)))
	}
	if len(o.Networks) > 0 {
		list := &yaml.Node{Kind: yaml.SequenceNode}
		for _, n := range o.Networks {
			item := &yaml.Node{Kind: yaml.MappingNode}
			set(item, "name", scalar(n.Name))
			set(item, "cidr", scalar(n.CIDR))
			list.Content = append(list.Content, item)
		}
		set(child(settings, "cluster"), "authorizedNetworks", list)
	}
	if len(o.Members) > 0 {
		set(child(settings, "iap"), "members", scalars(o.Members))
	}
	if alerts := lookup(settings, "alerts"); len(o.Emails) > 0 && alerts != nil {
		set(alerts, "emails", scalars(o.Emails))
	}
	if o.SSOClientID != "" {
		set(child(settings, "access"), "ssoClientId", scalar(o.SSOClientID))
	}
	for key, list := range map[string][]string{"viewers": o.Viewers, "runners": o.Runners, "editors": o.Editors} {
		if len(list) > 0 {
			set(child(settings, "access"), key, scalars(list))
		}
	}
	if ids := lookup(settings, "identities"); len(o.Runners) > 0 && ids != nil && ids.Kind == yaml.SequenceNode {
		for _, id := range ids.Content {
			if id.Kind == yaml.MappingNode && lookup(id, "runners") != nil {
				set(id, "runners", scalars(o.Runners))
			}
		}
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// StackFileConfig is the configuration of one stack file as the Pulumi CLI
// hands it to a program: plain values as text, structured values as JSON.
// Secure values (ciphertext) are left out.
func StackFileConfig(stack string, file []byte) (map[string]string, error) {
	var f struct {
		Config map[string]any `yaml:"config"`
	}
	if err := yaml.Unmarshal(file, &f); err != nil {
		return nil, fmt.Errorf("Pulumi.%s.yaml: %w", stack, err)
	}
	out := map[string]string{}
	for k, v := range f.Config {
		if m, ok := v.(map[string]any); ok {
			if _, secure := m["secure"]; secure && len(m) == 1 {
				continue
			}
		}
		if text, ok := v.(string); ok {
			out[k] = text
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("Pulumi.%s.yaml: %s: %w", stack, k, err)
		}
		out[k] = string(b)
	}
	return out, nil
}

// ReadStackFile is the Input the program reads from one stack file, as the
// Pulumi CLI hands it over (StackFileConfig). The password, a secure value,
// is not read.
func ReadStackFile(stack string, file []byte) (Input, error) {
	config, err := StackFileConfig(stack, file)
	if err != nil {
		return Input{}, err
	}
	return Input{
		Stack:      stack,
		Project:    config[KeyProject],
		Region:     config[KeyRegion],
		Settings:   config[KeySettings],
		ConfigKeys: slices.Sorted(maps.Keys(config)),
	}, nil
}

// lookup is the value of key in mapping m, or nil.
func lookup(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// child is the mapping under key in m, added when missing.
func child(m *yaml.Node, key string) *yaml.Node {
	if c := lookup(m, key); c != nil && c.Kind == yaml.MappingNode {
		return c
	}
	c := &yaml.Node{Kind: yaml.MappingNode}
	set(m, key, c)
	return c
}

// set puts v under key in m, in place of the old value (keeping the key's
// comments) or at the end.
func set(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			old := m.Content[i+1]
			v.LineComment, v.FootComment = old.LineComment, old.FootComment
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, scalar(key), v)
}

func scalar(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

func scalars(ss []string) *yaml.Node {
	list := &yaml.Node{Kind: yaml.SequenceNode}
	for _, s := range ss {
		list.Content = append(list.Content, scalar(s))
	}
	return list
}

// IsExampleValue reports whether err is the problem of a value the stack
// files ship with as an example.
func IsExampleValue(err error) bool {
	var p Problem
	return errors.As(err, &p) && p.Example
}
