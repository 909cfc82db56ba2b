// Command bench measures how fast the real Argo workflow-controller runs
// work with each stack's settings, beside the seed's settings translated to
// today's Argo, and prints the figures. Run it with `make bench`.
//
// Each profile gets a fresh local control plane (kwok fake nodes), the
// stack deployed with the real Pulumi engine, and the real controller and
// server started from the Deployments it created (tests/realargo, as in
// the e2e and the sandbox; steps are played: no container runs, each step
// ends as soon as kwok has it Running). Two cases run on each:
//
//   - fan-out: one workflow whose one step fans out to -steps pods;
//   - many: -workflows one-step workflows submitted at once.
//
// For each it prints the time from submit to all Succeeded, steps started
// per second, pod creation against resourceRateLimit, lost and stuck steps
// (a bench with either exits 1), the controller's CPU seconds and peak
// memory, and the ratio to the seed. Speed is reported, never asserted:
// the figures depend on the machine.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/argo-platform/argo-platform/infra/argo/argoproj"
	"github.com/argo-platform/argo-platform/stacks"
	"github.com/argo-platform/argo-platform/tests"
	"github.com/argo-platform/argo-platform/tests/localcluster"
	"github.com/argo-platform/argo-platform/tests/localdeploy"
	"github.com/argo-platform/argo-platform/tests/realargo"
)

// Targets the report checks (printed, not asserted).
const (
	// MinSpeedup is each stack's throughput over the seed's, per case.
	MinSpeedup = 5.0
	// RateTolerance is how close pod creation comes to what
	// resourceRateLimit allows when the limit is what bounds it.
	RateTolerance = 0.10
)

// The seed's throughput settings (2021) in today's Argo: parallelism 10,
// namespaceParallelism 10, resourceRateLimit 10/s with burst 1, and the
// controller's defaults (32 workflow workers, API qps 20, burst 30, and a
// 10 s requeue). The settings refuse a burst that cannot reach its rate,
// so the seed is applied to staging's deployed objects, as a hand edit
// would (applySeed), not through the stack file.
var seed = argoproj.Settings{
	Parallelism: 10, NamespaceParallelism: 10, PodsPerSecond: 10, PodBurst: 1,
	WorkflowWorkers: 32, APIQPS: 20, APIBurst: 30, RequeueSeconds: 10,
}

// profile is one set of settings the bench runs.
type profile struct {
	name, stack string
	seed        bool
}

func profiles(names []string) ([]profile, error) {
	var out []profile
	for _, n := range names {
		switch {
		case n == "seed":
			// The seed was one environment; staging's file supplies
			// everything but the throughput settings.
			out = append(out, profile{name: "seed", stack: stacks.Staging, seed: true})
		case slices.Contains(tests.Stacks, n):
			out = append(out, profile{name: n, stack: n})
		default:
			return nil, fmt.Errorf("-profiles: %q is not one of seed, %s", n, strings.Join(tests.Stacks, ", "))
		}
	}
	return out, nil
}

