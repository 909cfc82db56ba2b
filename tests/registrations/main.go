// Command registrations writes what the program registers for each stack,
// under the recording mock engine as `pulumi up` runs it: one line per
// resource (URN, parent, provider, dependencies, options and inputs), sorted
// by URN, with the stack files' fixture values; and the same for `pulumi
// preview`, where what the cloud computes is unknown. A refactor that must not
// change behaviour shows here as no diff:
//
//	go run ./tests/registrations -out /tmp/before
//	... change the code ...
//	go run ./tests/registrations -out /tmp/after && diff -r /tmp/before /tmp/after
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/argo-platform/argo-platform/infra"
	"github.com/argo-platform/argo-platform/tests"
)

func main() {
	out := flag.String("out", "", "folder to write <stack>.up.txt and <stack>.preview.txt into")
	flag.Parse()
	if *out == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fail(err)
	}
	for _, stack := range tests.Stacks {
		config, err := tests.StackConfig(stack)
		if err != nil {
			fail(err)
		}
		for _, dryRun := range []bool{false, true} {
			rec, err := tests.Run(infra.Deploy, stack, config, dryRun)
			if err != nil {
				fail(fmt.Errorf("%s: %w", stack, err))
			}
			var lines []string
			for _, r := range rec.Resources() {
				lines = append(lines, line(r))
			}
			sort.Strings(lines)
			name := stack + ".up.txt"
			if dryRun {
				name = stack + ".preview.txt"
			}
			path := filepath.Join(*out, name)
			if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
				fail(err)
			}
			fmt.Printf("%s: %d resources\n", path, len(lines))
		}
	}
}

// line is one registration as stable text.
func line(r *tests.Registered) string {
	deps := slices.Clone(r.DependsOn)
	slices.Sort(deps)
	ignore := slices.Clone(r.IgnoreChanges)
	slices.Sort(ignore)
	b, err := json.Marshal(map[string]any{
		"parent":        r.Parent,
		"provider":      r.Provider,
		"dependsOn":     deps,
		"protect":       r.Protect,
		"ignoreChanges": ignore,
		"deletedWith":   r.DeletedWith,
		"deleteTimeout": r.DeleteTimeout,
		"inputs":        plain(resource.NewObjectProperty(r.Inputs)),
	})
	if err != nil {
		fail(err)
	}
	return r.URN + " " + string(b)
}

// plain is a property value as JSON-ready data, secrets and unknowns marked.
func plain(v resource.PropertyValue) any {
	switch {
	case v.IsComputed() || v.IsOutput() && !v.OutputValue().Known:
		return "<unknown>"
	case v.IsOutput():
		return plain(v.OutputValue().Element)
	case v.IsSecret():
		return map[string]any{"<secret>": plain(v.SecretValue().Element)}
	case v.IsObject():
		m := map[string]any{}
		for k, e := range v.ObjectValue() {
			m[string(k)] = plain(e)
		}
		return m
	case v.IsArray():
		var a []any
		for _, e := range v.ArrayValue() {
			a = append(a, plain(e))
		}
		return a
	case v.IsResourceReference():
		return "<ref " + string(v.ResourceReferenceValue().URN) + ">"
	}
	return v.V
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
