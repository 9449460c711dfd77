package catalog

import (
	"strings"
	"testing"
)

func TestHuaweiCatalog(t *testing.T) {
	names := []string{
		HuaweiDMSShowInstance, HuaweiDMSUpdateCrossVpcIps, HuaweiVPCEPCreateEndpointService, HuaweiVPCEPGetEndpointService,
		HuaweiVPCEPDeleteEndpointService, HuaweiVPCEPAddWhitelist, HuaweiVPCEPRemoveWhitelist, HuaweiVPCEPCreateEndpoint,
		HuaweiVPCEPGetEndpoint, HuaweiVPCEPDeleteEndpoint, HuaweiVPCEPAcceptConnection, HuaweiVPCEPRejectConnection,
		HuaweiVPCAddSecurityGroupRule, HuaweiVPCDeleteSecurityGroupRule, HuaweiVPCCreatePeering, HuaweiVPCAcceptPeering,
		HuaweiVPCGetPeering, HuaweiVPCDeletePeering, HuaweiVPCAddRoute, HuaweiVPCDeleteRoute,
		HuaweiVPCAllowNetworkACL, HuaweiVPCRemoveNetworkACLRules,
	}
	for _, n := range names {
		a, ok := Lookup(n)
		if !ok {
			t.Fatalf("%s not registered", n)
		}
		if a.Provider != "huawei" || !strings.HasPrefix(a.Name, "huawei.") {
			t.Errorf("%s: provider %q", n, a.Provider)
		}
		if a.Read && (a.Wait == nil || a.Inverse != nil) {
			t.Errorf("%s: a read action needs a wait contract and no inverse", n)
		}
		if inv := a.Inverse; inv != nil {
			ia, ok := Lookup(inv.Action)
			if !ok {
				t.Errorf("%s: inverse %s not registered", n, inv.Action)
				continue
			}
			for _, p := range ia.Inputs {
				if _, ok := inv.Inputs[p.Name]; p.Required && !ok {
					t.Errorf("%s: inverse %s lacks required input %s", n, inv.Action, p.Name)
				}
			}
			for k, v := range inv.Inputs {
				if !v.IsExpr() || !(strings.HasPrefix(v.Expr, "input.") || strings.HasPrefix(v.Expr, "output.")) {
					t.Errorf("%s: inverse input %s = %+v", n, k, v)
				}
				if strings.HasPrefix(v.Expr, "output.") && !hwContains(a.Outputs, strings.TrimPrefix(v.Expr, "output.")) {
					t.Errorf("%s: inverse uses undeclared output %s", n, v.Expr)
				}
			}
			if inv.WaitAction != "" {
				if wa, ok := Lookup(inv.WaitAction); !ok || !wa.Read || inv.Wait == nil || !inv.Wait.Gone {
					t.Errorf("%s: inverse wait %s must be a registered read with a gone contract", n, inv.WaitAction)
				}
			}
		}
	}
}

func hwContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
