package gcp

import (
	"fmt"
	"net/netip"

	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/compute"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/dns"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/servicenetworking"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/argo-platform/argo-platform/infra/gcp/google"
)

// Names of the subnet's secondary ranges, used by the cluster.
const (
	PodsRange     = "pods"
	ServicesRange = "services"
)

// NetworkArgs configures Network.
type NetworkArgs struct {
	// APIs are the enabled project APIs; every child waits for them (a
	// component's own dependencies do not reach its children).
	APIs []pulumi.Resource
	// Project and Region place the network. Required.
	Project pulumi.StringInput
	Region  pulumi.StringInput
	// Network is the settings' network section: the subnet's primary and
	// secondary ranges and the range reserved for Cloud SQL's private IP
	// (its ControlPlaneCIDR is the cluster's). Required.
	google.Network
}

// Network is a VPC with one subnet, private services access for Cloud SQL,
// Cloud NAT so private Autopilot nodes can pull Argo's public images, and a
// private DNS zone that sends every *.googleapis.com name to
// private.googleapis.com, so pods reach Google's APIs at one known range
// (their egress policies allow that range, not the internet).
type Network struct {
	pulumi.ResourceState

	// ID and SelfLink identify the VPC.
	ID       pulumi.IDOutput
	SelfLink pulumi.StringOutput
	// SubnetID is the cluster's subnet.
	SubnetID pulumi.IDOutput
	// PrivateServices is the peering Cloud SQL's private IP needs; depend on
	// it before creating the instance.
	PrivateServices pulumi.Resource
	// GoogleAPIs is the range the VPC's private zone answers Google's APIs
	// with (google.PrivateGoogleAPIs): where pods reach them.
	GoogleAPIs string
	// GoogleAPIsDNS are the zone's records: egress policies that allow only
	// GoogleAPIs wait for them.
	GoogleAPIsDNS []pulumi.Resource
}

// NewNetwork creates the VPC, subnet, private services access, NAT and the
// Google APIs' private zone.
func NewNetwork(ctx *pulumi.Context, name string, args *NetworkArgs, opts ...pulumi.ResourceOption) (*Network, error) {
	n := &Network{}
	if err := ctx.RegisterComponentResource(typePrefix+"Network", name, n, opts...); err != nil {
		return nil, err
	}
	child := under(n, args.APIs)

	vpc, err := compute.NewNetwork(ctx, name, &compute.NetworkArgs{
		Project:               args.Project,
		Name:                  pulumi.String(name),
		AutoCreateSubnetworks: pulumi.Bool(false),
		RoutingMode:           pulumi.String("REGIONAL"),
	}, child)
	if err != nil {
		return nil, fmt.Errorf("network: vpc: %w", err)
	}
	subnet, err := compute.NewSubnetwork(ctx, name, &compute.SubnetworkArgs{
		Project:     args.Project,
		Region:      args.Region,
		Name:        pulumi.String(name),
		Network:     vpc.ID(),
		IpCidrRange: pulumi.String(args.SubnetCIDR),
		SecondaryIpRanges: compute.SubnetworkSecondaryIpRangeArray{
			compute.SubnetworkSecondaryIpRangeArgs{RangeName: pulumi.String(PodsRange), IpCidrRange: pulumi.String(args.PodsCIDR)},
			compute.SubnetworkSecondaryIpRangeArgs{RangeName: pulumi.String(ServicesRange), IpCidrRange: pulumi.String(args.ServicesCIDR)},
		},
		// Nodes have no public IPs; Google APIs (GCS, Cloud SQL Admin) are
		// reached privately.
		PrivateIpGoogleAccess: pulumi.Bool(true),
	}, child)
	if err != nil {
		return nil, fmt.Errorf("network: subnet: %w", err)
	}

	psa, err := netip.ParsePrefix(args.PrivateServicesCIDR)
	if err != nil {
		return nil, fmt.Errorf("network: private services range %q: %w", args.PrivateServicesCIDR, err)
	}
	reserved, err := compute.NewGlobalAddress(ctx, name+"-private-services", &compute.GlobalAddressArgs{
		Project:      args.Project,
		Name:         pulumi.String(name + "-private-services"),
		Purpose:      pulumi.String("VPC_PEERING"),
		AddressType:  pulumi.String("INTERNAL"),
		Address:      pulumi.String(psa.Addr().String()),
		PrefixLength: pulumi.Int(psa.Bits()),
		Network:      vpc.ID(),
	}, child)
	if err != nil {
		return nil, fmt.Errorf("network: private services range: %w", err)
	}
	peering, err := servicenetworking.NewConnection(ctx, name+"-private-services", &servicenetworking.ConnectionArgs{
		Network:               vpc.ID(),
		Service:               pulumi.String("servicenetworking.googleapis.com"),
		ReservedPeeringRanges: pulumi.StringArray{reserved.Name},
		// Deleting the peering fails while Cloud SQL's producer network
		// still uses it (it lingers after the instance); abandoning it lets
		// `destroy` finish, and the VPC's deletion removes it.
		DeletionPolicy: pulumi.String("ABANDON"),
		// After a destroy, the service producer may still remember a
		// connection for this network's name; a second `up` then gets
		// "Cannot modify allocated ranges in CreateConnection", and this
		// updates the ranges of that connection instead of failing.
		UpdateOnCreationFail: pulumi.Bool(true),
	}, child)
	if err != nil {
		return nil, fmt.Errorf("network: private services access: %w", err)
	}

	router, err := compute.NewRouter(ctx, name, &compute.RouterArgs{
		Project: args.Project,
		Region:  args.Region,
		Name:    pulumi.String(name),
		Network: vpc.ID(),
	}, child)
	if err != nil {
		return nil, fmt.Errorf("network: router: %w", err)
	}
	// Private nodes have no route to the internet without NAT, and Argo's
	// images live on public registries.
	if _, err := compute.NewRouterNat(ctx, name, &compute.RouterNatArgs{
		Project:                       args.Project,
		Region:                        args.Region,
		Name:                          pulumi.String(name),
		Router:                        router.Name,
		NatIpAllocateOption:           pulumi.String("AUTO_ONLY"),
		SourceSubnetworkIpRangesToNat: pulumi.String("ALL_SUBNETWORKS_ALL_IP_RANGES"),
		LogConfig: compute.RouterNatLogConfigArgs{
			Enable: pulumi.Bool(true),
			Filter: pulumi.String("ERRORS_ONLY"),
		},
	}, child); err != nil {
		return nil, fmt.Errorf("network: nat: %w", err)
	}

	if n.GoogleAPIsDNS, err = privateGoogleAPIs(ctx, name, args.Project, vpc, child); err != nil {
		return nil, err
	}

	n.ID, n.SelfLink, n.SubnetID, n.PrivateServices = vpc.ID(), vpc.SelfLink, subnet.ID(), peering
	n.GoogleAPIs = google.PrivateGoogleAPIs
	return n, ctx.RegisterResourceOutputs(n, pulumi.Map{
		"network": vpc.SelfLink,
		"subnet":  subnet.SelfLink,
	})
}

