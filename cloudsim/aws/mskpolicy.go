package aws

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// The MSK cluster policy (see msk.go): put, get, delete, and the check of
// what it allows a caller of another account.

// policyAllows evaluates the Allow statements of a cluster policy for an account and action.
func policyAllows(policy, accountID, action string) bool {
	if policy == "" {
		return false
	}
	var doc struct {
		Statement []struct {
			Effect    string          `json:"Effect"`
			Principal json.RawMessage `json:"Principal"`
			Action    json.RawMessage `json:"Action"`
		} `json:"Statement"`
	}
	if json.Unmarshal([]byte(policy), &doc) != nil {
		return false
	}
	strs := func(raw json.RawMessage) []string {
		var one string
		if json.Unmarshal(raw, &one) == nil {
			return []string{one}
		}
		var many []string
		_ = json.Unmarshal(raw, &many)
		return many
	}
	for _, st := range doc.Statement {
		if st.Effect != "Allow" {
			continue
		}
		var pr struct {
			AWS json.RawMessage `json:"AWS"`
		}
		okP := false
		if json.Unmarshal(st.Principal, &pr) == nil {
			for _, p := range strs(pr.AWS) {
				if p == "*" || p == accountID || p == "arn:aws:iam::"+accountID+":root" {
					okP = true
				}
			}
		}
		okA := false
		for _, x := range strs(st.Action) {
			// IAM action wildcards: "kafka:*", "kafka-cluster:*", "*"
			// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html).
			if x == action || x == "*" || strings.HasSuffix(x, "*") && strings.HasPrefix(action, strings.TrimSuffix(x, "*")) {
				okA = true
			}
		}
		if okP && okA {
			return true
		}
	}
	return false
}

func (a *api) putPolicy(c *caller, r *http.Request, body []byte) (int, any, *mskError) {
	var in struct {
		Policy         string `json:"policy"`
		CurrentVersion string `json:"currentVersion"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.Policy == "" {
		return 0, nil, badRequest("policy is required")
	}
	if !json.Valid([]byte(in.Policy)) {
		return 0, nil, badRequest("The policy is not valid JSON")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	k, e := a.cluster(c, r.PathValue("clusterArn"), "")
	if e != nil {
		return 0, nil, e
	}
	if have := k.Attrs["policyVersion"]; have != "" && in.CurrentVersion != "" && in.CurrentVersion != have {
		return 0, nil, badRequest("The policy version %s does not match the current version %s", in.CurrentVersion, have)
	}
	version := strings.ToUpper(randHex(7))
	if _, err := inventory.Update(a.inv, k.ID, func(x *inventory.KafkaInstance) error {
		if x.Attrs == nil {
			x.Attrs = map[string]string{}
		}
		x.Attrs["policy"], x.Attrs["policyVersion"] = in.Policy, version
		return nil
	}); err != nil {
		return 0, nil, mskErr(http.StatusInternalServerError, "InternalServerErrorException", "%v", err)
	}
	return http.StatusOK, map[string]string{"currentVersion": version}, nil
}

func (a *api) getPolicy(c *caller, r *http.Request, _ []byte) (int, any, *mskError) {
	k, e := a.cluster(c, r.PathValue("clusterArn"), "")
	if e != nil {
		return 0, nil, e
	}
	if k.Attrs["policy"] == "" {
		return 0, nil, notFound("The cluster %s has no policy", k.ID)
	}
	return http.StatusOK, map[string]string{"currentVersion": k.Attrs["policyVersion"], "policy": k.Attrs["policy"]}, nil
}

func (a *api) deletePolicy(c *caller, r *http.Request, _ []byte) (int, any, *mskError) {
	a.mu.Lock()
	defer a.mu.Unlock()
	k, e := a.cluster(c, r.PathValue("clusterArn"), "")
	if e != nil {
		return 0, nil, e
	}
	_, _ = inventory.Update(a.inv, k.ID, func(x *inventory.KafkaInstance) error {
		delete(x.Attrs, "policy")
		delete(x.Attrs, "policyVersion")
		return nil
	})
	return http.StatusOK, map[string]any{}, nil
}
