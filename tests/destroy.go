package tests

// OwnDeletion are the Kubernetes kinds that hold Google Cloud resources
// outside the cluster (load balancer, network endpoint groups): `pulumi
// destroy` deletes them itself and waits for GKE's finalizers, instead of
// letting them go with the cluster. Every other Kubernetes object of the
// program is DeletedWith the cluster.
var OwnDeletion = map[string]bool{
	"kubernetes:core/v1:Namespace":            true,
	"kubernetes:core/v1:Service":              true,
	"kubernetes:networking.k8s.io/v1:Ingress": true,
}
