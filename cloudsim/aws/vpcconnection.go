package aws

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/topoflow/topoflow/cloudsim/faults"
	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// MSK VPC connections (see msk.go): created by the client account, read,
// deleted, listed by both sides, rejected by the cluster owner.

func splitList(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

func vpcConnectionJSON(ep *inventory.Endpoint, subnetsKey string) map[string]any {
	tags := ep.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	return map[string]any{"vpcConnectionArn": ep.ID, "targetClusterArn": ep.Attrs["targetClusterArn"], "state": ep.Status,
		"authentication": ep.Attrs["authentication"], "vpcId": ep.VPCID, subnetsKey: splitList(ep.Attrs["subnets"]),
		"securityGroups": splitList(ep.Attrs["groups"]), "creationTime": ts(ep.CreatedAt), "tags": tags}
}

func (a *api) createVpcConnection(c *caller, r *http.Request, body []byte) (int, any, *mskError) {
	var in struct {
		TargetClusterArn string            `json:"targetClusterArn"`
		Authentication   string            `json:"authentication"`
		VpcID            string            `json:"vpcId"`
		ClientSubnets    []string          `json:"clientSubnets"`
		SecurityGroups   []string          `json:"securityGroups"`
		Tags             map[string]string `json:"tags"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return 0, nil, badRequest("malformed request: %v", err)
	}
	if in.TargetClusterArn == "" || in.Authentication == "" || in.VpcID == "" || len(in.ClientSubnets) == 0 || len(in.SecurityGroups) == 0 {
		return 0, nil, badRequest("targetClusterArn, authentication, vpcId, clientSubnets and securityGroups are required")
	}
	k, e := a.cluster(c, in.TargetClusterArn, "kafka:CreateVpcConnection")
	if e != nil {
		return 0, nil, e
	}
	conn := clusterConnectivity(k)
	on, known := map[string]bool{"SASL_IAM": conn.IAM, "SASL_SCRAM": conn.SCRAM, "TLS": conn.TLS}[in.Authentication]
	if !known {
		return 0, nil, badRequest("authentication must be SASL_IAM, SASL_SCRAM or TLS")
	}
	if !on {
		return 0, nil, badRequest("Multi-VPC connectivity with %s is not turned on for cluster %s", in.Authentication, k.ID)
	}
	v, err := inventory.Get[*inventory.VPC](a.inv, in.VpcID)
	if err != nil || v.Account != c.acct.ID || v.Region != c.region {
		return 0, nil, badRequest("The VPC %s does not exist in this account and region", in.VpcID)
	}
	for _, s := range in.ClientSubnets {
		sn, err := inventory.Get[*inventory.Subnet](a.inv, s)
		if err != nil || sn.VPCID != v.ID {
			return 0, nil, badRequest("The subnet %s does not belong to %s", s, v.ID)
		}
	}
	// No CIDR check: multi-VPC private connectivity "allows overlapping IPs across
	// connecting VPCs" (https://docs.aws.amazon.com/msk/latest/developerguide/aws-access-mult-vpc.html).
	arn := fmt.Sprintf("arn:aws:kafka:%s:%s:vpc-connection/%s/%s/%s", c.region, c.acct.AccountID, a.awsID(k.Account), k.Name, uuid.NewString())
	ep, err := inventory.Create(a.inv, &inventory.Endpoint{
		Meta:  inventory.Meta{ID: arn, Account: c.acct.ID, Region: c.region, Status: "CREATING", Tags: in.Tags},
		VPCID: v.ID, SubnetID: in.ClientSubnets[0],
		Attrs: map[string]string{attrType: typeVpcConnection, "targetClusterArn": k.ID, "authentication": in.Authentication,
			"subnets": strings.Join(in.ClientSubnets, ","), "groups": strings.Join(in.SecurityGroups, ",")},
	})
	if err != nil {
		return 0, nil, mskErr(http.StatusInternalServerError, "InternalServerErrorException", "%v", err)
	}
	a.vpcConnectionCreated(a.timing.VpcConnectionCreate, arn)
	return http.StatusOK, vpcConnectionJSON(ep, "clientSubnets"), nil
}

// vpcConnectionReady is a VPC connection's creation ending.
func (a *api) vpcConnectionReady(arn string) {
	next := "AVAILABLE"
	if kind, state := a.faults.Outcome("aws.kafka.vpcConnection.create"); kind == faults.Stuck {
		return
	} else if kind == faults.Reject {
		next = strings.ToUpper(state)
	}
	_, _ = inventory.Update(a.inv, arn, func(x *inventory.Endpoint) error {
		if x.Status == "CREATING" {
			x.Status = next
		}
		return nil
	})
}

// ownVpcConnection returns a VPC connection of the caller.
func (a *api) ownVpcConnection(c *caller, arn string) (*inventory.Endpoint, *mskError) {
	ep, err := inventory.Get[*inventory.Endpoint](a.inv, arn)
	if err != nil || !isType(ep.Attrs, typeVpcConnection) || ep.Account != c.acct.ID {
		return nil, notFound("The specified VPC connection was not found: %s", arn)
	}
	return ep, nil
}

func (a *api) describeVpcConnection(c *caller, r *http.Request, _ []byte) (int, any, *mskError) {
	ep, e := a.ownVpcConnection(c, r.PathValue("arn"))
	if e != nil {
		return 0, nil, e
	}
	return http.StatusOK, vpcConnectionJSON(ep, "subnets"), nil
}

func (a *api) deleteVpcConnection(c *caller, r *http.Request, _ []byte) (int, any, *mskError) {
	arn := r.PathValue("arn")
	ep, e := a.ownVpcConnection(c, arn)
	if e != nil {
		return 0, nil, e
	}
	if ep.Status == "CREATING" || ep.Status == "REJECTING" || ep.Status == "DEACTIVATING" {
		return 0, nil, badRequest("The VPC connection is %s and cannot be deleted now", ep.Status)
	}
	if ep.Status != "DELETING" {
		_, _ = inventory.Update(a.inv, arn, func(x *inventory.Endpoint) error { x.Status = "DELETING"; return nil })
		a.deleteLater(a.timing.Delete, objectRef{Kind: inventory.KindEndpoint, ID: arn})
	}
	return http.StatusOK, map[string]string{"vpcConnectionArn": arn, "state": "DELETING"}, nil
}

func (a *api) listVpcConnections(c *caller, _ *http.Request, _ []byte) (int, any, *mskError) {
	out := []map[string]any{}
	for _, ep := range inventory.List[*inventory.Endpoint](a.inv, inventory.Filter{Account: c.acct.ID, Region: c.region}) {
		if isType(ep.Attrs, typeVpcConnection) {
			out = append(out, map[string]any{"vpcConnectionArn": ep.ID, "targetClusterArn": ep.Attrs["targetClusterArn"], "creationTime": ts(ep.CreatedAt),
				"authentication": ep.Attrs["authentication"], "vpcId": ep.VPCID, "state": ep.Status})
		}
	}
	return http.StatusOK, map[string]any{"vpcConnections": out}, nil
}

func (a *api) listClientVpcConnections(c *caller, r *http.Request, _ []byte) (int, any, *mskError) {
	k, e := a.cluster(c, r.PathValue("clusterArn"), "")
	if e != nil {
		return 0, nil, e
	}
	out := []map[string]any{}
	for _, ep := range inventory.List[*inventory.Endpoint](a.inv, inventory.Filter{}) {
		if isType(ep.Attrs, typeVpcConnection) && ep.Attrs["targetClusterArn"] == k.ID {
			out = append(out, map[string]any{"vpcConnectionArn": ep.ID, "authentication": ep.Attrs["authentication"],
				"creationTime": ts(ep.CreatedAt), "state": ep.Status, "owner": a.awsID(ep.Account)})
		}
	}
	return http.StatusOK, map[string]any{"clientVpcConnections": out}, nil
}

func (a *api) rejectClientVpcConnection(c *caller, r *http.Request, body []byte) (int, any, *mskError) {
	var in struct {
		VpcConnectionArn string `json:"vpcConnectionArn"`
	}
	_ = json.Unmarshal(body, &in)
	k, e := a.cluster(c, r.PathValue("clusterArn"), "")
	if e != nil {
		return 0, nil, e
	}
	ep, err := inventory.Get[*inventory.Endpoint](a.inv, in.VpcConnectionArn)
	if err != nil || !isType(ep.Attrs, typeVpcConnection) || ep.Attrs["targetClusterArn"] != k.ID {
		return 0, nil, notFound("The specified VPC connection was not found: %s", in.VpcConnectionArn)
	}
	if ep.Status != "AVAILABLE" {
		return 0, nil, badRequest("Only AVAILABLE VPC connections can be rejected; this one is %s", ep.Status)
	}
	_, _ = inventory.Update(a.inv, ep.ID, func(x *inventory.Endpoint) error { x.Status = "REJECTING"; return nil })
	a.vpcConnectionRejected(a.timing.VpcConnectionCreate, ep.ID)
	return http.StatusOK, map[string]any{}, nil
}
