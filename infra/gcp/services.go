package gcp

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/projects"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// RequiredServices are the APIs the platform uses.
var RequiredServices = []string{
	"compute.googleapis.com",              // network, NAT, static IP, load balancer
	"dns.googleapis.com",                  // the Google APIs' private zone (and the UI's record)
	"container.googleapis.com",            // GKE Autopilot
	"sqladmin.googleapis.com",             // Cloud SQL and the Auth Proxy
	"servicenetworking.googleapis.com",    // private services access for Cloud SQL
	"iap.googleapis.com",                  // Identity-Aware Proxy
	"iam.googleapis.com",                  // service accounts
	"iamcredentials.googleapis.com",       // Workload Identity token exchange
	"cloudresourcemanager.googleapis.com", // project IAM
	"storage.googleapis.com",              // log bucket
	"logging.googleapis.com",              // step logs, the UI's links
	"monitoring.googleapis.com",           // Managed Prometheus
}

// ServicesArgs configures Services.
type ServicesArgs struct {
	// Project is the project to enable the APIs in. Required.
	Project pulumi.StringInput
	// Extra are APIs needed only by some stacks (secretmanager.googleapis.com
	// when an identity is granted a secret). Optional.
	Extra []string
}

// Services enables the project's APIs. They are never disabled on destroy:
// other workloads in the project may depend on them.
type Services struct {
	pulumi.ResourceState

	// Enabled are the enablement resources; depend on them before using an API.
	Enabled []pulumi.Resource
}

// NewServices enables every required API.
func NewServices(ctx *pulumi.Context, name string, args *ServicesArgs, opts ...pulumi.ResourceOption) (*Services, error) {
	s := &Services{}
	if err := ctx.RegisterComponentResource(typePrefix+"Services", name, s, opts...); err != nil {
		return nil, err
	}
	for _, api := range append(append([]string{}, RequiredServices...), args.Extra...) {
		short := strings.TrimSuffix(api, ".googleapis.com")
		svc, err := projects.NewService(ctx, name+"-"+short, &projects.ServiceArgs{
			Project: args.Project,
			Service: pulumi.String(api),
			// Leave APIs on at destroy: turning one off breaks whatever else
			// in the project uses it.
			DisableOnDestroy:         pulumi.Bool(false),
			DisableDependentServices: pulumi.Bool(false),
		}, pulumi.Parent(s))
		if err != nil {
			return nil, fmt.Errorf("services: %s: %w", api, err)
		}
		s.Enabled = append(s.Enabled, svc)
	}
	return s, ctx.RegisterResourceOutputs(s, pulumi.Map{})
}
