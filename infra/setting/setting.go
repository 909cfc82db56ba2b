// Package setting is how a component's settings report what is wrong with
// them: a Problem is a value (the full key, the value written, what the key
// accepts), and Rules collects them under a section's key. The components
// declare their own settings and rules with it (infra/gcp/google,
// infra/argo/argoproj); stacks composes them. No SDK: the settings' rules
// run before anything is registered, and `go run ./stacks/own` builds
// without the cloud SDKs.
package setting

import (
	"fmt"
	"strconv"
	"strings"
)

// A Problem is one thing wrong in a stack's configuration, as a value: the
// full key (as the Pulumi CLI names it), the value written and what the key
// accepts, or, when it is not one value out of range, what is wrong.
type Problem struct {
	Key      string
	Value    string
	Accepted string
	// Why says what is wrong when Accepted does not.
	Why string
	// Example marks a value the stack files ship with (stacks/examples.go).
	Example bool
}

func (p Problem) Error() string {
	if p.Why != "" {
		return p.Key + ": " + p.Why
	}
	return fmt.Sprintf("%s: invalid value %q; accepted: %s", p.Key, p.Value, p.Accepted)
}

// Problems are every problem found in a stack's configuration. Its message
// counts them and lists each on a line of its own.
type Problems []Problem

func (p Problems) Error() string {
	noun := "problems"
	if len(p) == 1 {
		noun = "problem"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s in the stack configuration; nothing was created:", len(p), noun)
	for _, e := range p {
		b.WriteString("\n  " + e.Error())
	}
	return b.String()
}

// Unwrap gives errors.Is and errors.As each problem.
func (p Problems) Unwrap() []error {
	out := make([]error, len(p))
	for i, e := range p {
		out[i] = e
	}
	return out
}

// Rules collects the problems of one section of the settings, in the order
// found, each under the section's key followed by the path it names.
type Rules struct {
	section string
	list    *Problems
}

// NewRules collects problems under section ("" for keys given in full).
func NewRules(section string) *Rules { return &Rules{section: section, list: &Problems{}} }

// Section is r for the part path of its section; problems go to the same
// list.
func (r *Rules) Section(path string) *Rules { return &Rules{section: r.Key(path), list: r.list} }

// Key is the full key of path in r's section.
func (r *Rules) Key(path string) string {
	switch {
	case r.section == "":
		return path
	case path == "":
		return r.section
	case strings.HasPrefix(path, "["):
		return r.section + path
	}
	return r.section + "." + path
}

// Problems are the problems found so far.
func (r *Rules) Problems() Problems { return *r.list }

// Add notes a value the key at path does not accept, and what it accepts.
func (r *Rules) Add(path, value, accepted string) {
	*r.list = append(*r.list, Problem{Key: r.Key(path), Value: value, Accepted: accepted})
}

// Say notes a problem of the key at path that is not one value out of
// range: format and args say what is wrong.
func (r *Rules) Say(path, format string, args ...any) {
	*r.list = append(*r.list, Problem{Key: r.Key(path), Why: fmt.Sprintf(format, args...)})
}

// Note adds a problem made elsewhere, as it is.
func (r *Rules) Note(p Problem) { *r.list = append(*r.list, p) }

// InRange notes n at path unless lo <= n <= hi.
func (r *Rules) InRange(path string, n, lo, hi int) {
	if n < lo || n > hi {
		r.Add(path, strconv.Itoa(n), fmt.Sprintf("a whole number from %d to %d", lo, hi))
	}
}

// Ftoa writes a number as the stack files and the messages do.
func Ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
