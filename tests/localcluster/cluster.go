// Package localcluster runs a real Kubernetes control plane on loopback for
// the end-to-end tests and the sandbox: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler, and kwok playing the kubelet for
// fake nodes (pods become Running and Ready, Job pods complete). Every
// process is started here on free 127.0.0.1 ports and stopped by its own
// process id.
package localcluster

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Options says where the binaries are and where to keep state.
type Options struct {
	// Bin holds etcd, kube-apiserver, kube-controller-manager,
	// kube-scheduler and kwok (tools/build.sh puts them in .tools/bin).
	Bin string
	// Stages holds kwok's stage files (.tools/kwok-stages).
	Stages string
	// Dir is a scratch folder for data, keys, logs and the kubeconfig.
	Dir string
	// Nodes is how many fake nodes to create (default 1).
	Nodes int
}

// Cluster is a running control plane.
type Cluster struct {
	// Kubeconfig is the path of an admin kubeconfig; KubeconfigText its text.
	Kubeconfig, KubeconfigText string
	// Server is the API server's URL.
	Server string
	// Config is the admin client configuration.
	Config *rest.Config
	// Client is an admin clientset.
	Client *kubernetes.Clientset

	dir   string
	procs []*Process
}

// Start brings the control plane up and returns once a fake node is Ready.
func Start(ctx context.Context, o Options) (c *Cluster, err error) {
	if o.Nodes == 0 {
		o.Nodes = 1
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	c = &Cluster{dir: o.Dir}
	defer func() {
		if err != nil {
			c.Stop()
			err = fmt.Errorf("%w (logs in %s)", err, o.Dir)
		}
	}()

	ports, err := FreePorts(6)
	if err != nil {
		return nil, err
	}
	etcdPort, peerPort, apiPort, kcmPort, schedPort, kwokPort := ports[0], ports[1], ports[2], ports[3], ports[4], ports[5]

	token, err := randomHex(16)
	if err != nil {
		return nil, err
	}
	saKey, saPub := filepath.Join(o.Dir, "sa.key"), filepath.Join(o.Dir, "sa.pub")
	if err := writeServiceAccountKeys(saKey, saPub); err != nil {
		return nil, err
	}
	tokens := filepath.Join(o.Dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(token+",admin,admin,system:masters\n"), 0o600); err != nil {
		return nil, err
	}

	etcdURL := "http://127.0.0.1:" + strconv.Itoa(etcdPort)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	if err := c.run(o.Bin, "etcd",
		"--data-dir", filepath.Join(o.Dir, "etcd"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "default="+peerURL,
		"--unsafe-no-fsync",
	); err != nil {
		return nil, err
	}

	c.Server = "https://127.0.0.1:" + strconv.Itoa(apiPort)
	if err := c.run(o.Bin, "kube-apiserver",
		"--etcd-servers", etcdURL,
		"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
		"--secure-port", strconv.Itoa(apiPort),
		"--cert-dir", filepath.Join(o.Dir, "apiserver-certs"),
		"--service-account-key-file", saPub,
		"--service-account-signing-key-file", saKey,
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--token-auth-file", tokens,
		"--authorization-mode", "RBAC",
		"--service-cluster-ip-range", "10.96.0.0/16",
	); err != nil {
		return nil, err
	}

	c.KubeconfigText = Kubeconfig(c.Server, "admin", token, "")
	c.Kubeconfig = filepath.Join(o.Dir, "kubeconfig")
	if err := os.WriteFile(c.Kubeconfig, []byte(c.KubeconfigText), 0o600); err != nil {
		return nil, err
	}
	c.Config, err = clientcmd.RESTConfigFromKubeConfig([]byte(c.KubeconfigText))
	if err != nil {
		return nil, err
	}
	c.Config.QPS, c.Config.Burst = 100, 200
	if c.Client, err = kubernetes.NewForConfig(c.Config); err != nil {
		return nil, err
	}
	if err := waitReady(ctx, c.Server, token, 90*time.Second); err != nil {
		return nil, fmt.Errorf("kube-apiserver: %w", err)
	}

	kc := c.Kubeconfig
	if err := c.run(o.Bin, "kube-controller-manager",
		"--kubeconfig", kc, "--authentication-kubeconfig", kc, "--authorization-kubeconfig", kc,
		"--leader-elect=false",
		"--service-account-private-key-file", saKey,
		"--controllers", "*,-nodeipam,-nodelifecycle",
		"--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(kcmPort),
	); err != nil {
		return nil, err
	}
	if err := c.run(o.Bin, "kube-scheduler",
		"--kubeconfig", kc, "--authentication-kubeconfig", kc, "--authorization-kubeconfig", kc,
		"--leader-elect=false",
		"--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(schedPort),
	); err != nil {
		return nil, err
	}
	kwokArgs := []string{
		"--kubeconfig", kc,
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
		"--node-ip", "10.0.0.1", "--cidr", "10.0.0.1/24",
		"--server-address", "127.0.0.1:" + strconv.Itoa(kwokPort),
	}
	stages, err := filepath.Glob(filepath.Join(o.Stages, "*.yaml"))
	if err != nil || len(stages) == 0 {
		return nil, fmt.Errorf("no kwok stages in %s: run `make tools`", o.Stages)
	}
	for _, s := range stages {
		kwokArgs = append(kwokArgs, "--config", s)
	}
	if err := c.run(o.Bin, "kwok", kwokArgs...); err != nil {
		return nil, err
	}
	for i := range o.Nodes {
		if err := c.addNode(ctx, fmt.Sprintf("kwok-node-%d", i), nil); err != nil {
			return nil, err
		}
	}
	// Autopilot offers Spot capacity to any pod that selects it (it adds
	// the toleration itself): a Spot node lets such pods schedule at all.
	if err := c.addNode(ctx, "kwok-spot-0", map[string]string{SpotLabel: "true"}); err != nil {
		return nil, err
	}
	return c, nil
}

// run starts one binary, logging to a file of its name.
func (c *Cluster) run(bin, name string, args ...string) error {
	path := filepath.Join(bin, name)
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("%s not built: run `make tools` (%w)", name, err)
	}
	p, err := StartProcess(path, args, nil, "", filepath.Join(c.dir, name+".log"))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	c.procs = append(c.procs, p)
	return nil
}

// Stop ends every process this cluster started, newest first.
func (c *Cluster) Stop() {
	for i := len(c.procs) - 1; i >= 0; i-- {
		c.procs[i].Stop()
	}
	c.procs = nil
}

// SpotLabel is the node label of GKE's Spot capacity.
const SpotLabel = "cloud.google.com/gke-spot"

// addNode registers a fake node for kwok, with extra labels, and waits
// until it is Ready and schedulable (the node-lifecycle controller that
// would lift the not-ready taint is off).
func (c *Cluster) addNode(ctx context.Context, name string, extra map[string]string) error {
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"},
			Labels:      map[string]string{"kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": name, "type": "kwok"},
		},
		Status: corev1.NodeStatus{
			Allocatable: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("64"), corev1.ResourceMemory: resource.MustParse("256Gi"), corev1.ResourcePods: resource.MustParse("500"),
			},
			Capacity: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("64"), corev1.ResourceMemory: resource.MustParse("256Gi"), corev1.ResourcePods: resource.MustParse("500"),
			},
		},
	}
	for k, v := range extra {
		node.Labels[k] = v
	}
	nodes := c.Client.CoreV1().Nodes()
	if _, err := nodes.Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("node %s: %w", name, err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		n, err := nodes.Get(ctx, name, metav1.GetOptions{})
		if err == nil && ready(n) {
			if len(n.Spec.Taints) == 0 {
				return nil
			}
			n.Spec.Taints = nil
			if _, err := nodes.Update(ctx, n, metav1.UpdateOptions{}); err == nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("node %s did not become Ready", name)
}

func ready(n *corev1.Node) bool {
	for _, cond := range n.Status.Conditions {
		if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func waitReady(ctx context.Context, server, token string, timeout time.Duration) error {
	client := &http.Client{
		Timeout:   2 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, // loopback, self-signed
	}
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, server+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Errorf("readyz: %s", resp.Status)
		} else {
			last = err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return errors.Join(errors.New("not ready in time"), last)
}

// FreePorts are n ports on 127.0.0.1 that nothing listens on now.
func FreePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

func writeServiceAccountKeys(keyPath, pubPath string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	priv := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	pub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	if err := os.WriteFile(keyPath, priv, 0o600); err != nil {
		return err
	}
	return os.WriteFile(pubPath, pub, 0o644)
}

// Kubeconfig is a kubeconfig for the loopback API server (its serving
// certificate is self-signed, and nothing leaves 127.0.0.1) as user, with
// token, and namespace as its default when not empty.
func Kubeconfig(server, user, token, namespace string) string {
	ns := ""
	if namespace != "" {
		ns = "\n    namespace: " + namespace
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Config
current-context: local
clusters:
- name: local
  cluster:
    server: %s
    insecure-skip-tls-verify: true
contexts:
- name: local
  context:
    cluster: local
    user: %s%s
users:
- name: %s
  user:
    token: %s
`, server, user, ns, user, token)
}

// SignInIssuer is where the stand-in for Google's sign-in (an OpenID
// Connect provider, tests/realargo) listens, in the test's private network:
// the issuer the local deploys give argo-server.
const SignInIssuer = "http://127.0.0.1:5556/oidc"
