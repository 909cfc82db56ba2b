// Package tests holds the whole-program tests: a recording mock of the Pulumi
// engine, stack-file loading, and per-stack assertions. The end-to-end tests
// against a real engine and API server sit behind the e2e build tag.
package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/argo-platform/argo-platform/stacks"
)

// Project is the Pulumi project name, as in Pulumi.yaml.
const Project = "argo-platform"

// Registered is one resource as the program registered it.
type Registered struct {
	URN, Type, Name string
	Custom          bool
	Inputs          resource.PropertyMap
	Parent          string
	Provider        string
	DependsOn       []string
	Protect         bool
	RetainOnDelete  bool
	IgnoreChanges   []string
	DeletedWith     string
	// DeleteTimeout is the customTimeouts delete option ("" when unset).
	DeleteTimeout string
}

// Recorder is a MockResourceMonitor that records every registration and
// returns realistic computed outputs per type token (see outputs.go).
type Recorder struct {
	Stack  string
	DryRun bool
	// Replacing are type tokens whose resources a preview replaces: every
	// output of theirs is unknown, as the engine makes a replaced
	// resource's outputs.
	Replacing []string

	mu        sync.Mutex
	resources []*Registered
}

// NewResource records the registration and answers with computed outputs.
// Under preview, computed outputs are unknown, as the engine makes them.
func (r *Recorder) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	rpc := args.RegisterRPC
	reg := &Registered{
		Type:     args.TypeToken,
		Name:     args.Name,
		Custom:   args.Custom,
		Inputs:   args.Inputs,
		Provider: args.Provider,
	}
	if rpc != nil {
		reg.Parent = rpc.GetParent()
		reg.DependsOn = rpc.GetDependencies()
		reg.Protect = rpc.GetProtect()
		reg.RetainOnDelete = rpc.GetRetainOnDelete()
		reg.IgnoreChanges = rpc.GetIgnoreChanges()
		reg.DeletedWith = rpc.GetDeletedWith()
		reg.DeleteTimeout = rpc.GetCustomTimeouts().GetDelete()
	}
	reg.URN = urn(r.Stack, reg.Parent, reg.Type, reg.Name)
	r.mu.Lock()
	for _, other := range r.resources {
		if other.URN == reg.URN {
			r.mu.Unlock()
			// The engine refuses a second registration of a URN, after
			// everything before it was created.
			return "", nil, fmt.Errorf("duplicate resource URN %s", reg.URN)
		}
	}
	r.resources = append(r.resources, reg)
	r.mu.Unlock()

	if !args.Custom {
		return "", resource.PropertyMap{}, nil
	}
	state := args.Inputs.Copy()
	for k, v := range state {
		// The engine hands back unknown inputs as unknown outputs; a secret
		// wrapping an unknown is unknown as a whole.
		if v.ContainsUnknowns() {
			state[k] = resource.MakeComputed(resource.NewStringProperty(""))
		}
	}
	if r.DryRun && slices.Contains(r.Replacing, args.TypeToken) {
		for k := range state {
			state[k] = resource.MakeComputed(resource.NewStringProperty(""))
		}
	}
	for k, v := range computedOutputs(args.TypeToken, args.Name, args.Inputs) {
		if r.DryRun {
			v = resource.MakeComputed(resource.NewStringProperty(""))
		}
		state[resource.PropertyKey(k)] = v
	}
	id := args.Name + "-id"
	if args.TypeToken == "gcp:monitoring/dashboard:Dashboard" {
		// GCP names a dashboard by project and a generated id.
		id = fmt.Sprintf("projects/%s/dashboards/%s", ProjectNumber, DashboardID)
	}
	if r.DryRun {
		id = ""
	}
	return id, state, nil
}

// Call answers provider function calls; the program makes none.
func (r *Recorder) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return nil, fmt.Errorf("unexpected call to %s", args.Token)
}

// Resources returns every registration, in order.
func (r *Recorder) Resources() []*Registered {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Registered(nil), r.resources...)
}

// OfType returns the registrations of one type token.
func (r *Recorder) OfType(typ string) []*Registered {
	var out []*Registered
	for _, res := range r.Resources() {
		if res.Type == typ {
			out = append(out, res)
		}
	}
	return out
}

// Named returns the one registration of typ called name, or nil.
func (r *Recorder) Named(typ, name string) *Registered {
	for _, res := range r.OfType(typ) {
		if res.Name == name {
			return res
		}
	}
	return nil
}

// ByURN returns the registration with that URN, or nil.
func (r *Recorder) ByURN(u string) *Registered {
	for _, res := range r.Resources() {
		if res.URN == u {
			return res
		}
	}
	return nil
}

func urn(stack, parent, typ, name string) string {
	parentType := tokens.Type("")
	if p := resource.URN(parent); p != "" && p.QualifiedType() != resource.RootStackType {
		parentType = p.QualifiedType()
	}
	return string(resource.NewURN(tokens.QName(stack), tokens.PackageName(Project), parentType, tokens.Type(typ), name))
}

var runMu sync.Mutex

// Run runs program as `pulumi up` (or `pulumi preview` when dryRun) would,
// against a Recorder, with the given configuration.
func Run(program pulumi.RunFunc, stack string, config map[string]string, dryRun bool) (*Recorder, error) {
	return RunReplacing(program, stack, config, dryRun, nil)
}

