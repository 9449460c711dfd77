package catalog

import "testing"

// TestGrantsNameInputs: every grant names an input of its action, and only
// actions that change things grant access.
func TestGrantsNameInputs(t *testing.T) {
	granting := 0
	for _, name := range Names() {
		a, _ := Lookup(name)
		inputs := map[string]bool{}
		for _, p := range a.Inputs {
			inputs[p.Name] = true
		}
		for _, g := range a.Grants {
			granting++
			if !inputs[g.Input] {
				t.Errorf("%s: grant input %q is not an input of the action", name, g.Input)
			}
			if g.UnlessInput != "" && !inputs[g.UnlessInput] {
				t.Errorf("%s: grant exemption input %q is not an input of the action", name, g.UnlessInput)
			}
			if g.Kind != GrantCIDR && g.Kind != GrantPrincipal {
				t.Errorf("%s: grant kind %q", name, g.Kind)
			}
			if !a.Mutates() {
				t.Errorf("%s: a read action cannot grant access", name)
			}
		}
	}
	// Security-group ingress on Huawei and AWS, the VPCEP whitelist, PrivateLink permissions, the MSK cluster policy.
	if granting < 5 {
		t.Errorf("only %d grants in the catalog", granting)
	}
	for _, name := range []string{HuaweiVPCAddSecurityGroupRule, HuaweiVPCEPAddWhitelist, AWSEC2AuthorizeIngress, AWSEC2AddServicePermission, AWSMSKPutClusterPolicy} {
		if a, _ := Lookup(name); len(a.Grants) == 0 {
			t.Errorf("%s opens access but names no grant input", name)
		}
	}
}
