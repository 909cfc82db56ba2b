package realargo

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/argo-platform/argo-platform/tests/iam"
)

// Argo's names for what a workflow pod carries (workflow/common).
const (
	labelWorkflow        = "workflows.argoproj.io/workflow"
	labelReportCompleted = "workflows.argoproj.io/report-outputs-completed"
	annotationNodeName   = "workflows.argoproj.io/node-name"
)

// TaskResults are Argo's WorkflowTaskResults, the executor's reports.
var TaskResults = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "workflowtaskresults"}

// NodeShutdownMessage is the status message the kubelet gives a pod it
// terminates because its node is shutting down, as on a preempted Spot VM.
const NodeShutdownMessage = "Pod was terminated in response to imminent node shutdown."

// Outcome is how a played step ends.
type Outcome struct {
	// ExitCode is the main container's exit code.
	ExitCode int
	// Preempted: the node shuts down under the running pod (a Spot VM
	// preempted), and the kubelet fails the pod with NodeShutdownMessage.
	Preempted bool
}

// Executor plays, for each workflow pod in a namespace that kwok has made
// Running, what Argo's wait container and the kubelet do when the main
// container ends:
//
//   - it archives the step's log (and its output artifacts) where the real
//     controller put the template's archive location, as the pod's Google
//     identity: GKE's metadata server and GCS are played by cloud, which
//     refuses what the stack's registered IAM refuses; a refused upload
//     fails the wait container, as Argo's executor fails (SaveLogs ->
//     AddError -> exit 1), and the controller makes the node an Error;
//   - with the token Argo mounts into the wait container (the executor
//     account's token Secret when the pod has one, else the pod's own
//     ServiceAccount's token bound to the pod), it creates the node's
//     WorkflowTaskResult and then merge-patches its report-outputs-completed
//     label to "true", as Argo's executor does;
//   - then it ends the pod with the outcome decide gives, as the kubelet
//     would.
//
// What it does not do: run any container, read a real log (the log is a
// line naming the pod), load input artifacts, or save output parameters.
type Executor struct {
	o      Options
	ns     []string
	cloud  *iam.Cloud
	decide func(*corev1.Pod) Outcome
	mu     sync.Mutex
	seen   map[types.UID]bool
	errs   []error
	played map[string][]Played
}

// Played is one pod the executor ended.
type Played struct {
	Pod, ServiceAccount, NodeName string
	Outcome                       Outcome
	// Archived are the bucket keys the step's log and artifacts went to;
	// ArchiveError is why an upload was refused ("" when none was).
	Archived     []string
	ArchiveError string
}

// PlayExecutor starts playing the executor in the workflow namespaces ns
// until ctx ends; cloud plays GKE's metadata server and GCS.
func PlayExecutor(ctx context.Context, o Options, ns []string, cloud *iam.Cloud, decide func(*corev1.Pod) Outcome) *Executor {
	e := &Executor{o: o, ns: ns, cloud: cloud, decide: decide, seen: map[types.UID]bool{}, played: map[string][]Played{}}
	go e.loop(ctx)
	return e
}

// Errors are what went wrong so far (a refused task result is one).
func (e *Executor) Errors() []error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]error{}, e.errs...)
}

// Played are the pods of workflow wf that the executor ended, in order.
func (e *Executor) Played(wf string) []Played {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Played{}, e.played[wf]...)
}

func (e *Executor) fail(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.errs = append(e.errs, err)
}

