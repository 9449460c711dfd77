package catalog

import "github.com/topoflow/topoflow/plan"

// Huawei network ACLs (VPC v3 firewalls): the contracts and descriptors of
// huawei.vpc.allowNetworkACL and huawei.vpc.removeNetworkACLRules.

// HuaweiAllowNetworkACLIn are the inputs of huawei.vpc.allowNetworkACL.
type HuaweiAllowNetworkACLIn struct {
	SubnetID    string   `json:"subnetId" required:"true" doc:"subnet whose network ACL gets the rules"`
	CIDRs       []string `json:"cidrs" required:"true" doc:"source CIDRs to allow"`
	Port        int      `json:"port" required:"true" doc:"destination TCP port"`
	Description string   `json:"description" doc:"free text"`
}

// HuaweiAllowNetworkACLOut is the result of huawei.vpc.allowNetworkACL.
type HuaweiAllowNetworkACLOut struct {
	ACLID   string   `json:"aclId" doc:"the subnet's network ACL (empty: the subnet has none)"`
	RuleIDs []string `json:"ruleIds" doc:"the rules Topoflow inserted (only these are removed by the inverse)"`
	Created bool     `json:"created" doc:"whether any rule was inserted"`
}

// HuaweiRemoveNetworkACLRulesIn are the inputs of huawei.vpc.removeNetworkACLRules.
type HuaweiRemoveNetworkACLRulesIn struct {
	ACLID   string   `json:"aclId" doc:"network ACL (firewall) ID; empty: nothing to do"`
	RuleIDs []string `json:"ruleIds" doc:"rule IDs to remove"`
}

// HuaweiRemoveNetworkACLRulesOut is the result of huawei.vpc.removeNetworkACLRules.
type HuaweiRemoveNetworkACLRulesOut struct {
	ACLID   string   `json:"aclId" doc:"network ACL ID"`
	Removed []string `json:"removed" doc:"the rules removed"`
}

func init() {
	Register(Typed[HuaweiAllowNetworkACLIn, HuaweiAllowNetworkACLOut](Action{
		Name: HuaweiVPCAllowNetworkACL, Provider: "huawei",
		Title: "Allow a port in the subnet's network ACL",
		Doc: "If the subnet has a network ACL (VPC v3 firewall), inserts TCP allow rules for the CIDRs at the front of its inbound rules " +
			"(runbook 001: allow 198.19.128.0/17 there too); CIDRs an allow rule already covers are skipped; no ACL: nothing to do.",
		Inverse: &Inverse{
			Action: HuaweiVPCRemoveNetworkACLRules, Title: "Remove the network ACL rules",
			Inputs: map[string]plan.Value{"aclId": plan.Expr("output.aclId"), "ruleIds": plan.Expr("output.ruleIds")},
		},
	}))
	Register(Typed[HuaweiRemoveNetworkACLRulesIn, HuaweiRemoveNetworkACLRulesOut](Action{
		Name: HuaweiVPCRemoveNetworkACLRules, Provider: "huawei",
		Title: "Remove network ACL rules",
		Doc:   "Removes the inbound rules Topoflow inserted; rules or an ACL already gone count as done; aclId \"\" is a no-op.",
	}))
}
