// Command previewstate previews a stack's Kubernetes side, as this code
// builds it, against a local state and control plane that an earlier
// commit deployed (`make sandbox` leaves both in .sandbox/<stack>), and
// prints what the real engine and Kubernetes provider would change. A
// refactor that must not change behaviour previews no change:
//
//	git worktree add /tmp/old <commit> && ln -s $PWD/.tools /tmp/old/.tools
//	make -C /tmp/old sandbox          # deploys with the old code, keeps running
//	nsenter -t <sandbox pid> -n go run ./tests/previewstate -dir /tmp/old/.sandbox/staging
//
// (The sandbox's control plane listens in its own network namespace.)
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"

	"github.com/argo-platform/argo-platform/tests/localdeploy"
)

func main() {
	stack := flag.String("stack", "staging", "stack file: experimental, staging or production")
	dir := flag.String("dir", "", "the sandbox folder an earlier commit deployed (.sandbox/<stack>)")
	flag.Parse()
	if *dir == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*stack, *dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(stack, dir string) error {
	ctx := context.Background()
	cfg, err := localdeploy.Settings(stack, nil)
	if err != nil {
		return err
	}
	kubeconfig, err := os.ReadFile(filepath.Join(dir, "cluster", "kubeconfig"))
	if err != nil {
		return err
	}
	s, err := localdeploy.Stack(ctx, stack, filepath.Join(dir, "state"), localdeploy.Program(cfg, string(kubeconfig)))
	if err != nil {
		return err
	}
	evs := make(chan events.EngineEvent)
	var changed []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range evs {
			if e.ResourcePreEvent == nil {
				continue
			}
			m := e.ResourcePreEvent.Metadata
			// The stand-ins play GCP for the test; only the program's
			// own resources must stay as they are.
			if m.Op != "same" && !strings.Contains(m.URN, "::stand-in-") && !strings.HasSuffix(m.URN, "::"+localdeploy.StandInNamespace) {
				changed = append(changed, fmt.Sprintf("%s %s", m.Op, m.URN))
			}
		}
	}()
	res, err := s.Preview(ctx, optpreview.Diff(), optpreview.EventStreams(evs))
	<-done
	if err != nil {
		return err
	}
	fmt.Print(res.StdOut)
	fmt.Printf("changes: %v\n", res.ChangeSummary)
	if len(changed) > 0 {
		return fmt.Errorf("this code would change what the earlier commit deployed:\n  %s", strings.Join(changed, "\n  "))
	}
	fmt.Println("no change to the program's resources: this code deploys what the earlier commit deployed (stand-ins of GCP aside)")
	return nil
}