func (e *Executor) loop(ctx context.Context) {
	for {
		var running []*corev1.Pod
		for _, ns := range e.ns {
			pods, err := e.o.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: labelWorkflow})
			if err == nil {
				for i := range pods.Items {
					running = append(running, &pods.Items[i])
				}
			}
		}
		if ctx.Err() != nil {
			return
		}
		for _, p := range running {
			if p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
				continue
			}
			e.mu.Lock()
			done := e.seen[p.UID]
			e.seen[p.UID] = true
			e.mu.Unlock()
			if !done {
				go e.play(ctx, p)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (e *Executor) play(ctx context.Context, pod *corev1.Pod) {
	out := e.decide(pod)
	var saved []map[string]any
	var archiveErr error
	if !out.Preempted {
		saved, archiveErr = e.archive(ctx, pod)
	}
	if err := e.report(ctx, pod, out, saved); err != nil {
		e.fail(fmt.Errorf("pod %s: wait container: %w", pod.Name, err))
	}
	if err := e.end(ctx, pod, out, archiveErr); err != nil && ctx.Err() == nil {
		e.fail(fmt.Errorf("pod %s: kubelet: %w", pod.Name, err))
		return
	}
	p := Played{Pod: pod.Name, ServiceAccount: pod.Spec.ServiceAccountName, NodeName: pod.Annotations[annotationNodeName], Outcome: out}
	for _, a := range saved {
		p.Archived = append(p.Archived, a["gcs"].(map[string]any)["key"].(string))
	}
	if archiveErr != nil {
		p.ArchiveError = archiveErr.Error()
	}
	e.mu.Lock()
	wf := pod.Labels[labelWorkflow]
	e.played[wf] = append(e.played[wf], p)
	e.mu.Unlock()
}

// template is the part of the template Argo hands its executor (the init
// container's ARGO_TEMPLATE) that says where to archive.
type template struct {
	ArchiveLocation *struct {
		ArchiveLogs *bool        `json:"archiveLogs"`
		GCS         *gcsArtifact `json:"gcs"`
	} `json:"archiveLocation"`
	Outputs struct {
		Artifacts []struct {
			Name string       `json:"name"`
			GCS  *gcsArtifact `json:"gcs"`
		} `json:"artifacts"`
	} `json:"outputs"`
}

type gcsArtifact struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
}

