package stacks

import (
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/argo-platform/argo-platform/infra/gcp/google"
)

// leaves lists every settings key (dotted, as in a stack file) with its
// value in s; lists are leaves.
func leaves(prefix string, v reflect.Value, out map[string]reflect.Value) {
	t := v.Type()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		f := v.Field(i)
		if f.Kind() == reflect.Struct {
			leaves(prefix+name+".", f, out)
			continue
		}
		out[prefix+name] = f
	}
}

// cell is how the README's table writes a default.
func cell(v reflect.Value) string {
	switch v.Kind() {
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	case reflect.String:
		return v.String()
	}
	return fmt.Sprint(v.Interface())
}

// The README's settings table has one row per key the code accepts, no
// other, and each environment's default is the one stacks.Defaults gives;
// a key with no default says "required" when a stack without it is refused,
// "none" otherwise.
func TestTheSettingsTableIsTheCode(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	_, table, ok := strings.Cut(string(readme), "<!-- settings table:")
	require.True(t, ok, "the README marks its settings table")
	rows := map[string][]string{}
	for _, line := range strings.Split(table, "\n")[1:] {
		if !strings.HasPrefix(line, "| `") {
			if len(rows) > 0 && !strings.HasPrefix(line, "|") {
				break
			}
			continue
		}
		cols := strings.Split(strings.Trim(line, "|"), " | ")
		require.Len(t, cols, 6, line)
		key := strings.Trim(strings.TrimSpace(cols[0]), "`")
		require.NotContains(t, rows, key, "one row per key")
		rows[key] = cols
	}

	want := map[string]map[string]reflect.Value{}
	for _, env := range Environments {
		want[env] = map[string]reflect.Value{}
		leaves("", reflect.ValueOf(Defaults(env)), want[env])
	}
	for key := range rows {
		assert.Contains(t, want[Staging], key, "the README documents %s, which the code does not accept", key)
	}
	for key := range want[Staging] {
		cols, ok := rows[key]
		if !assert.True(t, ok, "the README's settings table lacks %s", key) {
			continue
		}
		for i, env := range Environments {
			got := strings.TrimSpace(cols[1+i])
			v := want[env][key]
			switch {
			case key == "environment":
				assert.Equal(t, "the stack name", got)
			case v.IsZero() && v.Kind() != reflect.Bool && v.Kind() != reflect.Int:
				expect := "none"
				if isRequired(t, key) {
					expect = "required"
				}
				assert.Equal(t, expect, got, "%s in %s", key, env)
			default:
				assert.Equal(t, cell(v), got, "%s in %s: the README says %q, stacks.Defaults %q", key, env, got, cell(v))
			}
		}
		assert.NotEmpty(t, strings.TrimSpace(cols[4]), "%s: what is accepted", key)
		assert.NotEmpty(t, strings.TrimSpace(cols[5]), "%s: why", key)
	}
}

// isRequired reports whether a staging stack that leaves key out is refused
// for it.
func isRequired(t *testing.T, key string) bool {
	t.Helper()
	in := valid(Staging)
	in.Settings = `{"environment":"staging"}`
	_, err := Parse(in)
	return err != nil && strings.Contains(err.Error(), KeySettings+"."+key+":")
}

// The README's identities row names every role a workflow identity may
// hold, and where: the accepted families are the code's list.
func TestTheREADMENamesEveryAcceptedRole(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	var row string
	for _, line := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(line, "| `identities` |") {
			row = line
		}
	}
	require.NotEmpty(t, row, "the README's settings table has an identities row")
	for _, f := range google.RoleFamilies {
		assert.Contains(t, row, f.Name, "the family %s", f.Name)
		for _, role := range f.Roles {
			assert.Contains(t, row, "`"+role+"`", "%s (%s)", role, f.Name)
		}
	}
}

// The README's settings table names every retention floor in the row of
// its key: lowering a retention below one is refused (Floors).
func TestTheREADMENamesEveryRetentionFloor(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	rows := map[string]string{}
	for _, line := range strings.Split(string(readme), "\n") {
		if key, ok := strings.CutPrefix(line, "| `"); ok {
			name, _, _ := strings.Cut(key, "`")
			rows[name] = line
		}
	}
	for env, floors := range Floors {
		for _, f := range floors {
			assert.Contains(t, rows[f.Key], fmt.Sprintf("%s %d or more", env, f.Min), "%s's floor in %s", f.Key, env)
		}
	}
}