// privateGoogleAPIs is a private zone for googleapis.com, seen only from the
// VPC: private.googleapis.com at its four addresses and every other name
// under googleapis.com pointing at it (Private Google Access's DNS
// configuration). Pods' Google API calls then go to google.PrivateGoogleAPIs,
// the one range Argo's egress policies allow for them; the subnet's Private
// Google Access routes it without the internet.
func privateGoogleAPIs(ctx *pulumi.Context, name string, project pulumi.StringInput, vpc *compute.Network, child pulumi.ResourceOption) ([]pulumi.Resource, error) {
	zone, err := dns.NewManagedZone(ctx, name+"-googleapis", &dns.ManagedZoneArgs{
		Project:     project,
		Name:        pulumi.String(name + "-googleapis"),
		DnsName:     pulumi.String("googleapis.com."),
		Description: pulumi.String("Google APIs through private.googleapis.com for the cluster's pods"),
		Visibility:  pulumi.String("private"),
		PrivateVisibilityConfig: dns.ManagedZonePrivateVisibilityConfigArgs{
			Networks: dns.ManagedZonePrivateVisibilityConfigNetworkArray{
				dns.ManagedZonePrivateVisibilityConfigNetworkArgs{NetworkUrl: vpc.ID()},
			},
		},
	}, child)
	if err != nil {
		return nil, fmt.Errorf("network: googleapis zone: %w", err)
	}
	var records []pulumi.Resource
	for _, r := range []struct {
		key, name, kind string
		data            []string
	}{
		{"private", google.PrivateGoogleAPIsHost, "A", google.PrivateGoogleAPIsAddresses()},
		{"wildcard", "*.googleapis.com.", "CNAME", []string{google.PrivateGoogleAPIsHost}},
	} {
		rs, err := dns.NewRecordSet(ctx, name+"-googleapis-"+r.key, &dns.RecordSetArgs{
			Project:     project,
			ManagedZone: zone.Name,
			Name:        pulumi.String(r.name),
			Type:        pulumi.String(r.kind),
			Ttl:         pulumi.Int(300),
			Rrdatas:     pulumi.ToStringArray(r.data),
		}, child)
		if err != nil {
			return nil, fmt.Errorf("network: googleapis record %s: %w", r.name, err)
		}
		records = append(records, rs)
	}
	return records, nil
}