// podTemplate reads the template the controller gave the pod: the init
// container's ARGO_TEMPLATE, or the ConfigMap it was offloaded to.
func (e *Executor) podTemplate(ctx context.Context, pod *corev1.Pod) (*template, error) {
	for _, c := range pod.Spec.InitContainers {
		for _, env := range c.Env {
			if env.Name != "ARGO_TEMPLATE" {
				continue
			}
			text := env.Value
			if text == "offloaded" {
				cm, err := e.o.Client.CoreV1().ConfigMaps(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
				if err != nil {
					return nil, fmt.Errorf("offloaded template: %w", err)
				}
				text = cm.Data["ARGO_TEMPLATE"]
			}
			t := &template{}
			if err := json.Unmarshal([]byte(text), t); err != nil {
				return nil, fmt.Errorf("ARGO_TEMPLATE: %w", err)
			}
			return t, nil
		}
	}
	return nil, fmt.Errorf("no init container carries ARGO_TEMPLATE")
}

// archive is the wait container's SaveLogs and SaveArtifacts: each upload
// as the pod's Google identity, at the archive location's key (the log at
// <key>/main.log, an artifact without a location of its own at
// <key>/<name>.tgz). It returns the artifacts saved and the first refusal.
func (e *Executor) archive(ctx context.Context, pod *corev1.Pod) ([]map[string]any, error) {
	t, err := e.podTemplate(ctx, pod)
	if err != nil {
		return nil, err
	}
	loc := t.ArchiveLocation
	if loc == nil || loc.GCS == nil {
		return nil, fmt.Errorf("the template has no GCS archive location")
	}
	if strings.Contains(loc.GCS.Key, "{{") {
		return nil, fmt.Errorf("archive key %q still holds a variable the controller did not expand", loc.GCS.Key)
	}
	ksa := pod.Spec.ServiceAccountName
	sa, err := e.o.Client.CoreV1().ServiceAccounts(pod.Namespace).Get(ctx, ksa, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	principal, err := e.cloud.Identity(pod.Namespace, ksa, sa.Annotations["iam.gke.io/gcp-service-account"])
	if err != nil {
		return nil, err
	}
	type upload struct{ name, bucket, key string }
	var uploads []upload
	if loc.ArchiveLogs != nil && *loc.ArchiveLogs {
		uploads = append(uploads, upload{"main-logs", loc.GCS.Bucket, path.Join(loc.GCS.Key, "main.log")})
	}
	for _, a := range t.Outputs.Artifacts {
		u := upload{a.Name, loc.GCS.Bucket, path.Join(loc.GCS.Key, a.Name+".tgz")}
		if a.GCS != nil && a.GCS.Key != "" {
			u.key = a.GCS.Key
			if a.GCS.Bucket != "" {
				u.bucket = a.GCS.Bucket
			}
		}
		uploads = append(uploads, u)
	}
	var saved []map[string]any
	for _, u := range uploads {
		data := []byte(fmt.Sprintf("step %s of pod %s\n", u.name, pod.Name))
		if err := e.cloud.Put(principal, u.bucket, u.key, data); err != nil {
			return saved, fmt.Errorf("failed to put file: %w", err)
		}
		saved = append(saved, map[string]any{"name": u.name, "gcs": map[string]any{"bucket": u.bucket, "key": u.key}})
	}
	return saved, nil
}

// waitToken is the token Argo's wait container holds: the Secret volume
// mounted at the ServiceAccount token path of the wait container
// (spec.executor's account), read as the kubelet mounts it, else the pod's
// own ServiceAccount's, bound to the pod (what Kubernetes mounts there).
func (e *Executor) waitToken(ctx context.Context, pod *corev1.Pod) (string, error) {
	mounted := ""
	for _, c := range pod.Spec.Containers {
		for _, m := range c.VolumeMounts {
			if c.Name == "wait" && m.MountPath == "/var/run/secrets/kubernetes.io/serviceaccount" {
				mounted = m.Name
			}
		}
	}
	for _, v := range pod.Spec.Volumes {
		if v.Name == mounted && v.Secret != nil {
			secret, err := e.o.Client.CoreV1().Secrets(pod.Namespace).Get(ctx, v.Secret.SecretName, metav1.GetOptions{})
			if err != nil {
				return "", fmt.Errorf("the executor's token: %w", err)
			}
			if len(secret.Data["token"]) == 0 {
				return "", fmt.Errorf("the executor's token Secret %s holds no token", v.Secret.SecretName)
			}
			return string(secret.Data["token"]), nil
		}
	}
	return Token(ctx, e.o.Client, pod.Namespace, pod.Spec.ServiceAccountName, &authv1.BoundObjectReference{
		Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID,
	})
}

// report is the wait container's WorkflowTaskResult create and label patch,
// with the wait container's token.
func (e *Executor) report(ctx context.Context, pod *corev1.Pod, out Outcome, saved []map[string]any) error {
	// argoexec takes the node and the workflow from its own environment,
	// not from the pod's labels.
	env := map[string]string{}
	for _, c := range pod.Spec.Containers {
		if c.Name == "wait" {
			for _, v := range c.Env {
				env[v.Name] = v.Value
			}
		}
	}
	wf, nodeID, wfUID := env["ARGO_WORKFLOW_NAME"], env["ARGO_NODE_ID"], types.UID(env["ARGO_WORKFLOW_UID"])
	if wf == "" || nodeID == "" || wfUID == "" {
		return fmt.Errorf("the wait container lacks ARGO_WORKFLOW_NAME, ARGO_NODE_ID or ARGO_WORKFLOW_UID (%q, %q, %q)", wf, nodeID, wfUID)
	}
	token, err := e.waitToken(ctx, pod)
	if err != nil {
		return err
	}
	cfg := &rest.Config{Host: e.o.Server, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	results := client.Resource(TaskResults).Namespace(pod.Namespace)
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1",
		"kind":       "WorkflowTaskResult",
		"metadata": map[string]any{
			"name":   nodeID,
			"labels": map[string]any{labelWorkflow: wf, labelReportCompleted: "false"},
			"ownerReferences": []any{map[string]any{
				"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "name": wf, "uid": string(wfUID),
			}},
		},
		"outputs": map[string]any{"exitCode": strconv.Itoa(exitCode(out))},
	}}
	if len(saved) > 0 {
		artifacts := []any{}
		for _, a := range saved {
			artifacts = append(artifacts, a)
		}
		obj.Object["outputs"].(map[string]any)["artifacts"] = artifacts
	}
	if _, err := results.Create(ctx, obj, metav1.CreateOptions{}); err != nil {
		if !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create task result: %w", err)
		}
		patch, _ := json.Marshal(map[string]any{"outputs": obj.Object["outputs"]})
		if _, err := results.Patch(ctx, nodeID, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			return fmt.Errorf("patch task result: %w", err)
		}
	}
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": map[string]any{labelReportCompleted: "true"}}})
	if _, err := results.Patch(ctx, nodeID, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("patch task result label: %w", err)
	}
	return nil
}

