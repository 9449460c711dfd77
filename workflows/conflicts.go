package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/topoflow/topoflow/plan"
)

// Claims: what a request takes in the cloud that another request could also
// need. A claim names a resource (a Kafka instance's advertised map, a VNet
// peering, an Ambari config type, a route, a private hosted zone's names in a
// VPC) and how it may be shared:
//
//   - ClaimExclusive: one live request at a time. A second one is refused at
//     plan/apply (and by the workflow before its first step) naming the
//     request that holds it.
//   - ClaimShared: several requests may use it; each records itself as a user
//     in the cloud (tags on the resource) and only the last user removes it.
//   - ClaimSame: requests that write the same change coexist; a different
//     change conflicts (an Ambari config type).
//   - ClaimNames: a DNS namespace in one VPC; two claims conflict when their
//     names are equal or one is inside the other (the more specific zone
//     would shadow the other request's names: cloudsim/netmodel Resolve).
//
// Claims are derived from the plan's steps (an action and its inputs), so a
// plan compiled before this code has them too.

// Claim modes.
const (
	ClaimExclusive = "exclusive"
	ClaimShared    = "shared"
	ClaimNames     = "names"
	// ClaimSame: requests that put the same thing there coexist (Holder
	// equal); different things conflict.
	ClaimSame = "same"
)

// Claim is one resource a request takes.
type Claim struct {
	// Resource identifies the resource, e.g. "huawei:dms:<instance>:advertised-ips".
	Resource string `json:"resource"`
	// Holder is what this request puts there (a zone's domain for ClaimNames).
	Holder string `json:"holder,omitempty"`
	// Mode is ClaimExclusive, ClaimShared or ClaimNames.
	Mode string `json:"mode"`
	// Step is the plan step that takes it.
	Step string `json:"step"`
	// Why is the cloud's rule behind the mode (shown by plan and in refusals).
	Why string `json:"why"`
}

// claimRule derives a claim from one step's resolved inputs and lock keys.
type claimRule func(in map[string]any, locks []string) (Claim, bool)

func str(in map[string]any, k string) string {
	s, _ := in[k].(string)
	return s
}

