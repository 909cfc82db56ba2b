// Command sandbox is the offline twin of `pulumi up --stack staging`: it
// starts a local Kubernetes control plane (kwok fake nodes, a Spot one
// among them), deploys the stack's Kubernetes side with the real Pulumi
// engine and Kubernetes provider, runs the real Argo controller and server
// from the Deployments it created (tests/realargo), prints how to submit a
// workflow with the real argo CLI, and stops everything on Ctrl-C. Run it
// with `make sandbox` (STACK=production to pick another stack).
//
// Everything runs in a private network namespace (Argo's binaries listen
// on fixed ports, as in their pods); the sandbox forwards the argo server's
// port and the API server's to 127.0.0.1 on this machine through Unix
// sockets, and nothing else.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/argo-platform/argo-platform/tests"
	"github.com/argo-platform/argo-platform/tests/localcluster"
	"github.com/argo-platform/argo-platform/tests/localdeploy"
	"github.com/argo-platform/argo-platform/tests/realargo"
)

// What the outer process tells the one in the private network.
const (
	envAPIPort = "ARGO_PLATFORM_SANDBOX_API_PORT"
	envDir     = "ARGO_PLATFORM_SANDBOX_DIR"
)

// The Unix sockets that cross the private network's border.
const (
	argoSocket = "argo-server.sock"
	apiSocket  = "apiserver.sock"
)

func main() {
	stack := flag.String("stack", "staging", "stack file to deploy: experimental, staging or production")
	once := flag.Bool("once", false, "deploy, run the printed example workflow with the argo CLI, check it, and stop (for scripts and CI)")
	argoPort := flag.Int("argo-port", 2746, "port on 127.0.0.1 of this machine where the argo server is reachable")
	flag.Parse()
	var err error
	if localcluster.Isolated() {
		err = inside(*stack, *once, *argoPort)
	} else {
		err = outside(*stack, *argoPort)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		os.Exit(1)
	}
}

// outside prepares the folder, forwards the two ports into the private
// network, and runs the sandbox there until it ends.
func outside(stack string, argoPort int) error {
	dir := filepath.Join(tests.RepoRoot(), ".sandbox", stack)
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	argo, err := localcluster.Forward("tcp", "127.0.0.1:"+strconv.Itoa(argoPort), "unix", filepath.Join(dir, argoSocket))
	if err != nil {
		return fmt.Errorf("port %d for the argo server: %w (pick another with -argo-port, or ARGO_PORT=... with make)", argoPort, err)
	}
	defer argo.Close()
	api, err := localcluster.Forward("tcp", "127.0.0.1:0", "unix", filepath.Join(dir, apiSocket))
	if err != nil {
		return err
	}
	defer api.Close()
	apiPort := api.(net.Listener).Addr().(*net.TCPAddr).Port
	// Ctrl-C in a terminal reaches both processes; a signal sent to this
	// one alone is passed on. Either way this one waits for the other.
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	cmd, err := localcluster.StartIsolated(envAPIPort+"="+strconv.Itoa(apiPort), envDir+"="+dir)
	if err != nil {
		return err
	}
	go func() {
		for sig := range signals {
			_ = cmd.Process.Signal(sig)
		}
	}()
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("the sandbox stopped: %w", err)
	}
	return nil
}

