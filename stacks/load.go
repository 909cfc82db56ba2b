package stacks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/argo-platform/argo-platform/infra/setting"
)

// Config keys the program reads. Provider settings stay where Pulumi users
// expect them; everything of ours is one structured block.
const (
	KeyProject  = "gcp:project"
	KeyRegion   = "gcp:region"
	KeySettings = "argo-platform:settings"
	// KeyDatabaseAdminPassword is the secret password of the built-in
	// database user that grants Argo's IAM users their rights once (see
	// infra/argo's database bootstrap). Nothing uses it at runtime.
	KeyDatabaseAdminPassword = "argo-platform:databaseAdminPassword"
	// KeySSOClientSecret is the secret of the OAuth client argo-server
	// signs people in through (access.ssoClientId; docs/bootstrap.md).
	KeySSOClientSecret = "argo-platform:ssoClientSecret"
)

// Input is what a stack's configuration holds, before decoding.
type Input struct {
	Stack    string
	Project  string
	Region   string
	Settings string // the JSON Pulumi hands over for the structured block
	// DatabaseAdminPassword is the plaintext of the secret; "" when unset.
	DatabaseAdminPassword string
	// SSOClientSecret is the plaintext of the secret; "" when unset.
	SSOClientSecret string
	// ConfigKeys are all the stack's configuration keys, when known (the
	// CLI hands them to the program); keys of this project's namespace that
	// the program does not read are refused.
	ConfigKeys []string
}

// Loaded is a validated stack configuration.
type Loaded struct {
	Settings
	// DatabaseAdminPassword is kept apart from Settings so it never lands in a
	// printed or exported value; Deploy wraps it as a secret.
	DatabaseAdminPassword string
	// SSOClientSecret likewise.
	SSOClientSecret string
}

// ClientSecret is SSOClientSecret as a secret Output.
func (l *Loaded) ClientSecret() pulumi.StringOutput {
	return pulumi.ToSecret(pulumi.String(l.SSOClientSecret)).(pulumi.StringOutput)
}

// AdminPassword is DatabaseAdminPassword as a secret Output, for the
// resources that need it.
func (l *Loaded) AdminPassword() pulumi.StringOutput {
	return pulumi.ToSecret(pulumi.String(l.DatabaseAdminPassword)).(pulumi.StringOutput)
}

// Load reads the stack's configuration from the Pulumi context, decodes it
// strictly and validates it. It registers nothing; call it before the first
// resource.
func Load(ctx *pulumi.Context) (*Loaded, error) {
	get := func(key string) string {
		v, _ := ctx.GetConfig(key)
		return v
	}
	return Parse(Input{
		Stack:                 ctx.Stack(),
		Project:               get(KeyProject),
		Region:                get(KeyRegion),
		Settings:              get(KeySettings),
		DatabaseAdminPassword: get(KeyDatabaseAdminPassword),
		SSOClientSecret:       get(KeySSOClientSecret),
		ConfigKeys:            configKeys(os.Getenv(pulumi.EnvConfig)),
	})
}

// configKeys are the keys of the configuration the Pulumi CLI hands the
// program (a JSON object in PULUMI_CONFIG), or none when it is not there.
func configKeys(env string) []string {
	var all map[string]any
	if env == "" || json.Unmarshal([]byte(env), &all) != nil {
		return nil
	}
	return slices.Sorted(maps.Keys(all))
}

// projectKeys are the keys of this project's namespace that the program
// reads.
var projectKeys = []string{KeySettings, KeyDatabaseAdminPassword, KeySSOClientSecret}

// unknownProjectKeys refuses every key of this project's namespace that the
// program does not read: a misspelt block would otherwise be ignored.
func unknownProjectKeys(keys []string) Problems {
	ns, _, _ := strings.Cut(KeySettings, ":")
	var errs Problems
	for _, key := range keys {
		if !strings.HasPrefix(key, ns+":") || slices.Contains(projectKeys, key) {
			continue
		}
		errs = append(errs, Problem{Key: key, Why: fmt.Sprintf("unknown key; this project reads only %s (everything else goes inside %s)", strings.Join(projectKeys, ", "), KeySettings)})
	}
	return errs
}