// claimRules maps an action to its claim. Sources of each rule are in its Why
// and the comment above it.
var claimRules = map[string]claimRule{
	// advertised_ip_contents maps each listener IP to ONE advertised IP
	// (huaweicloud-sdk-go-v3 services/kafka/v2/model/model_update_instance_cross_vpc_ip_req.go).
	"huawei.dms.updateCrossVpcIps": func(in map[string]any, _ []string) (Claim, bool) {
		id := str(in, "instanceId")
		return Claim{Resource: "huawei:dms:" + id + ":advertised-ips", Mode: ClaimExclusive,
			Why: "a DMS instance advertises one cross-VPC address per broker (advertised_ip_contents maps each listener IP to one " +
				"advertised IP): a second client network on this instance cannot coexist with the first; use another instance or " +
				"roll the other request back"}, id != ""
	},
	// Two requests writing the same change to one config type coexist: the
	// second writes nothing (catalog ambari.putConfig: an unchanged config
	// writes nothing); a different change to the same type would be
	// overwritten by the other (Ambari keeps one desired version per type).
	"ambari.putConfig": func(in map[string]any, locks []string) (Claim, bool) {
		typ := str(in, "type")
		if len(locks) == 0 || typ == "" {
			return Claim{}, false
		}
		change, _ := json.Marshal([]any{in["properties"], in["appendContent"], in["restoreTag"]})
		sum := sha256.Sum256(change)
		return Claim{Resource: locks[0] + ":config:" + typ, Holder: hex.EncodeToString(sum[:8]), Mode: ClaimSame,
			Why: "Ambari keeps one desired version per config type: requests writing the same change share it, a different " +
				"change would overwrite the other request's"}, true
	},
	// A VNet peering has no tags to record its users (armnetwork
	// VirtualNetworkPeering carries no Tags), so either request's rollback
	// would delete the other's path.
	"azure.network.createPeering": func(in map[string]any, _ []string) (Claim, bool) {
		rg, vnet, rrg, rvnet := str(in, "resourceGroup"), str(in, "vnet"), str(in, "remoteResourceGroup"), str(in, "remoteVnet")
		if rg == "" || vnet == "" || rrg == "" || rvnet == "" {
			return Claim{}, false
		}
		return Claim{Resource: "azure:peering:" + rg + "/" + vnet + "->" + rrg + "/" + rvnet, Holder: str(in, "name"), Mode: ClaimExclusive,
			Why: "a VNet peering carries no tags to record its users, so one request's rollback would delete the other's peering"}, true
	},
	// A route table has one route per destination (CreateRoute:
	// RouteAlreadyExists); requests routing it to the same target share the
	// route, their users recorded as route-table tags (activities/aws/owners.go).
	"aws.ec2.createRoute": func(in map[string]any, _ []string) (Claim, bool) {
		rtb, dest := str(in, "routeTableId"), str(in, "destination")
		if rtb == "" || dest == "" {
			return Claim{}, false
		}
		return Claim{Resource: "aws:route:" + rtb + ":" + dest, Holder: str(in, "peeringId") + str(in, "transitGatewayId"), Mode: ClaimSame,
			Why: "a route table holds one route per destination: requests routing it to the same target share it (each recorded " +
				"as a user in a tag on the route table, the last one deletes it), another target cannot coexist"}, true
	},
	// Two private zones of one name cannot share a VPC (ConflictingDomainExists,
	// aws-sdk-go-v2 service/route53 api_op_CreateHostedZone.go); a zone
	// inside or above another one shadows part of its names.
	"aws.route53.createHostedZone": func(in map[string]any, _ []string) (Claim, bool) {
		vpc, name := str(in, "vpcId"), strings.TrimSuffix(strings.ToLower(str(in, "name")), ".")
		if vpc == "" || name == "" {
			return Claim{}, false
		}
		return Claim{Resource: "aws:route53:vpc:" + vpc, Holder: name, Mode: ClaimNames,
			Why: "a VPC resolves one private hosted zone per name and the most specific zone answers for its subtree: two " +
				"requests' zones for the same or nested names cannot both resolve"}, true
	},
	// Security-group rules record their users as tags on the rule
	// (aws-sdk-go-v2 service/ec2/types ResourceTypeSecurityGroupRule; CreateTags/DeleteTags).
	"aws.ec2.authorizeSecurityGroupIngress": func(in map[string]any, _ []string) (Claim, bool) {
		g := str(in, "groupId")
		from := str(in, "cidr") + str(in, "sourceGroup")
		if g == "" || from == "" {
			return Claim{}, false
		}
		return Claim{Resource: fmt.Sprintf("aws:sg:%s:%v/%v:%s", g, in["protocol"], in["port"], from), Mode: ClaimShared,
			Why: "each request records itself as a tag on the rule; the last one removes it"}, true
	},
}

// StepClaim derives the claim of one step from its resolved inputs and lock
// keys; ok is false when the step claims nothing (or an input is unknown).
func StepClaim(s *plan.Step, in map[string]any, locks []string) (Claim, bool) {
	rule := claimRules[s.Action]
	if rule == nil {
		return Claim{}, false
	}
	c, ok := rule(in, locks)
	c.Step = s.ID
	return c, ok
}

