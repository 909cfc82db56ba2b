// Command sandbox is the offline twin of `pulumi up --stack staging`: it
// starts a local Kubernetes control plane (kwok fake nodes), deploys the
// stack's Kubernetes side with the real Pulumi engine and Kubernetes
// provider, prints what was created and how to reach it, and stops
// everything on Ctrl-C. Run it with `make sandbox` (STACK=production to pick
// another stack).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/argo-platform/argo-platform/tests"
	"github.com/argo-platform/argo-platform/tests/localcluster"
	"github.com/argo-platform/argo-platform/tests/localdeploy"
)

func main() {
	stack := flag.String("stack", "staging", "stack file to deploy: experimental, staging or production")
	once := flag.Bool("once", false, "stop after deploying and printing (for scripts and CI)")
	flag.Parse()
	if err := run(*stack, *once); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		os.Exit(1)
	}
}

func run(stack string, once bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cfg, err := localdeploy.Settings(stack, nil)
	if err != nil {
		return err
	}
	dir := filepath.Join(tests.RepoRoot(), ".sandbox", stack)
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	tools := localdeploy.Tools()
	fmt.Printf("Starting a local control plane in %s ...\n", dir)
	start := time.Now()
	cluster, err := localcluster.Start(ctx, localcluster.Options{
		Bin: filepath.Join(tools, "bin"), Stages: filepath.Join(tools, "kwok-stages"), Dir: filepath.Join(dir, "cluster"),
	})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Println("Stopping the control plane ...")
		cluster.Stop()
		_ = os.RemoveAll(dir)
	}()
	if err := cluster.InstallGKEStandIns(ctx); err != nil {
		return err
	}
	fmt.Printf("Control plane ready in %s at %s\n\n", time.Since(start).Round(time.Millisecond), cluster.Server)

	s, err := localdeploy.Stack(ctx, stack, filepath.Join(dir, "state"), localdeploy.Program(cfg, cluster.KubeconfigText))
	if err != nil {
		return err
	}
	start = time.Now()
	res, err := s.Up(ctx, optup.ProgressStreams(os.Stdout))
	if err != nil {
		return fmt.Errorf("pulumi up: %w", err)
	}
	fmt.Printf("\npulumi up finished in %s: %v\n\n", time.Since(start).Round(time.Millisecond), res.Summary.ResourceChanges)

	if err := report(ctx, cluster, cfg.Argo.Namespace); err != nil {
		return err
	}
	fmt.Printf(`
How to reach it:
  export KUBECONFIG=%s
  kubectl -n %s get all,configmaps,ingress     (any kubectl; none is installed here)
The pods are kwok fakes: the API server accepted every object, the
controllers scheduled the pods and they report Ready, but no container runs,
so the UI is not served. On GCP, open the argoURL output of `+"`pulumi up`"+`.
`, cluster.Kubeconfig, cfg.Argo.Namespace)
	if once {
		return nil
	}
	fmt.Println("\nPress Ctrl-C to stop.")
	<-ctx.Done()
	return nil
}

// report prints the objects the stack created in Argo's namespace.
func report(ctx context.Context, c *localcluster.Cluster, ns string) error {
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "KIND\tNAME\tSTATUS")
	deps, err := c.Client.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, d := range deps.Items {
		fmt.Fprintf(w, "Deployment\t%s\t%d/%d available\n", d.Name, d.Status.AvailableReplicas, *d.Spec.Replicas)
	}
	jobs, err := c.Client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, j := range jobs.Items {
		fmt.Fprintf(w, "Job\t%s\t%d succeeded\n", j.Name, j.Status.Succeeded)
	}
	var rows []string
	add := func(kind string, names ...string) {
		for _, n := range names {
			rows = append(rows, fmt.Sprintf("%s\t%s\t", kind, n))
		}
	}
	if l, err := c.Client.CoreV1().Services(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, i := range l.Items {
			add("Service", i.Name)
		}
	}
	if l, err := c.Client.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, i := range l.Items {
			add("ConfigMap", i.Name)
		}
	}
	if l, err := c.Client.CoreV1().ServiceAccounts(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, i := range l.Items {
			add("ServiceAccount", i.Name+"  ->  "+i.Annotations["iam.gke.io/gcp-service-account"])
		}
	}
	if l, err := c.Client.NetworkingV1().Ingresses(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, i := range l.Items {
			add("Ingress", i.Name+"  host "+i.Spec.Rules[0].Host)
		}
	}
	if l, err := c.Client.NetworkingV1().NetworkPolicies(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, i := range l.Items {
			add("NetworkPolicy", i.Name)
		}
	}
	sort.Strings(rows)
	for _, r := range rows {
		fmt.Fprintln(w, r)
	}
	return w.Flush()
}
