package localcluster

import (
	"context"
	"fmt"
	"time"

	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiext "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// standIn is a GKE-only kind the program uses; a plain API server does not
// know it, so the tests register a schemaless CRD of the same group, version
// and names.
type standIn struct{ group, version, kind, plural string }

// GKEKinds are the GKE kinds the Argo component creates.
var GKEKinds = []standIn{
	{"cloud.google.com", "v1", "BackendConfig", "backendconfigs"},
	{"networking.gke.io", "v1beta1", "FrontendConfig", "frontendconfigs"},
	{"networking.gke.io", "v1", "ManagedCertificate", "managedcertificates"},
	{"monitoring.googleapis.com", "v1", "PodMonitoring", "podmonitorings"},
	// Made by GKE's NEG controller for a Service with NEGs (see gke.go).
	{"networking.gke.io", "v1beta1", "ServiceNetworkEndpointGroup", "servicenetworkendpointgroups"},
}

// InstallGKEStandIns registers the stand-in CRDs and waits until each is
// Established.
func (c *Cluster) InstallGKEStandIns(ctx context.Context) error {
	client, err := apiext.NewForConfig(c.Config)
	if err != nil {
		return err
	}
	crds := client.ApiextensionsV1().CustomResourceDefinitions()
	preserve := true
	for _, k := range GKEKinds {
		crd := &apiextv1.CustomResourceDefinition{
			ObjectMeta: metav1.ObjectMeta{Name: k.plural + "." + k.group},
			Spec: apiextv1.CustomResourceDefinitionSpec{
				Group: k.group,
				Names: apiextv1.CustomResourceDefinitionNames{Kind: k.kind, ListKind: k.kind + "List", Plural: k.plural},
				Scope: apiextv1.NamespaceScoped,
				Versions: []apiextv1.CustomResourceDefinitionVersion{{
					Name: k.version, Served: true, Storage: true,
					Schema: &apiextv1.CustomResourceValidation{OpenAPIV3Schema: &apiextv1.JSONSchemaProps{
						Type: "object", XPreserveUnknownFields: &preserve,
					}},
				}},
			},
		}
		if _, err := crds.Create(ctx, crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("stand-in CRD %s: %w", crd.Name, err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, k := range GKEKinds {
		for {
			crd, err := crds.Get(ctx, k.plural+"."+k.group, metav1.GetOptions{})
			if err == nil && Established(crd) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("stand-in CRD %s.%s not Established", k.plural, k.group)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}

// Established reports whether a CRD serves its kind.
func Established(crd *apiextv1.CustomResourceDefinition) bool {
	for _, cond := range crd.Status.Conditions {
		if cond.Type == apiextv1.Established && cond.Status == apiextv1.ConditionTrue {
			return true
		}
	}
	return false
}