// inside is the sandbox itself, in its private network.
func inside(stack string, once bool, argoPort int) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := localcluster.BringUpLoopback(); err != nil {
		return err
	}
	dir := os.Getenv(envDir)
	hostAPIPort := os.Getenv(envAPIPort)
	cfg, err := localdeploy.Settings(stack, nil)
	if err != nil {
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
	}()
	if err := cluster.InstallGKEStandIns(ctx); err != nil {
		return err
	}
	fmt.Printf("Control plane ready in %s\n\n", time.Since(start).Round(time.Millisecond))

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

	fmt.Println("\nStarting the real Argo controller and server from their Deployments ...")
	start = time.Now()
	live, err := realargo.Run(ctx, realargo.Options{
		Client: cluster.Client, Server: cluster.Server, Bin: filepath.Join(tools, "bin"), Dir: filepath.Join(dir, "argo"),
	}, cfg, realargo.StepsAsWritten)
	if err != nil {
		return err
	}
	defer func() {
		fmt.Println("Stopping Argo's controller and server (up to 10 seconds each) ...")
		live.Stop()
	}()
	fmt.Printf("Argo answering in %s (logs: %s, %s)\n", time.Since(start).Round(time.Millisecond), live.Controller.LogPath, live.Server.LogPath)
	operator, err := realargo.Operator(cfg)
	if err != nil {
		return err
	}

	// The two ports the outer process forwards to this machine.
	apiURL, err := url.Parse(cluster.Server)
	if err != nil {
		return err
	}
	for socket, target := range map[string]string{argoSocket: "127.0.0.1:2746", apiSocket: apiURL.Host} {
		l, err := localcluster.Forward("unix", filepath.Join(dir, socket), "tcp", target)
		if err != nil {
			return err
		}
		defer l.Close()
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	text := strings.Replace(cluster.KubeconfigText, apiURL.Host, "127.0.0.1:"+hostAPIPort, 1)
	if err := os.WriteFile(kubeconfig, []byte(text), 0o600); err != nil {
		return err
	}
	example := filepath.Join(dir, "hello.yaml")
	if err := os.WriteFile(example, []byte(helloWorkflow), 0o644); err != nil {
		return err
	}
	env := map[string]string{
		"ARGO_SERVER": "127.0.0.1:" + strconv.Itoa(argoPort), "ARGO_HTTP1": "true", "ARGO_SECURE": "false",
		// Workflows are submitted to the workflow namespace.
		"ARGO_NAMESPACE": cfg.Argo.WorkflowNamespace, "ARGO_TOKEN": live.Session,
	}
	argo := filepath.Join(tools, "bin", "argo")
	fmt.Printf(`
The real Argo controller and server (v4.0.7, built by make tools) run
beside the control plane, with PostgreSQL as the archive. Steps are
SIMULATED: no container runs. kwok plays the kubelet and the sandbox plays
Argo's executor; a step succeeds unless its command says "exit N".

Submit a workflow with the real argo CLI, watch it finish, find it in the
archive (in another terminal):

  export ARGO_SERVER=%s ARGO_HTTP1=true ARGO_SECURE=false ARGO_NAMESPACE=%s
  # The sandbox signed %s in (an editor; on GCP, copy yours from the UI's
  # User page after signing in with Google):
  export ARGO_TOKEN='%s'
  %s submit --watch %s
  %s list
  %s archive list

The server's API is at http://%s/api/v1/ (the UI itself is not built
here; on GCP, open the argoURL output of `+"`pulumi up`"+`). Any kubectl
works with KUBECONFIG=%s.
`, env["ARGO_SERVER"], cfg.Argo.WorkflowNamespace, operator, live.Session, argo, example, argo, argo, env["ARGO_SERVER"], kubeconfig)
	if once {
		// Inside the private network the server is on its own port.
		env["ARGO_SERVER"] = "127.0.0.1:2746"
		return runExample(ctx, argo, example, env)
	}
	fmt.Println("\nPress Ctrl-C to stop.")
	<-ctx.Done()
	return nil
}

// helloWorkflow is the example the sandbox prints and -once runs.
const helloWorkflow = `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: hello-
spec:
  entrypoint: main
  templates:
  - name: main
    container:
      image: busybox
      command: [echo, "hello from Argo"]
      resources:
        requests: {cpu: 100m, memory: 128Mi}
`

// runExample runs the printed commands with the argo CLI and checks that
// the workflow succeeded and is in the archive.
func runExample(ctx context.Context, argo, example string, env map[string]string) error {
	run := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, argo, args...)
		cmd.Env = os.Environ()
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out, err := cmd.CombinedOutput()
		fmt.Printf("$ argo %s\n%s", strings.Join(args, " "), out)
		if err != nil {
			return string(out), fmt.Errorf("argo %s: %w", strings.Join(args, " "), err)
		}
		return string(out), nil
	}
	out, err := run("submit", "--wait", "-o", "name", example)
	if err != nil {
		return err
	}
	name := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
	out, err = run("get", name, "-o", "json")
	if err != nil {
		return err
	}
	var wf struct {
		Status struct{ Phase string } `json:"status"`
	}
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &wf); err != nil {
		return err
	}
	if wf.Status.Phase != "Succeeded" {
		return fmt.Errorf("workflow %s: %s", name, wf.Status.Phase)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		out, err := run("archive", "list")
		if err == nil && strings.Contains(out, name) {
			fmt.Printf("sandbox: %s succeeded and is in the archive\n", name)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("workflow %s is not in the archive", name)
		}
		time.Sleep(2 * time.Second)
	}
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
		fmt.Fprintf(w, "Deployment\t%s\t%d/%d available (kwok pods; the binaries run below)\n", d.Name, d.Status.AvailableReplicas, *d.Spec.Replicas)
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
