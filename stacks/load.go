package stacks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
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
)

// Input is what a stack's configuration holds, before decoding.
type Input struct {
	Stack    string
	Project  string
	Region   string
	Settings string // the JSON Pulumi hands over for the structured block
	// DatabaseAdminPassword is the plaintext of the secret; "" when unset.
	DatabaseAdminPassword string
}

// Loaded is a validated stack configuration.
type Loaded struct {
	Settings
	// DatabaseAdminPassword is kept apart from Settings so it never lands in a
	// printed or exported value; Deploy wraps it as a secret.
	DatabaseAdminPassword string
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
	})
}

// Parse decodes and validates one stack's configuration. Every problem is
// reported at once, each naming its key.
func Parse(in Input) (*Loaded, error) {
	if strings.TrimSpace(in.Settings) == "" {
		return nil, fmt.Errorf("%s: missing: every stack file needs this block (at least environment and domain)", KeySettings)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(in.Settings), &raw); err != nil {
		return nil, fmt.Errorf("%s: not a YAML mapping: %w", KeySettings, err)
	}
	if errs := unknownKeys(KeySettings, raw, reflect.TypeOf(Settings{})); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	env, _ := raw["environment"].(string)
	if env == "" {
		env = in.Stack
	}
	s := Defaults(env)
	dec := json.NewDecoder(bytes.NewReader([]byte(in.Settings)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("%s.%s: got a %s, want a %s", KeySettings, te.Field, te.Value, kindName(te.Type))
		}
		return nil, fmt.Errorf("%s: %w", KeySettings, err)
	}
	s.Project, s.Region = in.Project, in.Region

	l := &Loaded{Settings: s, DatabaseAdminPassword: in.DatabaseAdminPassword}
	if err := l.Validate(in.Stack); err != nil {
		return nil, err
	}
	return l, nil
}

// unknownKeys walks a decoded mapping beside the struct it must fill and
// names every key the struct does not have, with the keys it accepts.
func unknownKeys(path string, m map[string]any, t reflect.Type) []error {
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		fields[name] = f.Type
	}
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(m)) {
		ft, ok := fields[k]
		if !ok {
			errs = append(errs, fmt.Errorf("%s.%s: unknown key; accepted keys: %s", path, k, strings.Join(slices.Sorted(maps.Keys(fields)), ", ")))
			continue
		}
		switch v := m[k].(type) {
		case map[string]any:
			if ft.Kind() == reflect.Struct {
				errs = append(errs, unknownKeys(path+"."+k, v, ft)...)
			}
		case []any:
			if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
				for i, e := range v {
					if em, ok := e.(map[string]any); ok {
						errs = append(errs, unknownKeys(fmt.Sprintf("%s.%s[%d]", path, k, i), em, ft.Elem())...)
					}
				}
			}
		}
	}
	return errs
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
