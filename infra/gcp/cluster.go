package gcp

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/container"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/projects"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/serviceaccount"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/argo-platform/argo-platform/infra/gcp/google"
)

// AutopilotChurn are the cluster fields Autopilot manages itself. Left
// watched, they show a diff on every run and the provider plans a
// replacement of the whole cluster (pulumi-gcp issues #1170 and #2247).
var AutopilotChurn = []string{
	"nodeConfig",
	"nodePoolDefaults",
	"nodePoolAutoConfig",
	"dnsConfig",
	"verticalPodAutoscaling",
	"initialNodeCount",
}

// ClusterArgs configures Cluster.
type ClusterArgs struct {
	// APIs are the enabled project APIs; every child waits for them (a
	// component's own dependencies do not reach its children).
	APIs []pulumi.Resource
	// Project and Region place the regional Autopilot cluster. Required.
	Project pulumi.StringInput
	Region  pulumi.StringInput
	// NodeAccountID is the id of the service account the nodes run as,
	// created here with NodeRoles only. Required.
	NodeAccountID string
	// Network and Subnet are the VPC and subnet to run in. Required.
	Network pulumi.StringInput
	Subnet  pulumi.StringInput
	// Cluster is the settings' cluster section: the release channel, the
	// only ranges that may reach the public endpoint, the maintenance
	// window and GKE's guard against destroy. Required.
	google.Cluster
	// ControlPlaneCIDR is the /28 for the control plane's private endpoint
	// (the settings' network section). Required.
	ControlPlaneCIDR string
	// Protect adds Pulumi's protect.
	Protect bool
}

// Cluster is a private GKE Autopilot cluster.
type Cluster struct {
	pulumi.ResourceState

	// Name is the cluster's name.
	Name pulumi.StringOutput
	// Kubeconfig authenticates with gke-gcloud-auth-plugin (no token in it);
	// it is stable across runs so Kubernetes objects are not replaced. A
	// secret: it names the endpoint and the CA.
	Kubeconfig pulumi.StringOutput
	// Resource is the GKE cluster itself: what the Workload Identity
	// bindings wait for (its pool), and what in-cluster objects are
	// DeletedWith.
	Resource *container.Cluster
}

// NodeRoles are all the nodes' own account gets: what a node needs to send
// its logs and metrics and report itself, as Google's predefined role for
// node service accounts bundles them (as terraform-google-modules grants).
// Images here are public, so no registry reader role. Workloads never act
// as this account: they use Workload Identity.
var NodeRoles = []string{"roles/container.defaultNodeServiceAccount"}

// nodeScopes are the nodes' OAuth scopes: cloud-platform, so IAM roles
// alone decide what the account may do.
var nodeScopes = []string{"https://www.googleapis.com/auth/cloud-platform"}