func exitCode(out Outcome) int {
	if out.Preempted {
		return 143 // SIGTERM from the shutting-down kubelet
	}
	return out.ExitCode
}

// end sets the pod's final status as the kubelet would: the wait container
// exits 1 with the executor's error as its message when archiving failed.
func (e *Executor) end(ctx context.Context, pod *corev1.Pod, out Outcome, archiveErr error) error {
	pods := e.o.Client.CoreV1().Pods(pod.Namespace)
	for attempt := 0; ; attempt++ {
		p, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		now := metav1.NewTime(time.Now())
		terminated := func(c corev1.Container, code int, message string) corev1.ContainerStatus {
			reason := "Completed"
			if code != 0 {
				reason = "Error"
			}
			return corev1.ContainerStatus{
				Name: c.Name, Image: c.Image, Ready: false,
				State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
					ExitCode: int32(code), Reason: reason, Message: message, StartedAt: p.CreationTimestamp, FinishedAt: now,
				}},
			}
		}
		var statuses []corev1.ContainerStatus
		failed := out.Preempted || out.ExitCode != 0
		for _, c := range p.Spec.Containers {
			code, message := 0, ""
			switch {
			case out.Preempted:
				code = 143
			case c.Name == "main":
				code = out.ExitCode
			case c.Name == "wait" && archiveErr != nil:
				code, message, failed = 1, archiveErr.Error(), true
			}
			statuses = append(statuses, terminated(c, code, message))
		}
		var inits []corev1.ContainerStatus
		for _, c := range p.Spec.InitContainers {
			inits = append(inits, terminated(c, 0, ""))
		}
		p.Status.ContainerStatuses, p.Status.InitContainerStatuses = statuses, inits
		switch {
		case out.Preempted:
			p.Status.Phase, p.Status.Reason, p.Status.Message = corev1.PodFailed, "Terminated", NodeShutdownMessage
			p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{
				Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "TerminationByKubelet",
				Message: NodeShutdownMessage, LastTransitionTime: now,
			})
		case !failed:
			p.Status.Phase = corev1.PodSucceeded
		default:
			p.Status.Phase = corev1.PodFailed
		}
		for i := range p.Status.Conditions {
			if p.Status.Conditions[i].Type == corev1.PodReady || p.Status.Conditions[i].Type == corev1.ContainersReady {
				p.Status.Conditions[i].Status = corev1.ConditionFalse
			}
		}
		_, err = pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
		if err == nil || !apierrors.IsConflict(err) || attempt > 10 {
			return err
		}
	}
}

var exitRE = regexp.MustCompile(`\bexit (\d+)\b`)

// CommandExitCode is the exit code a step's main container command asks
// for with `exit N` (0 when it does not): how the tests write a failing step.
func CommandExitCode(pod *corev1.Pod) int {
	for _, c := range pod.Spec.Containers {
		if c.Name != "main" {
			continue
		}
		m := exitRE.FindStringSubmatch(strings.Join(append(append([]string{}, c.Command...), c.Args...), " "))
		if m != nil {
			n, _ := strconv.Atoi(m[1])
			return n
		}
	}
	return 0
}

// Attempt is the retry attempt of a pod's node: 0 for the first try
// (Argo names retried nodes "<step>(N)").
func Attempt(pod *corev1.Pod) int {
	name := pod.Annotations[annotationNodeName]
	if i := strings.LastIndex(name, "("); i >= 0 && strings.HasSuffix(name, ")") {
		if n, err := strconv.Atoi(name[i+1 : len(name)-1]); err == nil {
			return n
		}
	}
	return 0
}
