package tests

import (
	"encoding/base64"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Stand-in values a real provider would compute; tests compare against these
// constants (never against values read back from the program).
const (
	ClusterEndpoint = "34.85.10.20"
	ClusterCA       = "-----BEGIN CERTIFICATE-----\nMIIfake\n-----END CERTIFICATE-----\n"
	StaticIP        = "34.120.5.6"
	// ProjectNumber is the admin project's number (Workload Identity pools
	// are named by number).
	ProjectNumber = "123456789012"
	// DashboardID is the id GCP generates for a dashboard.
	DashboardID = "8e6f3c2a-51d4-4b8e-9a77-0c1d2e3f4a5b"
)

// computedOutputs returns what the provider computes for a resource of typ,
// derived from its inputs the way GCP derives them.
func computedOutputs(typ, name string, in resource.PropertyMap) map[string]resource.PropertyValue {
	str := func(k string) string {
		if v, ok := in[resource.PropertyKey(k)]; ok && v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	s := resource.NewStringProperty
	project := str("project")
	switch typ {
	case "gcp:container/cluster:Cluster":
		return map[string]resource.PropertyValue{
			"endpoint": s(ClusterEndpoint),
			"masterAuth": resource.NewObjectProperty(resource.PropertyMap{
				"clusterCaCertificate": s(base64.StdEncoding.EncodeToString([]byte(ClusterCA))),
			}),
			"selfLink": s(fmt.Sprintf("https://container.googleapis.com/v1/projects/%s/locations/%s/clusters/%s", project, str("location"), str("name"))),
		}
	case "gcp:sql/databaseInstance:DatabaseInstance":
		return map[string]resource.PropertyValue{
			"connectionName":   s(fmt.Sprintf("%s:%s:%s", project, str("region"), str("name"))),
			"privateIpAddress": s("10.40.0.3"),
			"selfLink":         s(fmt.Sprintf("https://sqladmin.googleapis.com/sql/v1beta4/projects/%s/instances/%s", project, str("name"))),
		}
	case "gcp:serviceaccount/account:Account":
		email := fmt.Sprintf("%s@%s.iam.gserviceaccount.com", str("accountId"), project)
		return map[string]resource.PropertyValue{
			"email":    s(email),
			"member":   s("serviceAccount:" + email),
			"name":     s(fmt.Sprintf("projects/%s/serviceAccounts/%s", project, email)),
			"uniqueId": s("1234567890"),
		}
	case "gcp:compute/globalAddress:GlobalAddress":
		if str("addressType") == "INTERNAL" {
			return nil // the address is an input
		}
		return map[string]resource.PropertyValue{"address": s(StaticIP)}
	case "gcp:compute/network:Network":
		return map[string]resource.PropertyValue{
			"selfLink": s(fmt.Sprintf("https://www.googleapis.com/compute/v1/projects/%s/global/networks/%s", project, str("name"))),
		}
	case "gcp:compute/subnetwork:Subnetwork":
		return map[string]resource.PropertyValue{
			"selfLink": s(fmt.Sprintf("https://www.googleapis.com/compute/v1/projects/%s/regions/%s/subnetworks/%s", project, str("region"), str("name"))),
		}
	case "gcp:iam/workloadIdentityPool:WorkloadIdentityPool":
		return map[string]resource.PropertyValue{
			"name": s(fmt.Sprintf("projects/%s/locations/global/workloadIdentityPools/%s", ProjectNumber, str("workloadIdentityPoolId"))),
		}
	case "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider":
		return map[string]resource.PropertyValue{
			"name": s(fmt.Sprintf("projects/%s/locations/global/workloadIdentityPools/%s/providers/%s", ProjectNumber, str("workloadIdentityPoolId"), str("workloadIdentityPoolProviderId"))),
		}
	case "gcp:storage/bucket:Bucket":
		return map[string]resource.PropertyValue{
			"url":      s("gs://" + str("name")),
			"selfLink": s("https://www.googleapis.com/storage/v1/b/" + str("name")),
		}
	}
	return nil
}