// NewCluster creates the Autopilot cluster and its nodes' account.
func NewCluster(ctx *pulumi.Context, name string, args *ClusterArgs, opts ...pulumi.ResourceOption) (*Cluster, error) {
	c := &Cluster{}
	if err := ctx.RegisterComponentResource(typePrefix+"Cluster", name, c, opts...); err != nil {
		return nil, err
	}
	// Autopilot nodes otherwise run as the project's default Compute Engine
	// account, which is often Editor: a compromised node would be too.
	nodes, err := serviceaccount.NewAccount(ctx, name+"-nodes", &serviceaccount.AccountArgs{
		Project:     args.Project,
		AccountId:   pulumi.String(args.NodeAccountID),
		DisplayName: pulumi.String("GKE nodes of " + name),
	}, under(c, args.APIs))
	if err != nil {
		return nil, fmt.Errorf("cluster: node service account: %w", err)
	}
	var nodeGrants []pulumi.Resource
	for _, role := range NodeRoles {
		m, err := projects.NewIAMMember(ctx, name+"-nodes-"+google.RoleKey(role), &projects.IAMMemberArgs{
			Project: args.Project,
			Role:    pulumi.String(role),
			Member:  pulumi.Sprintf("serviceAccount:%s", nodes.Email),
		}, under(c, args.APIs))
		if err != nil {
			return nil, fmt.Errorf("cluster: node role %s: %w", role, err)
		}
		nodeGrants = append(nodeGrants, m)
	}

	blocks := container.ClusterMasterAuthorizedNetworksConfigCidrBlockArray{}
	for _, n := range args.AuthorizedNetworks {
		blocks = append(blocks, container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs{
			DisplayName: pulumi.String(n.Name),
			CidrBlock:   pulumi.String(n.CIDR),
		})
	}
	cluster, err := container.NewCluster(ctx, name, &container.ClusterArgs{
		Project:         args.Project,
		Location:        args.Region,
		Name:            pulumi.String(name),
		EnableAutopilot: pulumi.Bool(true),
		Network:         args.Network,
		Subnetwork:      args.Subnet,
		IpAllocationPolicy: container.ClusterIpAllocationPolicyArgs{
			ClusterSecondaryRangeName:  pulumi.String(PodsRange),
			ServicesSecondaryRangeName: pulumi.String(ServicesRange),
		},
		ReleaseChannel: container.ClusterReleaseChannelArgs{Channel: pulumi.String(args.ReleaseChannel)},
		// Nodes get no public IPs; the control plane keeps a public endpoint
		// that only the authorized networks below may reach.
		PrivateClusterConfig: container.ClusterPrivateClusterConfigArgs{
			EnablePrivateNodes:    pulumi.Bool(true),
			EnablePrivateEndpoint: pulumi.Bool(false),
			MasterIpv4CidrBlock:   pulumi.String(args.ControlPlaneCIDR),
		},
		MasterAuthorizedNetworksConfig: container.ClusterMasterAuthorizedNetworksConfigArgs{
			CidrBlocks: blocks,
			// Not every Google Cloud IP: only the ranges listed.
			GcpPublicCidrsAccessEnabled: pulumi.Bool(false),
		},
		MaintenancePolicy: container.ClusterMaintenancePolicyArgs{
			// Weekends only; GKE needs 48 hours of window in any 32 days.
			RecurringWindow: container.ClusterMaintenancePolicyRecurringWindowArgs{
				StartTime:  pulumi.String("2025-01-04T" + args.MaintenanceStartUTC + ":00Z"),
				EndTime:    pulumi.String("2025-01-05T" + args.MaintenanceStartUTC + ":00Z"),
				Recurrence: pulumi.String("FREQ=WEEKLY;BYDAY=SA"),
			},
		},
		// Autopilot's node service account. GKE applies a change to node
		// pools it creates afterwards; existing nodes keep theirs until
		// they are replaced (docs/operations.md).
		ClusterAutoscaling: container.ClusterClusterAutoscalingArgs{
			AutoProvisioningDefaults: container.ClusterClusterAutoscalingAutoProvisioningDefaultsArgs{
				ServiceAccount: nodes.Email,
				OauthScopes:    pulumi.ToStringArray(nodeScopes),
			},
		},
		DeletionProtection: pulumi.Bool(args.DeletionProtection),
		// Nodes start only once their account may write logs and metrics.
	}, under(c, args.APIs), protectIf(args.Protect), pulumi.IgnoreChanges(AutopilotChurn), pulumi.DependsOn(nodeGrants))
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}

	kubeconfig := pulumi.All(cluster.Name, cluster.Endpoint, cluster.MasterAuth.ClusterCaCertificate().Elem()).
		ApplyT(func(v []any) (string, error) {
			return Kubeconfig(v[0].(string), v[1].(string), v[2].(string))
		}).(pulumi.StringOutput)

	c.Name = cluster.Name
	c.Kubeconfig = pulumi.ToSecret(kubeconfig).(pulumi.StringOutput)
	c.Resource = cluster
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"name":     cluster.Name,
		"endpoint": cluster.Endpoint,
	})
}

// Kubeconfig renders a kubeconfig for one GKE cluster that authenticates with
// gke-gcloud-auth-plugin: no token is stored, and the text depends only on the
// cluster's name, endpoint and CA, so it does not change between runs.
func Kubeconfig(name, endpoint, caData string) (string, error) {
	type named struct {
		Name    string `json:"name"`
		Cluster any    `json:"cluster,omitempty"`
		Context any    `json:"context,omitempty"`
		User    any    `json:"user,omitempty"`
	}
	cfg := map[string]any{
		"apiVersion":      "v1",
		"kind":            "Config",
		"current-context": name,
		"clusters": []named{{Name: name, Cluster: map[string]string{
			"server":                     "https://" + endpoint,
			"certificate-authority-data": caData,
		}}},
		"contexts": []named{{Name: name, Context: map[string]string{"cluster": name, "user": name}}},
		"users": []named{{Name: name, User: map[string]any{"exec": map[string]any{
			"apiVersion":         "client.authentication.k8s.io/v1beta1",
			"command":            "gke-gcloud-auth-plugin",
			"provideClusterInfo": true,
			"installHint":        "Install gke-gcloud-auth-plugin: gcloud components install gke-gcloud-auth-plugin",
		}}}},
	}
	out, err := json.MarshalIndent(cfg, "", "  ")
	return string(out), err
}
