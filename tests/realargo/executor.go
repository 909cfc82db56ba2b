package realargo

import (
	"context"
	"encoding/json"
	"fmt"
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
)

// Argo's names for what a workflow pod carries (workflow/common).
const (
	labelWorkflow        = "workflows.argoproj.io/workflow"
	labelReportCompleted = "workflows.argoproj.io/report-outputs-completed"
	annotationNodeID     = "workflows.argoproj.io/node-id"
	annotationNodeName   = "workflows.argoproj.io/node-name"
)

var taskResults = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "workflowtaskresults"}

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
// container ends: with the pod's own ServiceAccount token (bound to the
// pod), it creates the node's WorkflowTaskResult and then merge-patches its
// report-outputs-completed label to "true", as Argo's executor does; then it
// ends the pod with the outcome decide gives, as the kubelet would.
type Executor struct {
	o      Options
	ns     string
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
}

// PlayExecutor starts playing the executor in ns until ctx ends.
func PlayExecutor(ctx context.Context, o Options, ns string, decide func(*corev1.Pod) Outcome) *Executor {
	e := &Executor{o: o, ns: ns, decide: decide, seen: map[types.UID]bool{}, played: map[string][]Played{}}
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
		pods, err := e.o.Client.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{LabelSelector: labelWorkflow})
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			for i := range pods.Items {
				p := &pods.Items[i]
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
	if err := e.report(ctx, pod, out); err != nil {
		e.fail(fmt.Errorf("pod %s: wait container: %w", pod.Name, err))
	}
	if err := e.end(ctx, pod, out); err != nil && ctx.Err() == nil {
		e.fail(fmt.Errorf("pod %s: kubelet: %w", pod.Name, err))
		return
	}
	e.mu.Lock()
	wf := pod.Labels[labelWorkflow]
	e.played[wf] = append(e.played[wf], Played{
		Pod: pod.Name, ServiceAccount: pod.Spec.ServiceAccountName, NodeName: pod.Annotations[annotationNodeName], Outcome: out,
	})
	e.mu.Unlock()
}

// report is the wait container's WorkflowTaskResult create and label patch,
// as the pod's ServiceAccount.
func (e *Executor) report(ctx context.Context, pod *corev1.Pod, out Outcome) error {
	wf := pod.Labels[labelWorkflow]
	nodeID := pod.Annotations[annotationNodeID]
	var wfUID types.UID
	for _, ref := range pod.OwnerReferences {
		if ref.Kind == "Workflow" {
			wfUID = ref.UID
		}
	}
	if wf == "" || nodeID == "" || wfUID == "" {
		return fmt.Errorf("not a workflow pod (workflow %q, node %q, owner %q)", wf, nodeID, wfUID)
	}
	token, err := Token(ctx, e.o.Client, e.ns, pod.Spec.ServiceAccountName, &authv1.BoundObjectReference{
		Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID,
	})
	if err != nil {
		return err
	}
	cfg := &rest.Config{Host: e.o.Server, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	results := client.Resource(taskResults).Namespace(e.ns)
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

// end sets the pod's final status as the kubelet would.
func (e *Executor) end(ctx context.Context, pod *corev1.Pod, out Outcome) error {
	pods := e.o.Client.CoreV1().Pods(e.ns)
	for attempt := 0; ; attempt++ {
		p, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		now := metav1.NewTime(time.Now())
		terminated := func(c corev1.Container, code int) corev1.ContainerStatus {
			reason := "Completed"
			if code != 0 {
				reason = "Error"
			}
			return corev1.ContainerStatus{
				Name: c.Name, Image: c.Image, Ready: false,
				State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
					ExitCode: int32(code), Reason: reason, StartedAt: p.CreationTimestamp, FinishedAt: now,
				}},
			}
		}
		var statuses []corev1.ContainerStatus
		for _, c := range p.Spec.Containers {
			code := 0
			switch {
			case out.Preempted:
				code = 143
			case c.Name == "main":
				code = out.ExitCode
			}
			statuses = append(statuses, terminated(c, code))
		}
		var inits []corev1.ContainerStatus
		for _, c := range p.Spec.InitContainers {
			inits = append(inits, terminated(c, 0))
		}
		p.Status.ContainerStatuses, p.Status.InitContainerStatuses = statuses, inits
		switch {
		case out.Preempted:
			p.Status.Phase, p.Status.Reason, p.Status.Message = corev1.PodFailed, "Terminated", NodeShutdownMessage
			p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{
				Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "TerminationByKubelet",
				Message: NodeShutdownMessage, LastTransitionTime: now,
			})
		case out.ExitCode == 0:
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
