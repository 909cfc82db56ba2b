package google

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCheckTier(t *testing.T) {
	for _, tc := range []struct {
		tier string
		ok   bool
	}{
		{"db-custom-1-3840", true},
		{"db-custom-2-7680", true},
		{"db-custom-4-26624", true}, // 6.5 GiB per vCPU
		{"db-custom-4-26880", false},
		{"db-custom-3-7680", false}, // odd vCPU count above 1
		{"db-custom-2-3841", false}, // not a multiple of 256
		{"db-custom-1-1024", false}, // under 3840
		{"db-custom-98-400000", false},
		{"db-f1-micro", true},
		{"db-g1-small", true},
		{"db-n1-standard-1", false},
		{"", false},
	} {
		assert.Equal(t, tc.ok, CheckTier(tc.tier) == "", tc.tier)
	}
}

func TestCheckDomain(t *testing.T) {
	for _, tc := range []struct {
		domain string
		ok     bool
	}{
		{"argo.staging.acme-data.dev", true},
		{"argo.acme-data.dev", true},
		{"a-b.example.co", true},
		{"", false},
		{"localhost", false},
		{"https://argo.acme-data.dev", false},
		{"argo.acme-data.dev/ui", false},
		{"argo.acme-data.dev:443", false},
		{"argo.acme-data.dev.", false},
		{"Argo.acme-data.dev", false},
		{"-argo.acme-data.dev", false},
		{"argo..acme-data.dev", false},
		{strings.Repeat("a", 55) + ".acme-data.dev", false}, // over 63 characters
	} {
		assert.Equal(t, tc.ok, CheckDomain(tc.domain) == "", tc.domain)
	}
}

func TestCheckMember(t *testing.T) {
	for _, tc := range []struct {
		member string
		ok     bool
	}{
		{"user:alice@acme-data.dev", true},
		{"group:data@acme-data.dev", true},
		{"serviceAccount:ci@p.iam.gserviceaccount.com", true},
		{"domain:acme-data.dev", true},
		{"allUsers", false},
		{"allAuthenticatedUsers", false},
		{"alice@acme-data.dev", false},
		{"user:alice", false},
		{"domain:https://acme-data.dev", false},
	} {
		assert.Equal(t, tc.ok, CheckMember(tc.member) == "", tc.member)
	}
}
