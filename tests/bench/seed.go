package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// applySeed edits the deployed controller to the seed's settings before it
// starts: its ConfigMap's throughput keys, and its Deployment's flags and
// requeue time (the seed set none: Argo's defaults).
func applySeed(ctx context.Context, client *kubernetes.Clientset, ns string) error {
	cms := client.CoreV1().ConfigMaps(ns)
	cm, err := cms.Get(ctx, "workflow-controller-configmap", metav1.GetOptions{})
	if err != nil {
		return err
	}
	for _, key := range []string{"parallelism", "namespaceParallelism", "resourceRateLimit"} {
		if _, ok := cm.Data[key]; !ok {
			return fmt.Errorf("seed: the controller's ConfigMap has no %s key to edit", key)
		}
	}
	cm.Data["parallelism"] = strconv.Itoa(seed.Parallelism)
	cm.Data["namespaceParallelism"] = strconv.Itoa(seed.NamespaceParallelism)
	cm.Data["resourceRateLimit"] = fmt.Sprintf("limit: %g\nburst: %d\n", seed.PodsPerSecond, seed.PodBurst)
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		return err
	}
	deps := client.AppsV1().Deployments(ns)
	dep, err := deps.Get(ctx, "workflow-controller", metav1.GetOptions{})
	if err != nil {
		return err
	}
	c := &dep.Spec.Template.Spec.Containers[0]
	flags := map[string]string{
		"--workflow-workers": strconv.Itoa(seed.WorkflowWorkers),
		"--qps":              strconv.FormatFloat(seed.APIQPS, 'f', -1, 64),
		"--burst":            strconv.Itoa(seed.APIBurst),
	}
	for i, arg := range c.Args {
		name, _, _ := strings.Cut(arg, "=")
		if v, ok := flags[name]; ok {
			c.Args[i] = name + "=" + v
			delete(flags, name)
		}
	}
	if len(flags) > 0 {
		return fmt.Errorf("seed: the controller has no flags %v to edit", flags)
	}
	before := len(c.Env)
	c.Env = slices.DeleteFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "DEFAULT_REQUEUE_TIME" })
	if len(c.Env) == before {
		return fmt.Errorf("seed: the controller sets no DEFAULT_REQUEUE_TIME to remove")
	}
	_, err = deps.Update(ctx, dep, metav1.UpdateOptions{})
	return err
}
