package tests

import (
	"strconv"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Prop walks a property path such as "settings.ipConfiguration.sslMode" or
// "secondaryIpRanges[1].rangeName". Secrets are looked through. A missing
// step returns a null value.
func Prop(pm resource.PropertyMap, path string) resource.PropertyValue {
	v := resource.NewObjectProperty(pm)
	for _, step := range strings.Split(path, ".") {
		name, idx := step, -1
		if i := strings.IndexByte(step, '['); i >= 0 && strings.HasSuffix(step, "]") {
			name = step[:i]
			idx, _ = strconv.Atoi(step[i+1 : len(step)-1])
		}
		v = unwrap(v)
		if !v.IsObject() {
			return resource.NewNullProperty()
		}
		v = unwrap(v.ObjectValue()[resource.PropertyKey(name)])
		if idx >= 0 {
			if !v.IsArray() || idx >= len(v.ArrayValue()) {
				return resource.NewNullProperty()
			}
			v = unwrap(v.ArrayValue()[idx])
		}
	}
	return v
}

func unwrap(v resource.PropertyValue) resource.PropertyValue {
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	return v
}

// Str returns the string at path, or "" when it is absent or not a string.
func Str(pm resource.PropertyMap, path string) string {
	if v := Prop(pm, path); v.IsString() {
		return v.StringValue()
	}
	return ""
}

// Bool returns the boolean at path and whether one is there.
func Bool(pm resource.PropertyMap, path string) (bool, bool) {
	if v := Prop(pm, path); v.IsBool() {
		return v.BoolValue(), true
	}
	return false, false
}

// ProviderFlag reports whether the provider setting at path is on: the
// engine hands a provider's configuration over as strings ("true"), a
// resource's inputs as booleans, so either is read; absent is off.
func ProviderFlag(pm resource.PropertyMap, path string) bool {
	v := Prop(pm, path)
	return (v.IsBool() && v.BoolValue()) || (v.IsString() && v.StringValue() == "true")
}

// MustBool returns the boolean at path, and fails t when there is none (absent,
// unknown, or of another type): a provider's default is no stand-in for
// what the program sets.
func MustBool(t testing.TB, pm resource.PropertyMap, path string) bool {
	t.Helper()
	return must(t, pm, path, "boolean", Bool)
}

// MustNum returns the number at path, and fails t when there is none.
func MustNum(t testing.TB, pm resource.PropertyMap, path string) float64 {
	t.Helper()
	return must(t, pm, path, "number", Num)
}

func must[T any](t testing.TB, pm resource.PropertyMap, path, kind string, read func(resource.PropertyMap, string) (T, bool)) T {
	t.Helper()
	v, ok := read(pm, path)
	if !ok {
		t.Errorf("%s: no %s (got %v)", path, kind, Prop(pm, path))
	}
	return v
}

// Num returns the number at path and whether one is there.
func Num(pm resource.PropertyMap, path string) (float64, bool) {
	if v := Prop(pm, path); v.IsNumber() {
		return v.NumberValue(), true
	}
	return 0, false
}

// Strs returns the strings of the array at path.
func Strs(pm resource.PropertyMap, path string) []string {
	v := Prop(pm, path)
	if !v.IsArray() {
		return nil
	}
	var out []string
	for _, e := range v.ArrayValue() {
		if e = unwrap(e); e.IsString() {
			out = append(out, e.StringValue())
		}
	}
	return out
}

// Len returns the length of the array at path (0 when absent).
func Len(pm resource.PropertyMap, path string) int {
	if v := Prop(pm, path); v.IsArray() {
		return len(v.ArrayValue())
	}
	return 0
}

// Known reports whether the value at path is present and fully known
// (under preview, values computed from unknown outputs are not).
func Known(pm resource.PropertyMap, path string) bool {
	v := Prop(pm, path)
	return !v.IsNull() && !v.ContainsUnknowns()
}

// IsSecret reports whether the value at path is marked secret.
func IsSecret(pm resource.PropertyMap, path string) bool {
	parent, last := "", path
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		parent, last = path[:i], path[i+1:]
	}
	obj := resource.NewObjectProperty(pm)
	if parent != "" {
		obj = Prop(pm, parent)
	}
	if !obj.IsObject() {
		return false
	}
	return obj.ObjectValue()[resource.PropertyKey(last)].IsSecret()
}