// RunReplacing is Run, with the resources of the types in replacing
// replaced by the preview (see Recorder.Replacing).
func RunReplacing(program pulumi.RunFunc, stack string, config map[string]string, dryRun bool, replacing []string) (*Recorder, error) {
	// The CLI hands the program its whole configuration in PULUMI_CONFIG
	// too (stacks.Load reads the keys from there); so does this harness.
	runMu.Lock()
	defer runMu.Unlock()
	all, err := json.Marshal(config)
	if err != nil {
		return nil, err
	}
	old, had := os.LookupEnv(pulumi.EnvConfig)
	os.Setenv(pulumi.EnvConfig, string(all))
	defer func() {
		if had {
			os.Setenv(pulumi.EnvConfig, old)
		} else {
			os.Unsetenv(pulumi.EnvConfig)
		}
	}()
	rec := &Recorder{Stack: stack, DryRun: dryRun, Replacing: replacing}
	err = pulumi.RunErr(program, pulumi.WithMocks(Project, stack, rec), func(info *pulumi.RunInfo) {
		info.Config = config
		info.DryRun = dryRun
	})
	return rec, err
}

// RepoRoot is the repository's top folder: ARGO_PLATFORM_ROOT when set (a
// compiled test binary run from a copy, as .ci/run's non-root pass does),
// else the folder above this source file.
func RepoRoot() string {
	if dir := os.Getenv("ARGO_PLATFORM_ROOT"); dir != "" {
		return dir
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// Stacks are the real stack files, by stack name.
var Stacks = []string{"experimental", "staging", "production"}

// TestAdminPassword stands in for the secret each real stack sets with
// `pulumi config set --secret`; a stack file in git holds only ciphertext.
const TestAdminPassword = "test-only-password-0123456789"

// TestSSOClientSecret stands in for the OAuth client's secret, likewise.
const TestSSOClientSecret = "test-only-oauth-client-secret"

// TestSSOClientID is the OAuth client id the stack files' example becomes.
const TestSSOClientID = "482915730211-acmedata.apps.googleusercontent.com"

// FixtureValues replace the example values the stack files ship with (which
// the program refuses) by ones a team would write, in StackConfig: the
// tests run the real stack files, as a team's would read once filled in.
var FixtureValues = strings.NewReplacer(
	"example-argo-", "acme-argo-",
	"example.com", "acme-data.dev",
	"203.0.113.0/24", "34.84.10.0/24",
	"000000000000-example.apps.googleusercontent.com", TestSSOClientID,
)

// StackConfig reads Pulumi.<stack>.yaml, puts FixtureValues in place of its
// example values, and returns its configuration as the Pulumi CLI hands it
// to a program: plain strings, structured values as JSON. Secure values are
// replaced by test stand-ins.
func StackConfig(stack string) (map[string]string, error) {
	data, err := StackFile(stack)
	if err != nil {
		return nil, err
	}
	return parseStackFile(stack, []byte(FixtureValues.Replace(string(data))))
}

// EditedConfig is StackConfig with change applied to a decoded copy of the
// settings block (Section reaches into it).
func EditedConfig(stack string, change func(settings map[string]any)) (map[string]string, error) {
	cfg, err := StackConfig(stack)
	if err != nil {
		return nil, err
	}
	var s map[string]any
	if err := json.Unmarshal([]byte(cfg[stacks.KeySettings]), &s); err != nil {
		return nil, err
	}
	change(s)
	cfg[stacks.KeySettings] = jsonString(s)
	return cfg, nil
}

// Section is the mapping m holds under key, made (empty) when absent.
func Section(m map[string]any, key string) map[string]any {
	sub, ok := m[key].(map[string]any)
	if !ok {
		sub = map[string]any{}
		m[key] = sub
	}
	return sub
}

// StackFile is the text of Pulumi.<stack>.yaml as it is in the repository.
func StackFile(stack string) ([]byte, error) {
	return os.ReadFile(filepath.Join(RepoRoot(), "Pulumi."+stack+".yaml"))
}

// RawStackConfig is StackConfig without FixtureValues: what the stack file
// itself says.
func RawStackConfig(stack string) (map[string]string, error) {
	data, err := StackFile(stack)
	if err != nil {
		return nil, err
	}
	return parseStackFile(stack, data)
}

func parseStackFile(stack string, data []byte) (map[string]string, error) {
	out, err := stacks.StackFileConfig(stack, data)
	if err != nil {
		return nil, err
	}
	if _, ok := out[stacks.KeyDatabaseAdminPassword]; !ok {
		out[stacks.KeyDatabaseAdminPassword] = TestAdminPassword
	}
	if _, ok := out[stacks.KeySSOClientSecret]; !ok {
		out[stacks.KeySSOClientSecret] = TestSSOClientSecret
	}
	return out, nil
}

// Types lists the distinct type tokens registered, sorted.
func (r *Recorder) Types() []string {
	seen := map[string]bool{}
	for _, res := range r.Resources() {
		seen[res.Type] = true
	}
	var out []string
	for t := range seen {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// IsComponent tells whether a type token is one of ours.
func IsComponent(typ string) bool { return strings.HasPrefix(typ, Project+":") }
