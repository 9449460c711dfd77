package spec

import (
	"os"
	"strings"
	"testing"
)

// TestVPCEndpointAcceptanceAndAzureTenants checks the validation of
// vpcEndpoint.acceptance and of Azure VNet peering across tenants.
func TestVPCEndpointAcceptanceAndAzureTenants(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile("../specs/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	hw := read("huawei-vpcep-cross-account.yaml")
	az := read("azure-aks-hdinsight.yaml")
	tenants := map[string]string{"az-hdinsight": "tenant-a", "az-other": "tenant-b", "az-same": "tenant-a"}
	opts := Options{
		Accounts: func(n string) (string, bool) {
			if _, ok := tenants[n]; ok {
				return ProviderAzure, true
			}
			return registryOptions(t).Accounts(n)
		},
		AzureTenant: func(n string) string { return tenants[n] },
	}
	approvers := "  approval: {approvers: [a@example.com]}\n"
	tests := []struct {
		name, doc, wantErr, wantAcceptance string
	}{
		{"whitelist by default", hw, "", AcceptanceWhitelist},
		{"explicit provider", strings.Replace(hw, "    sourceCidr: 198.19.128.0/17\n", "    sourceCidr: 198.19.128.0/17\n    acceptance: provider\n", 1), "", AcceptanceProvider},
		{"legacy approval true", strings.Replace(hw, "    sourceCidr: 198.19.128.0/17\n", "    sourceCidr: 198.19.128.0/17\n    approval: true\n", 1), "", AcceptanceProvider},
		{"contradiction", strings.Replace(hw, "    sourceCidr: 198.19.128.0/17\n", "    sourceCidr: 198.19.128.0/17\n    acceptance: whitelist\n    approval: true\n", 1),
			"vpcEndpoint.approval: true contradicts vpcEndpoint.acceptance: whitelist", ""},
		{"unknown acceptance", strings.Replace(hw, "    sourceCidr: 198.19.128.0/17\n", "    sourceCidr: 198.19.128.0/17\n    acceptance: console\n", 1), "console", ""},
		{"azure one tenant", strings.Replace(az, "  client:\n    account: az-hdinsight\n", "  client:\n    account: az-same\n", 1) + approvers, "", ""},
		{"azure across tenants", strings.Replace(az, "  client:\n    account: az-hdinsight\n", "  client:\n    account: az-other\n", 1) + approvers,
			`:18:14: account "az-other" is in Azure tenant tenant-b but the Kafka's account "az-hdinsight" in tenant tenant-a: VNet peering across tenants needs auxiliary-tenant tokens`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			docs, err := Parse("spec.yaml", []byte(tc.doc), opts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("invalid: %v", err)
			}
			if tc.wantAcceptance != "" {
				if got := docs[0].KafkaAccess.VPCEndpointAcceptance(); got != tc.wantAcceptance {
					t.Fatalf("acceptance %s, want %s", got, tc.wantAcceptance)
				}
			}
		})
	}
}