// Parse decodes and validates one stack's configuration. Every problem is
// reported at once, each naming its key: unknown keys, keys written with no
// value, values of the wrong type and every validation rule.
func Parse(in Input) (*Loaded, error) {
	unknown := unknownProjectKeys(in.ConfigKeys)
	fail := func(p Problem) (*Loaded, error) {
		// The keys outside the block (the project, the password) are
		// still checked: every problem at once.
		errs := append(unknown, p)
		s := Defaults(in.Stack)
		s.Project, s.Region = in.Project, in.Region
		l := &Loaded{Settings: s, DatabaseAdminPassword: in.DatabaseAdminPassword, SSOClientSecret: in.SSOClientSecret}
		for _, e := range l.problems(in.Stack) {
			if !strings.HasPrefix(e.Key, KeySettings) {
				errs = append(errs, e)
			}
		}
		return nil, errs
	}
	text := strings.TrimSpace(in.Settings)
	if text == "" || text == "null" {
		return fail(Problem{Key: KeySettings, Why: "missing: every stack file needs this block (at least environment and domain)"})
	}
	var top any
	if json.Unmarshal([]byte(text), &top) != nil {
		// Pulumi hands a structured value over as JSON, and a plain YAML
		// scalar as its text.
		top = text
	}
	raw, ok := top.(map[string]any)
	if !ok {
		return fail(Problem{Key: KeySettings, Why: fmt.Sprintf("got %s; want a mapping of settings (environment, domain, ...)", article(jsonKind(top)))})
	}

	// Shape first: each bad key is reported and dropped, so the rest still
	// decodes and is validated.
	shape := unknown
	bad := map[string]bool{}
	kept := map[string][]int{}
	shape = append(shape, checkShape(KeySettings, raw, reflect.TypeOf(Settings{}), bad, kept)...)

	env, _ := raw["environment"].(string)
	if env == "" {
		env = in.Stack
	}
	s := Defaults(env)
	cleaned, err := json.Marshal(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", KeySettings, err)
	}
	dec := json.NewDecoder(bytes.NewReader(cleaned))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		// checkShape drops everything the decoder would refuse; this is a
		// bug, not bad input.
		return nil, fmt.Errorf("%s: %w", KeySettings, err)
	}
	s.Project, s.Region = in.Project, in.Region

	l := &Loaded{Settings: s, DatabaseAdminPassword: in.DatabaseAdminPassword, SSOClientSecret: in.SSOClientSecret}
	errs := shape
	for _, e := range l.problems(in.Stack) {
		// A key already reported as malformed is not also reported by
		// the rule that then saw its default.
		if !bad[e.Key] {
			errs = append(errs, renumber(e, kept))
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return l, nil
}

// Problem and Problems are the settings' problems as values
// (infra/setting): every component's rules and this package's report them.
type (
	Problem  = setting.Problem
	Problems = setting.Problems
)

// checkShape walks a decoded mapping beside the struct it must fill. It
// reports, each with its full key, every key the struct does not have (with
// the keys it accepts), every key written with no value, and every value of
// the wrong type; it deletes each such key from m and records it in bad.
func checkShape(path string, m map[string]any, t reflect.Type, bad map[string]bool, kept map[string][]int) Problems {
	fields := jsonFields(t)
	var errs Problems
	drop := func(k string, err Problem) {
		errs = append(errs, err)
		bad[path+"."+k] = true
		delete(m, k)
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		key := path + "." + k
		ft, ok := fields[k]
		switch {
		case !ok:
			drop(k, Problem{Key: key, Why: "unknown key; accepted keys: " + strings.Join(slices.Sorted(maps.Keys(fields)), ", ")})
			continue
		case m[k] == nil:
			drop(k, Problem{Key: key, Why: fmt.Sprintf("written with no value; give it %s, or remove the key to keep its default", article(kindName(ft)))})
			continue
		case tooLarge(m[k], ft):
			drop(k, Problem{Key: key, Why: fmt.Sprintf("%s is beyond any value the key accepts; want %s in its range (README: Stack settings)", strconv.FormatFloat(m[k].(float64), 'f', -1, 64), article(kindName(ft)))})
			continue
		case !fits(m[k], ft):
			drop(k, Problem{Key: key, Why: fmt.Sprintf("got %s, want %s", article(jsonKind(m[k])), article(kindName(ft)))})
			continue
		}
		switch v := m[k].(type) {
		case map[string]any:
			errs = append(errs, checkShape(key, v, ft, bad, kept)...)
		case []any:
			// A malformed item is reported at its own index and dropped;
			// kept maps the remaining items back to their indices in the
			// file, for the rules that see the list without it.
			out, idx := []any{}, []int{}
			for i, item := range v {
				name := fmt.Sprintf("%s[%d]", key, i)
				switch {
				case item == nil:
					errs = append(errs, Problem{Key: name, Why: "written with no value; want " + article(kindName(ft.Elem()))})
				case !fits(item, ft.Elem()):
					errs = append(errs, Problem{Key: name, Why: fmt.Sprintf("got %s, want %s", article(jsonKind(item)), article(kindName(ft.Elem())))})
				default:
					if em, ok := item.(map[string]any); ok {
						errs = append(errs, checkShape(name, em, ft.Elem(), bad, kept)...)
					}
					out, idx = append(out, item), append(idx, i)
					continue
				}
				bad[key] = true
			}
			if len(out) < len(v) {
				kept[key] = idx
			}
			m[k] = out
		}
	}
	return errs
}

// jsonFields are the keys a struct of type t decodes, with their types: its
// tagged fields and those of the structs it embeds (a section may embed
// another's keys, as Identity does Grants).
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "" && f.Anonymous && f.Type.Kind() == reflect.Struct:
			maps.Copy(fields, jsonFields(f.Type))
		case name != "" && name != "-":
			fields[name] = f.Type
		}
	}
	return fields
}

