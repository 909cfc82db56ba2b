// Command own puts a team's values in place of the example values the three
// stack files ship with, in one go:
//
//	go run ./stacks/own -project-prefix acme-argo -domain acme.com \
//	    -network office=198.51.100.0/24 -member group:data-team@acme.com \
//	    -email data-oncall@acme.com -sso-client-id 1234-abc.apps.googleusercontent.com \
//	    -viewer domain:acme.com -runner user:lead@acme.com -editor user:lead@acme.com
//
// It rewrites Pulumi.<stack>.yaml (comments and every other key kept) only
// when all three then pass the program's own checks, and names each example
// value left to replace by hand. Review the result with `git diff`.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/argo-platform/argo-platform/infra/gcp/google"
	"github.com/argo-platform/argo-platform/stacks"
)

func main() {
	dir, o, err := parse(os.Args[1:])
	if err != nil {
		os.Exit(2) // the flag package printed the problem and the usage
	}
	left, err := run(dir, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if len(left) == 0 {
		fmt.Println("No example value is left in the stack files. Next: step 3 of the README's first screen.")
		return
	}
	fmt.Println("Written. Still to replace by hand (pulumi preview refuses them until you do):")
	for _, p := range left {
		fmt.Println("  " + p)
	}
}

// parse reads the command line: the repository's root and the values.
func parse(args []string) (string, stacks.Own, error) {
	var o stacks.Own
	fs := flag.NewFlagSet("own", flag.ContinueOnError)
	dir := fs.String("dir", ".", "the repository's root, where the stack files are")
	fs.StringVar(&o.ProjectPrefix, "project-prefix", "", "projects are <prefix>-experimental, <prefix>-staging, <prefix>-production (docs/bootstrap.md's PREFIX)")
	fs.StringVar(&o.Region, "region", "", "the region of every stack's cluster, database and bucket (the files ship with asia-northeast1)")
	fs.StringVar(&o.Domain, "domain", "", "your domain: Argo is served on argo.<env>.<domain>, production on argo.<domain>")
	fs.Func("network", "name=cidr allowed to reach the cluster's control plane: your office's and the deploy runner's egress (repeat the flag for more)", func(s string) error {
		name, cidr, ok := strings.Cut(s, "=")
		if !ok {
			return errors.New("want name=cidr, e.g. office=34.84.10.0/24")
		}
		o.Networks = append(o.Networks, google.AuthorizedNetwork{Name: name, CIDR: cidr})
		return nil
	})
	fs.Func("member", "who may open Argo's UI: user:, group: or domain: (repeat the flag for more)", func(s string) error {
		o.Members = append(o.Members, s)
		return nil
	})
	fs.Func("email", "who hears alerts, in the stacks that list alerts.emails (repeat the flag for more)", func(s string) error {
		o.Emails = append(o.Emails, s)
		return nil
	})
	fs.StringVar(&o.SSOClientID, "sso-client-id", "", "the client id of the OAuth client argo-server signs people in through (docs/bootstrap.md)")
	for _, l := range []struct {
		name, usage string
		list        *[]string
	}{
		{"viewer", "who may look in Argo: user:<e-mail> or domain:<domain> (repeat the flag for more)", &o.Viewers},
		{"runner", "who may run workflows, as the workflow account and each identity: user: or domain: (repeat the flag for more)", &o.Runners},
		{"editor", "who may also change CronWorkflows and WorkflowTemplates: user: or domain:, each also a runner (repeat the flag for more)", &o.Editors},
	} {
		fs.Func(l.name, l.usage, func(s string) error {
			*l.list = append(*l.list, s)
			return nil
		})
	}
	if err := fs.Parse(args); err != nil {
		return "", o, err
	}
	if fs.NArg() > 0 {
		err := fmt.Errorf("unexpected argument %q", fs.Arg(0))
		fmt.Fprintln(fs.Output(), err)
		fs.Usage()
		return "", o, err
	}
	if o.ProjectPrefix == "" && o.Region == "" && o.Domain == "" && o.Networks == nil && o.Members == nil && o.Emails == nil &&
		o.SSOClientID == "" && o.Viewers == nil && o.Runners == nil && o.Editors == nil {
		err := errors.New("no value given")
		fmt.Fprintln(fs.Output(), err)
		fs.Usage()
		return "", o, err
	}
	return *dir, o, nil
}

// run rewrites every stack file under dir with o, or none: it returns the
// example values left, or the problems that kept it from writing.
func run(dir string, o stacks.Own) ([]string, error) {
	out := map[string][]byte{}
	var left, bad []string
	for _, stack := range stacks.Environments {
		path := filepath.Join(dir, "Pulumi."+stack+".yaml")
		file, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		if out[path], err = stacks.SetOwn(file, stack, o); err != nil {
			return nil, err
		}
		in, err := stacks.ReadStackFile(stack, out[path])
		if err != nil {
			return nil, err
		}
		// The password and the client secret are set later, as secrets
		// (README, one-time setup).
		in.DatabaseAdminPassword = "stand-in-until-config-set"
		in.SSOClientSecret = "stand-in-until-config-set"
		_, err = stacks.Parse(in)
		var problems stacks.Problems
		if err != nil && !errors.As(err, &problems) {
			return nil, err
		}
		for _, p := range problems {
			if stacks.IsExampleValue(p) {
				left = append(left, stack+": "+p.Error())
			} else {
				bad = append(bad, stack+": "+p.Error())
			}
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("nothing was written; with these values:\n  %s", strings.Join(bad, "\n  "))
	}
	for path, text := range out {
		if err := os.WriteFile(path, text, 0o644); err != nil {
			return nil, err
		}
	}
	return left, nil
}