func main() {
	names := flag.String("profiles", "seed,"+strings.Join(tests.Stacks, ","), "comma-separated profiles to run: seed and stack names")
	steps := flag.Int("steps", 200, "pods the fan-out case's one workflow starts")
	workflows := flag.Int("workflows", 100, "one-step workflows the many case submits at once")
	timeout := flag.Duration("timeout", 20*time.Minute, "how long a case may run before its unfinished steps count as stuck")
	archive := flag.String("archive", "", "instead of the profiles: comma-separated archive sizes (archived workflows, ascending) to measure production's archive at (archive.go)")
	nodes := flag.Int("nodes", 50, "with -archive: nodes of each archived workflow")
	runsPerDay := flag.Int("runs-per-day", 0, "with -archive: production's argo.archivedRunsPerDay for the run (what argo-server is sized for); 0 keeps the stack file's")
	serverEnv := flag.String("server-env", "", "with -archive: NAME=value,... added to argo-server's Deployment before measuring (an experiment)")
	flag.Parse()
	if localcluster.Isolated() {
		var err error
		if *archive != "" {
			err = insideArchive(*archive, *nodes, *runsPerDay, *serverEnv)
		} else {
			var ps []profile
			ps, err = profiles(strings.Split(*names, ","))
			if err == nil {
				err = inside(ps, *steps, *workflows, *timeout)
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	// Argo's binaries listen on fixed ports: run in a private network.
	code, err := localcluster.RunIsolated()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func inside(ps []profile, steps, workflows int, timeout time.Duration) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := localcluster.BringUpLoopback(); err != nil {
		return err
	}
	// Each profile's folder is its own: CI runs one process per profile.
	dir := filepath.Join(tests.RepoRoot(), ".bench")
	for _, p := range ps {
		if err := os.RemoveAll(filepath.Join(dir, p.name)); err != nil {
			return err
		}
	}
	fmt.Printf("bench: %d-step fan-out and %d workflows at once, per profile (logs in %s)\n", steps, workflows, dir)
	var all []run
	var failed []error
	for _, p := range ps {
		// A profile that cannot run is reported; the others still run and
		// are summed up.
		r, err := runProfile(ctx, p, filepath.Join(dir, p.name), steps, workflows, timeout)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s: %v\n", p.name, err)
			failed = append(failed, fmt.Errorf("%s: %w", p.name, err))
			continue
		}
		all = append(all, r...)
	}
	if !report(os.Stdout, all) {
		failed = append(failed, fmt.Errorf("lost or stuck steps (see above; logs in %s)", dir))
	}
	return errors.Join(failed...)
}

// run is one case measured under one profile.
type run struct {
	Profile, Case string
	Limits        argoproj.Settings
	// Steps is how many steps the case starts; Workflows how many
	// workflows carry them.
	Steps, Workflows int
	// Elapsed is from the first submit to the last workflow Succeeded;
	// Submitted to the last submit answered.
	Elapsed, Submitted time.Duration
	// PodTimes are when each step's pod appeared, since the first submit.
	PodTimes []time.Duration
	// Succeeded counts steps (pod nodes) that succeeded; Stuck counts
	// workflows not finished by the timeout; Failed those that ended
	// otherwise than Succeeded.
	Succeeded, Stuck, Failed int
	// CPU is the controller's CPU time during the case; PeakRSS its
	// largest resident memory, in bytes.
	CPU     time.Duration
	PeakRSS int64
	// Problems are what the executor or the server reported.
	Problems []string
}

// Lost is steps that did not succeed.
func (r run) Lost() int { return r.Steps - r.Succeeded }

// StepsPerSecond is steps started over the time to the last one.
func (r run) StepsPerSecond() float64 {
	if len(r.PodTimes) == 0 {
		return 0
	}
	return float64(len(r.PodTimes)) / r.PodTimes[len(r.PodTimes)-1].Seconds()
}

// PodRate is pods created per second from the first step pod to the last.
func (r run) PodRate() float64 {
	n := len(r.PodTimes)
	if n < 2 {
		return 0
	}
	return float64(n) / (r.PodTimes[n-1] - r.PodTimes[0]).Seconds()
}

// LimitReached is the pods created over what resourceRateLimit allows in
// the same span (its burst plus its rate times the span from the first
// pod to the last): 1 when creation went as fast as the limit lets it.
func (r run) LimitReached() float64 {
	n := len(r.PodTimes)
	if n < 2 {
		return 0
	}
	span := (r.PodTimes[n-1] - r.PodTimes[0]).Seconds()
	return float64(n) / (float64(r.Limits.PodBurst) + r.Limits.PodsPerSecond*span)
}

// LimitBound reports whether resourceRateLimit is what bounds pod
// creation: in a fan-out every step is ready at once and the controller
// creates them in one pass, so beyond the burst only the limit (or the API
// server's latency) paces them, and the limit alone would take at least a
// second. When many workflows arrive, steps are ready only as the server
// admits and the controller first reconciles each workflow, and
// parallelism caps them: the limit is not what is measured there.
func (r run) LimitBound() bool {
	return r.Workflows == 1 && float64(r.Steps-r.Limits.PodBurst)/r.Limits.PodsPerSecond >= 1
}

func runProfile(ctx context.Context, p profile, dir string, steps, workflows int, timeout time.Duration) ([]run, error) {
	cfg, err := localdeploy.Settings(p.stack, nil)
	if err != nil {
		return nil, err
	}
	a := cfg.Argo
	if p.seed {
		a.Parallelism, a.NamespaceParallelism = seed.Parallelism, seed.NamespaceParallelism
		a.PodsPerSecond, a.PodBurst, a.RequeueSeconds = seed.PodsPerSecond, seed.PodBurst, seed.RequeueSeconds
		a.WorkflowWorkers, a.APIQPS, a.APIBurst = seed.WorkflowWorkers, seed.APIQPS, seed.APIBurst
	}
	fmt.Printf("\n== %s: parallelism %d (namespace %d), pods %g/s burst %d, requeue %ds, workers %d, API qps %g burst %d\n",
		p.name, a.Parallelism, a.NamespaceParallelism, a.PodsPerSecond, a.PodBurst, a.RequeueSeconds, a.WorkflowWorkers, a.APIQPS, a.APIBurst)
	start := time.Now()
	env, err := bringUp(ctx, p.stack, cfg, dir, p.seed)
	if err != nil {
		return nil, err
	}
	defer env.stop()
	client, live := env.client, env.live
	fmt.Printf("deployed and running in %s\n", time.Since(start).Round(time.Second))

	b := &bench{client: client, ns: a.WorkflowNamespace, live: live, limits: a, timeout: timeout}
	fan, err := b.measure(ctx, "fan-out", []map[string]any{fanOut(steps)}, steps)
	if err != nil {
		return nil, err
	}
	var many []map[string]any
	for range workflows {
		many = append(many, oneStep())
	}
	wide, err := b.measure(ctx, "many", many, workflows)
	if err != nil {
		return nil, err
	}
	fan.Profile, wide.Profile = p.name, p.name
	for _, r := range []run{fan, wide} {
		fmt.Printf("  %-8s %s\n", r.Case, r.line())
	}
	return []run{fan, wide}, nil
}

// upEnv is a stack deployed on a fresh local control plane with its Argo
// side running for real.
type upEnv struct {
	cluster *localcluster.Cluster
	client  *kubernetes.Clientset
	live    *realargo.Live
	opts    realargo.Options
}

func (e *upEnv) stop() {
	if e.live != nil {
		e.live.Stop()
	}
	e.cluster.Stop()
}

// bringUp starts a control plane in dir, deploys stack with cfg through
// the real Pulumi engine (the seed's settings edited in when seed is set)
// and starts its controller and server (the operator's session in
// session).
func bringUp(ctx context.Context, stack string, cfg *stacks.Loaded, dir string, seed bool) (_ *upEnv, err error) {
	tools := localdeploy.Tools()
	cluster, err := localcluster.Start(ctx, localcluster.Options{
		Bin: filepath.Join(tools, "bin"), Stages: filepath.Join(tools, "kwok-stages"), Dir: filepath.Join(dir, "cluster"),
	})
	if err != nil {
		return nil, err
	}
	e := &upEnv{cluster: cluster}
	defer func() {
		if err != nil {
			e.stop()
		}
	}()
	if err := cluster.InstallGKEStandIns(ctx); err != nil {
		return nil, err
	}
	s, err := localdeploy.Stack(ctx, stack, filepath.Join(dir, "state"), localdeploy.Program(cfg, cluster.KubeconfigText))
	if err != nil {
		return nil, err
	}
	upLog, err := os.Create(filepath.Join(dir, "pulumi-up.log"))
	if err != nil {
		return nil, err
	}
	defer upLog.Close()
	if _, err := s.Up(ctx, optup.ProgressStreams(upLog)); err != nil {
		return nil, fmt.Errorf("pulumi up: %w (log: %s)", err, upLog.Name())
	}
	if seed {
		if err := applySeed(ctx, cluster.Client, cfg.Argo.Namespace); err != nil {
			return nil, err
		}
	}
	// The bench's own client (the executor's part) must not be what
	// limits the run: client-go's default is 5 requests a second.
	fast := rest.CopyConfig(cluster.Config)
	fast.QPS, fast.Burst = 2000, 4000
	if e.client, err = kubernetes.NewForConfig(fast); err != nil {
		return nil, err
	}
	e.opts = realargo.Options{Client: e.client, Server: cluster.Server, Bin: filepath.Join(tools, "bin"), Dir: filepath.Join(dir, "argo")}
	if e.live, err = realargo.Run(ctx, e.opts, cfg, realargo.StepsAsWritten); err != nil {
		return nil, err
	}
	session = e.live.Session
	return e, nil
}

// withEnv adds vars to the main container of Deployment name in Argo's
// namespace, as an operator's edit would, and restarts Argo from the
// Deployments as they are then (the operator's new session in session).
func (e *upEnv) withEnv(ctx context.Context, cfg *stacks.Loaded, name string, vars ...corev1.EnvVar) error {
	deps := e.client.AppsV1().Deployments(cfg.Argo.Namespace)
	dep, err := deps.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	c := &dep.Spec.Template.Spec.Containers[0]
	c.Env = append(c.Env, vars...)
	if _, err := deps.Update(ctx, dep, metav1.UpdateOptions{}); err != nil {
		return err
	}
	if err := e.live.Restart(ctx, e.opts, cfg, realargo.StepsAsWritten); err != nil {
		return err
	}
	session = e.live.Session
	return nil
}

// bench measures cases on one running profile.
type bench struct {
	client  *kubernetes.Clientset
	ns      string
	live    *realargo.Live
	limits  argoproj.Settings
	timeout time.Duration
}

// measure submits wfs at once through the argo server and waits until
// each has ended or the timeout passes.
func (b *bench) measure(ctx context.Context, name string, wfs []map[string]any, steps int) (run, error) {
	r := run{Case: name, Limits: b.limits, Steps: steps, Workflows: len(wfs)}
	// Pods are seen as they appear (podGC deletes them soon after).
	var (
		mu    sync.Mutex
		seen  = map[string]bool{}
		start time.Time
	)
	factory := informers.NewSharedInformerFactoryWithOptions(b.client, 0, informers.WithNamespace(b.ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = "workflows.argoproj.io/workflow" }))
	pods := factory.Core().V1().Pods().Informer()
	if _, err := pods.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: func(obj any) {
		p, ok := obj.(*corev1.Pod)
		if !ok {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if !start.IsZero() && !seen[p.Name] {
			seen[p.Name] = true
			r.PodTimes = append(r.PodTimes, time.Since(start))
		}
	}}); err != nil {
		return r, err
	}
	stopInformer := make(chan struct{})
	defer close(stopInformer)
	factory.Start(stopInformer)
	factory.WaitForCacheSync(stopInformer)

	pid := b.live.Controller.Pid()
	cpu0, err := cpuTime(pid)
	if err != nil {
		return r, err
	}
	peak := &realargo.PeakRSS{Pid: pid}
	stopSampling := peak.Sample()

	mu.Lock()
	start = time.Now()
	mu.Unlock()
	names := make([]string, len(wfs))
	errs := make([]error, len(wfs))
	var wg sync.WaitGroup
	for i, wf := range wfs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			names[i], errs[i] = submit(ctx, b.ns, wf)
		}()
	}
	wg.Wait()
	r.Submitted = time.Since(start)
	for _, err := range errs {
		if err != nil {
			stopSampling()
			return r, fmt.Errorf("%s: submit: %w", name, err)
		}
	}
	phases, err := b.wait(ctx, names)
	r.Elapsed = time.Since(start)
	stopSampling()
	cpu1, err2 := cpuTime(pid)
	if err != nil || err2 != nil {
		return r, fmt.Errorf("%s: %v %v; controller log:\n%s", name, err, err2, b.live.Controller.Tail(20))
	}
	r.CPU = cpu1 - cpu0
	if r.PeakRSS, err = peak.Max(); err != nil {
		return r, fmt.Errorf("%s: %w", name, err)
	}
	mu.Lock()
	slices.Sort(r.PodTimes)
	mu.Unlock()
	for _, n := range names {
		switch phases[n] {
		case "Succeeded":
		case "Failed", "Error":
			r.Failed++
		default:
			r.Stuck++
		}
		ok, err := succeededSteps(ctx, b.ns, n)
		if err != nil {
			r.Problems = append(r.Problems, err.Error())
		}
		r.Succeeded += ok
	}
	for _, err := range b.live.Executor.Errors() {
		r.Problems = append(r.Problems, err.Error())
	}
	return r, nil
}

