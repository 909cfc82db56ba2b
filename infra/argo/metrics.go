package argo

import (
	"fmt"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// monitoring scrapes the controller's metrics with GKE Managed Prometheus.
func (b *builder) monitoring() error {
	_, err := apiextensions.NewCustomResource(b.ctx, b.child("podmonitoring"), &apiextensions.CustomResourceArgs{
		ApiVersion: pulumi.String("monitoring.googleapis.com/v1"),
		Kind:       pulumi.String("PodMonitoring"),
		Metadata:   b.meta(controllerName, controllerName),
		OtherFields: kubernetes.UntypedArgs{"spec": map[string]any{
			"selector":  map[string]any{"matchLabels": map[string]string{"app.kubernetes.io/name": controllerName}},
			"endpoints": []map[string]any{{"port": "metrics", "path": "/metrics", "interval": "30s"}},
		}},
	}, b.inNamespace()...)
	if err != nil {
		return fmt.Errorf("argo: pod monitoring: %w", err)
	}
	return nil
}
