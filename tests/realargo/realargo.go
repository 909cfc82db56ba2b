// Package realargo runs the real Argo workflow-controller and argo server
// (built by `make tools`) as host processes beside a local control plane,
// each exactly as the Deployment the program created describes it: its
// command and args, its env, its ServiceAccount, its ConfigMap (which the
// binary reads from the API server itself). It also runs the database grant
// Job's own script as the Job would, and plays the executor's and the
// kubelet's part for workflow pods on kwok's fake nodes.
//
// Replacements: what cannot work outside a pod, and what stands in for it.
// This list is the only place where the run differs from the Deployment.
//
//   - The image: the binary `make tools` built from the pinned Argo release
//     (workflow-controller for the controller's image, argo for argocli's),
//     run with the container's command and args.
//   - In-cluster credentials (the pod's projected token, the API server's
//     address and the namespace file): a kubeconfig passed as --kubeconfig,
//     holding a token the API server issues for the pod's ServiceAccount
//     (TokenRequest) and the Deployment's namespace as its namespace.
//   - Env from the downward API (fieldRef metadata.name / namespace): the
//     name "<deployment>-host" and the Deployment's namespace.
//   - The Cloud SQL Auth Proxy sidecar (127.0.0.1:<its --port>, IAM login):
//     a loopback TCP forwarder on the same port to a local PostgreSQL set up
//     as Cloud SQL sets one up (localpg.CloudSQL), where an IAM user's login
//     is trusted by name instead of by token.
//   - The grant Job's postgres image: Debian's psql on PATH, and its
//     secretKeyRef env read from the Secret as the kubelet would; a failed
//     run is run again up to the Job's backoffLimit, as its pod restarts
//     (a second apart, not Kubernetes' growing backoff).
//   - Workflow pods: kwok plays the kubelet (pods become Running); the
//     Executor plays the wait container (archiving the step's log as the
//     pod's Google identity through iam.Cloud, which plays GKE's metadata
//     server and GCS by the stack's registered IAM; reporting with the
//     token Argo mounts into the wait container) and then ends the pod as
//     the kubelet would. No container runs.
//
// The ports the binaries open (9090 and 6060 for the controller, 2746 for
// the server) are fixed on every interface, as in the pod: callers run in a
// private network namespace (localcluster.RunIsolated).
package realargo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/argo-platform/argo-platform/tests/localcluster"
)

// Binaries maps an image repository (the part before ":") ending to the
// binary built from the same Argo release, and the binary an image whose
// container sets no command runs (the image's entrypoint).
var binaries = []struct{ imageSuffix, binary string }{
	{"/workflow-controller", "workflow-controller"},
	{"/argocli", "argo"},
}

// Component is one Argo binary running as its Deployment describes it.
type Component struct {
	// Name is the Deployment's name.
	Name string
	*localcluster.Process
	// Ledger is where strace records its connections ("" unless
	// Options.RecordConnections): Connects.
	Ledger string
	pid    int
}

// Pid is the component's own process (under strace, strace's child), for
// reading its memory in /proc; -1 if strace's child cannot be found (a
// read of /proc/-1 then fails, never reads as another process).
func (c *Component) Pid() int {
	if c.Ledger == "" {
		return c.Process.Pid()
	}
	for deadline := time.Now().Add(5 * time.Second); c.pid == 0 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if pid, err := tracee(c.Process.Pid()); err == nil {
			c.pid = pid
		}
	}
	if c.pid == 0 {
		return -1
	}
	return c.pid
}

// Options say where to run.
type Options struct {
	// Client is an admin client of the control plane; Server its URL.
	Client *kubernetes.Clientset
	Server string
	// Bin holds the binaries (.tools/bin).
	Bin string
	// Dir is a scratch folder for kubeconfigs and logs.
	Dir string
	// RecordConnections runs the controller and the server under strace,
	// recording every connection they open (Component.Connects), so the
	// tests can judge them by the pods' egress policies. It needs strace.
	RecordConnections bool
}