// wait polls the workflows' phases until all have ended or the timeout
// passes, and returns the last phases seen.
func (b *bench) wait(ctx context.Context, names []string) (map[string]string, error) {
	deadline := time.Now().Add(b.timeout)
	phases := map[string]string{}
	for {
		list, err := listWorkflows(ctx, b.ns)
		if err != nil {
			return nil, err
		}
		done := 0
		for _, n := range names {
			phases[n] = list[n]
			if slices.Contains([]string{"Succeeded", "Failed", "Error"}, list[n]) {
				done++
			}
		}
		if done == len(names) || time.Now().After(deadline) {
			return phases, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// fanOut is one workflow whose one step fans out to n pods.
func fanOut(n int) map[string]any {
	return map[string]any{
		"metadata": map[string]any{"generateName": "fan-out-"},
		"spec": map[string]any{
			"entrypoint": "main",
			"templates": []any{
				map[string]any{"name": "main", "steps": []any{[]any{map[string]any{
					"name": "work", "template": "work", "withSequence": map[string]any{"count": strconv.Itoa(n)},
				}}}},
				work(),
			},
		},
	}
}

// oneStep is a small workflow: one step.
func oneStep() map[string]any {
	return map[string]any{
		"metadata": map[string]any{"generateName": "small-"},
		"spec":     map[string]any{"entrypoint": "work", "templates": []any{work()}},
	}
}

func work() map[string]any {
	return map[string]any{"name": "work", "container": map[string]any{
		"image": "busybox", "command": []any{"true"},
		"resources": map[string]any{"requests": map[string]any{"cpu": "100m", "memory": "128Mi"}},
	}}
}

// submit creates a Workflow through the real argo server, as the argo CLI
// does, and returns its name.
func submit(ctx context.Context, ns string, wf map[string]any) (string, error) {
	var created struct {
		Metadata struct{ Name string } `json:"metadata"`
	}
	if err := call(ctx, http.MethodPost, "/api/v1/workflows/"+ns, map[string]any{"workflow": wf}, &created); err != nil {
		return "", err
	}
	return created.Metadata.Name, nil
}

// listWorkflows is every workflow's phase in ns, by name.
func listWorkflows(ctx context.Context, ns string) (map[string]string, error) {
	var list struct {
		Items []struct {
			Metadata struct{ Name string }  `json:"metadata"`
			Status   struct{ Phase string } `json:"status"`
		} `json:"items"`
	}
	if err := call(ctx, http.MethodGet, "/api/v1/workflows/"+ns+"?fields=items.metadata.name,items.status.phase", nil, &list); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, i := range list.Items {
		out[i.Metadata.Name] = i.Status.Phase
	}
	return out, nil
}

// succeededSteps counts the pod nodes of workflow name that succeeded, as
// the server shows them (from the offload table when offloaded).
func succeededSteps(ctx context.Context, ns, name string) (int, error) {
	var wf struct {
		Status struct {
			Nodes map[string]struct{ Type, Phase string } `json:"nodes"`
		} `json:"status"`
	}
	if err := call(ctx, http.MethodGet, "/api/v1/workflows/"+ns+"/"+name, nil, &wf); err != nil {
		return 0, err
	}
	n := 0
	for _, node := range wf.Status.Nodes {
		if node.Type == "Pod" && node.Phase == "Succeeded" {
			n++
		}
	}
	return n, nil
}

// session is the operator's sign-in (realargo.Operator), which every call
// presents.
var session string

func call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, realargo.ServerURL+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", session)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, data)
	}
	return json.Unmarshal(data, out)
}
