package huawei

import (
	"fmt"
	"testing"

	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/cloudsim/inventory"
)

const ownerSubnet = "4f1a0c3e-0000-4000-8000-00000000a002"

// TestNetworkACLRules runs allowNetworkACL and its inverse with the real VPC
// v3 SDK client against the twin's firewall API: a subnet without an ACL is
// left alone; with one, the rule goes to the front of the inbound rules
// (ahead of a deny rule that would shadow it), a retry reuses it, a rule
// already covering the CIDR is not duplicated, and the inverse removes only
// what was inserted.
func TestNetworkACLRules(t *testing.T) {
	e := setup(t)
	in := map[string]any{"subnetId": ownerSubnet, "cidrs": []any{"198.19.128.0/17"}, "port": 9011, "description": "topoflow test"}
	out := e.must(t, catalog.HuaweiVPCAllowNetworkACL, owner, "wf/acl", in)
	if out["aclId"] != "" || out["created"] != false {
		t.Fatalf("subnet without a network ACL: %v", out)
	}
	e.must(t, catalog.HuaweiVPCRemoveNetworkACLRules, owner, "wf/acl/undo", map[string]any{"aclId": out["aclId"], "ruleIds": out["ruleIds"]})

	acl, err := inventory.Create(e.sim.Inventory, &inventory.NetworkACL{
		Meta:    inventory.Meta{ID: "acl-1", Account: owner, Region: "cn-north-4", Status: "ACTIVE"},
		Subnets: []string{ownerSubnet},
		IngressRules: []inventory.ACLRule{
			{ID: "deny-all-tcp", Action: "deny", Protocol: "tcp", SourceIPAddress: "0.0.0.0/0"},
			{ID: "intra", Action: "allow", Protocol: "any", SourceIPAddress: "192.168.0.0/16"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	out = e.must(t, catalog.HuaweiVPCAllowNetworkACL, owner, "wf/acl", in)
	ids, _ := out["ruleIds"].([]any)
	if out["aclId"] != acl.ID || out["created"] != true || len(ids) != 1 {
		t.Fatalf("allow: %v", out)
	}
	got, _ := inventory.Get[*inventory.NetworkACL](e.sim.Inventory, acl.ID)
	if len(got.IngressRules) != 3 || got.IngressRules[0].ID != ids[0] || got.IngressRules[0].SourceIPAddress != "198.19.128.0/17" ||
		got.IngressRules[0].DestinationPort != "9011" || got.IngressRules[0].Action != "allow" {
		t.Fatalf("inbound rules after allow: %+v", got.IngressRules)
	}
	// A retry of the same step finds its rule and reports it as its own.
	again := e.must(t, catalog.HuaweiVPCAllowNetworkACL, owner, "wf/acl", in)
	if fmt.Sprint(again["ruleIds"]) != fmt.Sprint(ids) || again["created"] != true {
		t.Fatalf("retry: %v, want the same rule %v", again, ids)
	}
	// Another request finds the rule covering the CIDR and creates nothing.
	other := e.must(t, catalog.HuaweiVPCAllowNetworkACL, owner, "wf2/acl", in)
	if other["created"] != false || len(other["ruleIds"].([]any)) != 0 {
		t.Fatalf("second request: %v", other)
	}
	e.must(t, catalog.HuaweiVPCRemoveNetworkACLRules, owner, "wf/acl/undo", map[string]any{"aclId": acl.ID, "ruleIds": ids})
	got, _ = inventory.Get[*inventory.NetworkACL](e.sim.Inventory, acl.ID)
	if len(got.IngressRules) != 2 || got.IngressRules[0].ID != "deny-all-tcp" {
		t.Fatalf("inbound rules after the inverse: %+v", got.IngressRules)
	}
	// The inverse again: the rule is gone, nothing to do.
	if rm := e.must(t, catalog.HuaweiVPCRemoveNetworkACLRules, owner, "wf/acl/undo", map[string]any{"aclId": acl.ID, "ruleIds": ids}); len(rm["removed"].([]any)) != 0 {
		t.Fatalf("second inverse: %v", rm)
	}
	// Another account does not see the ACL.
	if out := e.must(t, catalog.HuaweiVPCAllowNetworkACL, client, "wf3/acl", in); out["aclId"] != "" {
		t.Fatalf("client account sees the owner's ACL: %v", out)
	}
}