// PlanClaims lists the claims of p that are known before it runs: steps
// (not fan-outs) whose claim needs only literal inputs and lock keys.
func PlanClaims(p *plan.Plan) []Claim {
	var out []Claim
	for i := range p.Steps {
		s := &p.Steps[i]
		if s.ForEach != nil || claimRules[s.Action] == nil {
			continue
		}
		in := map[string]any{}
		for k, v := range s.Inputs {
			if !v.IsExpr() {
				in[k] = v.Literal
			}
		}
		var locks []string
		for _, l := range s.Locks {
			if k, ok := literalKey(l); ok {
				locks = append(locks, k)
			}
		}
		if c, ok := StepClaim(s, in, locks); ok {
			out = append(out, c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Resource < out[j].Resource })
	return out
}

// literalKey evaluates a lock expression that refers to nothing.
func literalKey(code string) (string, bool) {
	refs, err := plan.ParseRefs(code)
	if err != nil || len(refs.Roots) > 0 {
		return "", false
	}
	v, err := plan.Eval(code, map[string]any{})
	if err != nil || v == nil {
		return "", false
	}
	return fmt.Sprint(v), true
}

// Clash reports whether claims a and b (of two different requests) cannot
// both hold.
func Clash(a, b Claim) bool {
	if a.Mode == ClaimNames || b.Mode == ClaimNames {
		if a.Mode != b.Mode || a.Resource != b.Resource {
			return false
		}
		return nested(a.Holder, b.Holder) || nested(b.Holder, a.Holder)
	}
	if a.Resource != b.Resource {
		return false
	}
	if a.Mode == ClaimSame && b.Mode == ClaimSame {
		return a.Holder != b.Holder
	}
	return a.Mode == ClaimExclusive || b.Mode == ClaimExclusive
}

// nested reports whether domain a equals b or lies inside it.
func nested(a, b string) bool { return a == b || strings.HasSuffix(a, "."+b) }

// Holder is another live request as visibility and its start event show it.
type Holder struct {
	WorkflowID  string  `json:"workflowId"`
	RunID       string  `json:"runId"`
	RequestedBy string  `json:"requestedBy,omitempty"`
	Phase       string  `json:"phase,omitempty"`
	Claims      []Claim `json:"claims,omitempty"`
	// StartedUnixNano orders requests started together: the earlier one keeps its claims.
	StartedUnixNano int64 `json:"startedUnixNano"`
}

// Conflict is one claim of a request that another live request holds.
type Conflict struct {
	Claim  Claim  `json:"claim"`
	Other  Claim  `json:"other"`
	Holder Holder `json:"holder"`
}

// Error is the refusal text, naming the other request and who applied it.
func (c Conflict) Error() string {
	by := c.Holder.RequestedBy
	if by == "" {
		by = "an unknown identity"
	}
	what := c.Claim.Resource
	if c.Claim.Mode == ClaimNames {
		what = fmt.Sprintf("names %s in %s (the other request's zone is %s)", c.Claim.Holder, strings.TrimPrefix(c.Claim.Resource, "aws:route53:"), c.Other.Holder)
	}
	return fmt.Sprintf("step %s needs %s, which request %s (applied by %s, %s) holds: %s",
		c.Claim.Step, what, c.Holder.WorkflowID, by, c.Holder.Phase, c.Claim.Why)
}

// FindConflicts compares mine with the claims of the other live requests.
// Requests started after startedUnixNano (when non-zero) are ignored: of two
// requests started together the earlier keeps its claims.
func FindConflicts(mine []Claim, self string, startedUnixNano int64, others []Holder) []Conflict {
	var out []Conflict
	for _, h := range others {
		if h.WorkflowID == self {
			continue
		}
		if startedUnixNano != 0 && (h.StartedUnixNano > startedUnixNano ||
			(h.StartedUnixNano == startedUnixNano && h.WorkflowID > self)) && h.Phase != PhaseDone {
			continue
		}
		for _, c := range mine {
			for _, o := range h.Claims {
				if Clash(c, o) {
					out = append(out, Conflict{Claim: c, Other: o, Holder: h})
				}
			}
		}
	}
	return out
}

// HasClaim reports whether steps of action claim a resource.
func HasClaim(action string) bool { return claimRules[action] != nil }
