package localcluster

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// GKE's finalizers: the ingress controller holds an Ingress until its load
// balancer is deleted; the NEG controller holds the
// ServiceNetworkEndpointGroup object it makes for a Service with NEGs until
// the NEGs are deleted in Compute Engine.
const (
	IngressFinalizer = "networking.gke.io/ingress-finalizer-V2"
	NEGFinalizer     = "networking.gke.io/neg-finalizer"
	negAnnotation    = "cloud.google.com/neg"
)

var svcnegs = schema.GroupVersionResource{Group: "networking.gke.io", Version: "v1beta1", Resource: "servicenetworkendpointgroups"}

// Release is one Google Cloud resource GKE deleted during a teardown, and
// which stand-ins of the resources it needs still existed at that moment.
type Release struct {
	// What was released: "load balancer <ns>/<ingress>" or "NEGs <ns>/<service>".
	What string
	At   time.Time
	// Present are the stand-in ConfigMaps that existed when it was released.
	Present []string
}

// GKE plays the two GKE controllers whose finalizers decide whether a
// teardown can leave Google Cloud resources behind. The ingress controller
// puts its finalizer on every Ingress and, once the Ingress is being
// deleted, "deletes the load balancer" and lets it go; the NEG controller
// makes a ServiceNetworkEndpointGroup (owned by the Service, with its
// finalizer) for every Service annotated for NEGs and, once that object is
// being deleted, "deletes the NEGs" and lets it go. Each release records
// which stand-ins (static address, subnet, cluster) still existed: on GCP a
// load balancer outliving its address, or NEGs outliving the subnet or the
// cluster, block or leak the teardown.
type GKE struct {
	c       *Cluster
	dyn     dynamic.Interface
	standIn string
	delay   time.Duration

	mu       sync.Mutex
	releases []Release
}

// PlayGKE starts the controllers until ctx ends. standInNamespace holds the
// stand-ins whose presence each release records.
func (c *Cluster) PlayGKE(ctx context.Context, standInNamespace string) (*GKE, error) {
	dyn, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		return nil, err
	}
	g := &GKE{c: c, dyn: dyn, standIn: standInNamespace, delay: 300 * time.Millisecond}
	go g.loop(ctx)
	return g, nil
}

// Releases returns what was released so far, oldest first.
func (g *GKE) Releases() []Release {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Release(nil), g.releases...)
}

func (g *GKE) loop(ctx context.Context) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		// Errors are transient here (objects come and go under us); the next
		// tick retries.
		_ = g.ingresses(ctx)
		_ = g.services(ctx)
		_ = g.negs(ctx)
	}
}

func (g *GKE) ingresses(ctx context.Context) error {
	list, err := g.c.Client.NetworkingV1().Ingresses("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, ing := range list.Items {
		api := g.c.Client.NetworkingV1().Ingresses(ing.Namespace)
		var err error
		switch {
		case ing.DeletionTimestamp == nil && !slices.Contains(ing.Finalizers, IngressFinalizer):
			_, err = api.Patch(ctx, ing.Name, types.MergePatchType, finalizers(ing.ResourceVersion, append(ing.Finalizers, IngressFinalizer)), metav1.PatchOptions{})
		case ing.DeletionTimestamp != nil && slices.Contains(ing.Finalizers, IngressFinalizer):
			time.Sleep(g.delay) // tearing the load balancer down
			g.record(ctx, "load balancer "+ing.Namespace+"/"+ing.Name)
			_, err = api.Patch(ctx, ing.Name, types.MergePatchType, finalizers(ing.ResourceVersion, without(ing.Finalizers, IngressFinalizer)), metav1.PatchOptions{})
		}
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return err
		}
	}
	return nil
}

func (g *GKE) services(ctx context.Context) error {
	list, err := g.c.Client.CoreV1().Services("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, svc := range list.Items {
		if svc.DeletionTimestamp != nil || svc.Annotations[negAnnotation] == "" {
			continue
		}
		neg := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "networking.gke.io/v1beta1",
			"kind":       "ServiceNetworkEndpointGroup",
			"metadata": map[string]any{
				"name":       "k8s1-" + svc.Namespace + "-" + svc.Name,
				"namespace":  svc.Namespace,
				"finalizers": []any{NEGFinalizer},
				"ownerReferences": []any{map[string]any{
					"apiVersion": "v1", "kind": "Service", "name": svc.Name, "uid": string(svc.UID),
				}},
			},
			"spec": map[string]any{},
		}}
		_, err := g.dyn.Resource(svcnegs).Namespace(svc.Namespace).Create(ctx, neg, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	return nil
}

func (g *GKE) negs(ctx context.Context) error {
	list, err := g.dyn.Resource(svcnegs).Namespace("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, neg := range list.Items {
		if neg.GetDeletionTimestamp() == nil || !slices.Contains(neg.GetFinalizers(), NEGFinalizer) {
			continue
		}
		time.Sleep(g.delay) // deleting the NEGs in Compute Engine
		g.record(ctx, "NEGs "+neg.GetNamespace()+"/"+neg.GetName())
		_, err := g.dyn.Resource(svcnegs).Namespace(neg.GetNamespace()).Patch(ctx, neg.GetName(), types.MergePatchType,
			finalizers(neg.GetResourceVersion(), without(neg.GetFinalizers(), NEGFinalizer)), metav1.PatchOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return nil
}

func (g *GKE) record(ctx context.Context, what string) {
	var present []string
	if cms, err := g.c.Client.CoreV1().ConfigMaps(g.standIn).List(ctx, metav1.ListOptions{}); err == nil {
		for _, cm := range cms.Items {
			if cm.DeletionTimestamp == nil && cm.Name != "kube-root-ca.crt" {
				present = append(present, cm.Name)
			}
		}
	}
	sort.Strings(present)
	g.mu.Lock()
	g.releases = append(g.releases, Release{What: what, At: time.Now(), Present: present})
	g.mu.Unlock()
}

func (r Release) String() string {
	return fmt.Sprintf("%s released with stand-ins %v present", r.What, r.Present)
}

func without(list []string, s string) []string {
	var out []string
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

// finalizers is a merge patch that sets metadata.finalizers to list, if the
// object is still at resourceVersion (else the API server answers Conflict
// and the next tick reads it again).
func finalizers(resourceVersion string, list []string) []byte {
	if list == nil {
		list = []string{}
	}
	b, _ := json.Marshal(map[string]any{"metadata": map[string]any{"finalizers": list, "resourceVersion": resourceVersion}})
	return b
}