// Start runs the main container of Deployment ns/name. It returns once the
// container's own probe (readiness, else liveness) answers, or fails with
// the end of the log.
func Start(ctx context.Context, o Options, ns, name string) (*Component, error) {
	dep, err := o.Client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	spec := dep.Spec.Template.Spec
	if len(spec.Containers) != 1 {
		return nil, fmt.Errorf("realargo: %s has %d containers; expected Argo's one", name, len(spec.Containers))
	}
	c := spec.Containers[0]
	binary, err := binaryFor(c.Image)
	if err != nil {
		return nil, err
	}
	argv := append([]string{}, c.Args...)
	if len(c.Command) > 0 {
		argv = append(append([]string{}, c.Command[1:]...), c.Args...)
	}
	dir := filepath.Join(o.Dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	kc, err := Kubeconfig(ctx, o, ns, spec.ServiceAccountName, nil, dir)
	if err != nil {
		return nil, err
	}
	env, err := containerEnv(ctx, o.Client, ns, name+"-host", c.Env)
	if err != nil {
		return nil, err
	}
	// KUBECONFIG plays the pod's in-cluster configuration: argo-server
	// builds the clients of a signed-in person's account from it (their
	// token, the cluster's address), not from --kubeconfig.
	env = append(env, "PATH="+os.Getenv("PATH"), "HOME="+dir, "KUBECONFIG="+kc)
	path, args, ledger := filepath.Join(o.Bin, binary), append(argv, "--kubeconfig="+kc), ""
	if o.RecordConnections {
		ledger = filepath.Join(dir, name+".connects")
		args = straceArgs(ledger, path, args)
		if path, err = exec.LookPath("strace"); err != nil {
			return nil, fmt.Errorf("realargo: recording %s's connections needs strace (apt-get install strace): %w", name, err)
		}
	}
	proc, err := localcluster.StartProcess(path, args, env, dir, filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, fmt.Errorf("realargo: %s: %w (run `make tools`)", name, err)
	}
	comp := &Component{Name: name, Process: proc, Ledger: ledger}
	// Ready as the kubelet decides it: after the readiness probe's initial
	// delay, once the probe answers. A container without one is ready when
	// it runs; its liveness endpoint then says it is up.
	probe, delay := c.ReadinessProbe, time.Duration(0)
	if probe != nil {
		delay = time.Duration(probe.InitialDelaySeconds) * time.Second
	} else {
		probe = c.LivenessProbe
	}
	select {
	case <-time.After(delay):
	case <-ctx.Done():
	}
	if err := comp.waitProbe(ctx, probe, 90*time.Second); err != nil {
		comp.Stop()
		return nil, fmt.Errorf("realargo: %s: %w; log:\n%s", name, err, comp.Tail(40))
	}
	return comp, nil
}

func binaryFor(image string) (string, error) {
	repo, _, _ := strings.Cut(image, ":")
	for _, b := range binaries {
		if strings.HasSuffix(repo, b.imageSuffix) {
			return b.binary, nil
		}
	}
	return "", fmt.Errorf("realargo: no binary plays image %s", image)
}

// waitProbe polls the container's HTTP probe on loopback until it answers
// 2xx or 3xx, as the kubelet would.
func (c *Component) waitProbe(ctx context.Context, p *corev1.Probe, timeout time.Duration) error {
	if p == nil || p.HTTPGet == nil {
		return errors.New("no HTTP probe to wait for")
	}
	url := fmt.Sprintf("http://127.0.0.1:%d%s", p.HTTPGet.Port.IntValue(), p.HTTPGet.Path)
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	for {
		if !c.Running() {
			return fmt.Errorf("exited (%v) before %s answered", c.State(), url)
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode < 400 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer in %s", url, timeout)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// Log is everything the process printed so far.
func (c *Component) Log() string {
	b, _ := os.ReadFile(c.LogPath)
	return string(b)
}

// Tail is the last n lines of the log.
func (c *Component) Tail(n int) string {
	lines := strings.Split(strings.TrimRight(c.Log(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Kubeconfig writes a kubeconfig for ServiceAccount ns/sa, with a token the
// API server issues for it (bound to object when given, as a pod's own
// token is bound to its pod), and ns as its namespace.
func Kubeconfig(ctx context.Context, o Options, ns, sa string, bound *authv1.BoundObjectReference, dir string) (string, error) {
	token, err := Token(ctx, o.Client, ns, sa, bound)
	if err != nil {
		return "", err
	}
	text := localcluster.Kubeconfig(o.Server, sa, token, ns)
	path := filepath.Join(dir, "kubeconfig-"+sa)
	return path, os.WriteFile(path, []byte(text), 0o600)
}

// Token asks the API server for a token of ServiceAccount ns/sa.
func Token(ctx context.Context, client kubernetes.Interface, ns, sa string, bound *authv1.BoundObjectReference) (string, error) {
	hour := int64(3600 * 4)
	tr, err := client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authv1.TokenRequest{
		Spec: authv1.TokenRequestSpec{ExpirationSeconds: &hour, BoundObjectRef: bound},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("realargo: token for %s/%s: %w", ns, sa, err)
	}
	return tr.Status.Token, nil
}

// containerEnv resolves a container's env as the kubelet would.
func containerEnv(ctx context.Context, client kubernetes.Interface, ns, podName string, vars []corev1.EnvVar) ([]string, error) {
	var out []string
	for _, v := range vars {
		switch {
		case v.ValueFrom == nil:
			out = append(out, v.Name+"="+v.Value)
		case v.ValueFrom.FieldRef != nil:
			switch v.ValueFrom.FieldRef.FieldPath {
			case "metadata.name":
				out = append(out, v.Name+"="+podName)
			case "metadata.namespace":
				out = append(out, v.Name+"="+ns)
			default:
				return nil, fmt.Errorf("realargo: env %s: field %s is not played", v.Name, v.ValueFrom.FieldRef.FieldPath)
			}
		case v.ValueFrom.SecretKeyRef != nil:
			ref := v.ValueFrom.SecretKeyRef
			s, err := client.CoreV1().Secrets(ns).Get(ctx, ref.Name, metav1.GetOptions{})
			if err != nil {
				return nil, fmt.Errorf("realargo: env %s: %w", v.Name, err)
			}
			val, ok := s.Data[ref.Key]
			if !ok {
				return nil, fmt.Errorf("realargo: env %s: secret %s has no key %s", v.Name, ref.Name, ref.Key)
			}
			out = append(out, v.Name+"="+string(val))
		default:
			return nil, fmt.Errorf("realargo: env %s: source not played", v.Name)
		}
	}
	return out, nil
}

// ProxyPorts are the ports the Cloud SQL Auth Proxy sidecars of a pod spec
// listen on (their --port flag).
func ProxyPorts(spec corev1.PodSpec) []int {
	var ports []int
	for _, c := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
		if !strings.Contains(c.Image, "cloud-sql-proxy") {
			continue
		}
		for _, a := range c.Args {
			if p, ok := strings.CutPrefix(a, "--port="); ok {
				if n, err := strconv.Atoi(p); err == nil {
					ports = append(ports, n)
				}
			}
		}
	}
	return ports
}

// Forwarders play the Cloud SQL Auth Proxy: each listens on 127.0.0.1 at a
// proxy's port and forwards to the local PostgreSQL.
type Forwarders struct {
	mu        sync.Mutex
	listeners map[int]io.Closer
	target    string
}

// NewForwarders forwards to target (host:port).
func NewForwarders(target string) *Forwarders {
	return &Forwarders{listeners: map[int]io.Closer{}, target: target}
}

// Serve starts a forwarder on each port not served yet, as the proxies of
// the Deployments and Jobs in pods would listen.
func (f *Forwarders) Serve(ports ...int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range ports {
		if _, ok := f.listeners[p]; ok {
			continue
		}
		l, err := localcluster.Forward("tcp", "127.0.0.1:"+strconv.Itoa(p), "tcp", f.target)
		if err != nil {
			return fmt.Errorf("realargo: proxy port %d: %w", p, err)
		}
		f.listeners[p] = l
	}
	return nil
}

// Close stops every forwarder.
func (f *Forwarders) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for p, l := range f.listeners {
		l.Close()
		delete(f.listeners, p)
	}
}

// RunJob runs the single container of Job ns/name as the Job's pod would:
// its command and args, its env (secretKeyRef read from the Secret), with
// the tools of pgBin on PATH in place of the image's, after forwarders for
// its proxy sidecars are in place. It returns the container's output.
func RunJob(ctx context.Context, o Options, f *Forwarders, pgBin, ns, name string) (string, error) {
	job, err := o.Client.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	spec := job.Spec.Template.Spec
	if len(spec.Containers) != 1 {
		return "", fmt.Errorf("realargo: job %s has %d containers", name, len(spec.Containers))
	}
	if err := f.Serve(ProxyPorts(spec)...); err != nil {
		return "", err
	}
	c := spec.Containers[0]
	env, err := containerEnv(ctx, o.Client, ns, name+"-host", c.Env)
	if err != nil {
		return "", err
	}
	argv := append(append([]string{}, c.Command...), c.Args...)
	if len(argv) == 0 {
		return "", fmt.Errorf("realargo: job %s sets no command", name)
	}
	// A failed run is run again, as the Job's pod restarts (restartPolicy
	// OnFailure) up to its backoffLimit: the server's grants may start
	// while the controller is still migrating its tables. Kubernetes waits
	// 10 s, 20 s, ... between tries; here a second each.
	tries := 1
	if job.Spec.BackoffLimit != nil {
		tries += int(*job.Spec.BackoffLimit)
	}
	var all []byte
	for try := 1; ; try++ {
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = append(env, "PATH="+pgBin+":"+os.Getenv("PATH"), "HOME="+o.Dir)
		cmd.Dir = o.Dir
		out, err := cmd.CombinedOutput()
		all = append(all, out...)
		if err == nil || try >= tries || ctx.Err() != nil {
			return string(all), err
		}
		all = append(all, fmt.Sprintf("(realargo: try %d of %d failed: %v; running it again)\n", try, tries, err)...)
		time.Sleep(time.Second)
	}
}

// DeploymentProxyPorts are the proxy ports of Deployment ns/name's pods.
func DeploymentProxyPorts(ctx context.Context, client kubernetes.Interface, ns, name string) ([]int, error) {
	dep, err := client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return ProxyPorts(dep.Spec.Template.Spec), nil
}
