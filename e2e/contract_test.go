package e2e

import (
	"strings"
	"testing"
)

// TestInlineSpecsKeepTheContracts compiles the inline specs of the e2e tests
// (the spec builders at the arguments their tests call them with) and checks
// every compiled plan against the catalog's contracts, as internal/contract
// does for specs/*.yaml. compile, the funnel every e2e test compiles
// through, checks each plan too; this test needs no stack and runs in well
// under a second.
func TestInlineSpecsKeepTheContracts(t *testing.T) {
	approval := "  approval: {approvers: [kafka-owner@example.com], deadline: 1h}\n"
	docs := map[string]string{
		"hwSpec same account":  hwSpec("c-hw-same", "hw-kafka-owner", hwOwnerVPC, hwOwnerSub, false),
		"hwSpec cross account": hwSpec("c-hw-cross", "hw-client-b", hwClientVPC, hwClientSub, true),
		"hwSpec park":          hwSpec("c-hw-park", "hw-client-b", hwClientVPC, hwClientSub, true) + "  onFailure: park\n",
		"crossAccountSpec":     crossAccountSpec(t, "c-hw-restart"),
		"faultSpec":            faultSpec("c-hw-fault"),
		"huawei peering": repoSpec(t, "huawei-vpc-peering.yaml", "c-hw-peering",
			"  approval:\n", "  timeouts: {pollInterval: 300ms, wait: 2m}\n  approval:\n"),
		"otc same account": repoSpec(t, "otc-vpcep.yaml", "c-otc-same",
			"    topic: billing-verify\n", "    topic: billing-verify\n  timeouts: {pollInterval: 300ms, wait: 2m}\n"),
		"azSpec":                 azSpec("c-az", "rg-aks", "aks-vnet", "10.31.0.0/16"),
		"azSpec second client":   azSpec("c-az-two", "rg-aks2", "aks2-vnet", "10.33.0.0/16") + "  approval: {approvers: [kafka-owner@example.com]}\n",
		"awsSpec sameVpc":        awsSpec("c-aws-same", "{account: aws-msk, cidr: 10.20.1.0/24}", "sameVpc", "  verify: {clientNetwork: "+mskVPC+"}\n"),
		"awsSpec vpcPeering":     awsSpec("c-aws-cross-vpc", "{account: aws-msk, vpcId: "+clientAVPC+", cidr: 10.22.0.0/16, routeTableIds: [rtb-0a5c000000clia01]}", "vpcPeering", ""),
		"awsSpec cross region":   awsSpec("c-aws-cross-region", "{account: aws-msk, region: eu-central-1, vpcId: "+clientFRVPC+", cidr: 10.40.0.0/16, routeTableIds: [rtb-0c1e0000000fra01]}", "vpcPeering", ""),
		"awsSpec cross account":  awsSpec("c-aws-cross-account", "{account: aws-client-b, region: eu-west-1, vpcId: "+clientBVPC+", cidr: 10.21.0.0/16, routeTableIds: [rtb-0a5c000000clib01]}", "vpcPeering", approval),
		"awsSpec sg reference":   awsSpec("c-aws-sgref", "{account: aws-client-b, region: eu-west-1, vpcId: "+clientBVPC+", cidr: 10.21.0.0/16, routeTableIds: [rtb-0a5c000000clib01], securityGroupId: 222222222222/sg-0a5c00000defb001}", "vpcPeering", approval),
		"awsSpec transitGateway": awsSpec("c-aws-onprem", "{account: aws-transit, onPremCidr: 172.16.0.0/12}", "transitGateway", "  transitGateway: {transitGatewayId: tgw-0a5c00000000tr001, routeTableId: tgw-rtb-0a5c0000tr001}\n"+approval+"  verify: {clientNetwork: "+onPremNet+"}\n"),
	}
	for name, doc := range docs {
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			p := compile(t, doc) // compile fails the test on a contract disagreement
			if len(p.Steps) == 0 {
				t.Fatal("the compiled plan has no steps")
			}
		})
	}
}