// tooLarge reports whether v is a whole number for an integer field that
// no integer holds (it decodes as a float, and is not a fraction).
func tooLarge(v any, t reflect.Type) bool {
	f, ok := v.(float64)
	k := t.Kind()
	return ok && (k == reflect.Int || k == reflect.Int64 || k == reflect.Int32) &&
		f == math.Trunc(f) && (f >= math.MaxInt32 || f <= math.MinInt32)
}

// fits reports whether a decoded JSON value can fill a field of type t.
func fits(v any, t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool:
		_, ok := v.(bool)
		return ok
	case reflect.String:
		_, ok := v.(string)
		return ok
	case reflect.Int, reflect.Int64, reflect.Int32:
		f, ok := v.(float64)
		return ok && f == float64(int64(f))
	case reflect.Float64, reflect.Float32:
		_, ok := v.(float64)
		return ok
	case reflect.Slice:
		_, ok := v.([]any)
		return ok
	case reflect.Struct:
		_, ok := v.(map[string]any)
		return ok
	}
	return true
}

// jsonKind names what a YAML value decoded to, in the stack file's words.
func jsonKind(v any) string {
	switch x := v.(type) {
	case nil:
		return "no value"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64:
		if x == float64(int64(x)) {
			return "whole number"
		}
		return "number"
	case []any:
		return "list"
	case map[string]any:
		return "mapping"
	}
	return fmt.Sprintf("%T", v)
}

// article puts "a" or "an" before a kind name.
func article(kind string) string {
	if kind == "no value" {
		return kind
	}
	if strings.ContainsRune("aeiou", rune(kind[0])) {
		return "an " + kind
	}
	return "a " + kind
}

// renumber rewrites the list indices in a rule's problem's key to the
// indices in the file, where malformed items before it were dropped (kept,
// by list key; outer lists first, so inner keys match).
func renumber(p Problem, kept map[string][]int) Problem {
	lists := slices.SortedFunc(maps.Keys(kept), func(a, b string) int { return len(a) - len(b) })
	for _, list := range lists {
		rest, ok := strings.CutPrefix(p.Key, list+"[")
		if !ok {
			continue
		}
		n, tail, ok := strings.Cut(rest, "]")
		i, err := strconv.Atoi(n)
		if !ok || err != nil || i >= len(kept[list]) {
			continue
		}
		p.Key = fmt.Sprintf("%s[%d]%s", list, kept[list][i], tail)
	}
	return p
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "boolean (true or false)"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "whole number"
	case reflect.Float64, reflect.Float32:
		return "number"
	case reflect.String:
		return "string"
	case reflect.Slice:
		return "list"
	case reflect.Struct:
		return "mapping"
	}
	return t.String()
}
