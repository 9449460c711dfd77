package aws

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/topoflow/topoflow/cloudsim/faults"
	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// MSK multi-VPC connectivity (see msk.go): UpdateConnectivity, its rolling
// restart and the cluster operation that reports it.

// connectivity is the multi-VPC client authentication of a cluster.
type connectivity struct {
	IAM   bool `json:"iam"`
	SCRAM bool `json:"scram"`
	TLS   bool `json:"tls"`
}

func clusterConnectivity(k *inventory.KafkaInstance) connectivity {
	var c connectivity
	_ = json.Unmarshal([]byte(k.Attrs["vpcConnectivity"]), &c)
	return c
}

func (a *api) updateConnectivity(c *caller, r *http.Request, body []byte) (int, any, *mskError) {
	var in struct {
		CurrentVersion   string `json:"currentVersion"`
		ConnectivityInfo *struct {
			VpcConnectivity *struct {
				ClientAuthentication struct {
					Sasl struct {
						Iam   struct{ Enabled bool } `json:"iam"`
						Scram struct{ Enabled bool } `json:"scram"`
					} `json:"sasl"`
					TLS struct{ Enabled bool } `json:"tls"`
				} `json:"clientAuthentication"`
			} `json:"vpcConnectivity"`
		} `json:"connectivityInfo"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.ConnectivityInfo == nil {
		return 0, nil, badRequest("connectivityInfo is required")
	}
	arn := r.PathValue("clusterArn")
	a.mu.Lock()
	defer a.mu.Unlock()
	k, e := a.cluster(c, arn, "")
	if e != nil {
		return 0, nil, e
	}
	if in.CurrentVersion != currentVersion(k) {
		return 0, nil, badRequest("The request does not include the latest cluster version (%s). Retrieve it with DescribeCluster.", currentVersion(k))
	}
	if st := k.Status; st != "ACTIVE" && st != "RUNNING" && st != "" {
		return 0, nil, badRequest("The cluster is in state %s; updates need ACTIVE", st)
	}
	want := clusterConnectivity(k)
	if v := in.ConnectivityInfo.VpcConnectivity; v != nil {
		ca := v.ClientAuthentication
		want = connectivity{IAM: ca.Sasl.Iam.Enabled, SCRAM: ca.Sasl.Scram.Enabled, TLS: ca.TLS.Enabled}
	}
	if want == clusterConnectivity(k) {
		return 0, nil, badRequest("The request does not contain any changes to the cluster's connectivity")
	}
	if (want.SCRAM && len(k.SASLUsers) == 0 && !k.TLS) || (!k.TLS && len(k.SASLUsers) == 0 && want != (connectivity{}) && k.Attrs["iamAuth"] != "true") {
		return 0, nil, badRequest("Multi-VPC private connectivity needs the cluster's client authentication (IAM, SASL/SCRAM or TLS) for the schemes turned on")
	}
	opArn := fmt.Sprintf("arn:aws:kafka:%s:%s:cluster-operation/%s/%s", c.region, c.acct.AccountID, k.Name, uuid.NewString())
	if _, err := inventory.Create(a.inv, &inventory.Config{
		Meta:   inventory.Meta{ID: opArn, Account: k.Account, Region: c.region, Status: "UPDATE_IN_PROGRESS"},
		Target: k.ID, Type: typeOperation, Version: 1,
		Properties: map[string]string{"operationType": "UPDATE_CONNECTIVITY", "startTime": ts(time.Now())},
	}); err != nil {
		return 0, nil, mskErr(http.StatusInternalServerError, "InternalServerErrorException", "%v", err)
	}
	raw, _ := json.Marshal(want)
	if _, err := inventory.Update(a.inv, k.ID, func(x *inventory.KafkaInstance) error {
		x.Status = "UPDATING"
		if x.Attrs == nil {
			x.Attrs = map[string]string{}
		}
		x.Attrs["activeOperationArn"] = opArn
		x.Attrs["pendingConnectivity"] = string(raw)
		return nil
	}); err != nil {
		return 0, nil, mskErr(http.StatusInternalServerError, "InternalServerErrorException", "%v", err)
	}
	a.restart(0, restartStep{Cluster: k.ID, Op: opArn, Want: want})
	return http.StatusOK, map[string]any{"clusterArn": k.ID, "clusterOperationArn": opArn}, nil
}

// restartStep is one step of a connectivity update's rolling restart:
// broker Index of the cluster goes down (Up false) or comes back (Up true).
type restartStep struct {
	Cluster string       `json:"cluster"`
	Op      string       `json:"op"`
	Want    connectivity `json:"want"`
	Index   int          `json:"index"`
	Up      bool         `json:"up"`
}

// rollingRestart takes the brokers down one by one (a durable transition per
// step), then applies the new connectivity, bumps the cluster version and
// completes the operation.
func (a *api) rollingRestart(st restartStep) {
	clusterArn, opArn, want := st.Cluster, st.Op, st.Want
	finish := func(state, code, msg string) {
		_, _ = inventory.Update(a.inv, opArn, func(x *inventory.Config) error {
			x.Status = state
			x.Properties["endTime"] = ts(time.Now())
			if code != "" {
				x.Properties["errorCode"], x.Properties["errorString"] = code, msg
			}
			return nil
		})
	}
	k, err := inventory.Get[*inventory.KafkaInstance](a.inv, clusterArn)
	if err != nil {
		finish("UPDATE_FAILED", "ClusterNotFound", "the cluster is gone")
		return
	}
	if st.Index < len(k.Brokers) {
		id := k.Brokers[st.Index].ID
		_, _ = inventory.Update(a.inv, clusterArn, func(x *inventory.KafkaInstance) error {
			for i := range x.Brokers {
				if x.Brokers[i].ID == id {
					x.Brokers[i].Down = !st.Up
				}
			}
			return nil
		})
		next := st
		if st.Up {
			next.Index, next.Up = st.Index+1, false
			a.restart(0, next)
		} else {
			next.Up = true
			a.restart(a.timing.BrokerRestart, next)
		}
		return
	}
	kind, state := a.faults.Outcome("aws.kafka.connectivity.update")
	if kind == faults.Stuck {
		return
	}
	_, _ = inventory.Update(a.inv, clusterArn, func(x *inventory.KafkaInstance) error {
		x.Status = "ACTIVE"
		delete(x.Attrs, "activeOperationArn")
		delete(x.Attrs, "pendingConnectivity")
		if kind != faults.Reject {
			raw, _ := json.Marshal(want)
			x.Attrs["vpcConnectivity"] = string(raw)
			x.Attrs["currentVersion"] = "K" + strings.ToUpper(randHex(6))
		}
		return nil
	})
	if kind == faults.Reject {
		if state == "rejected" {
			state = "UPDATE_FAILED"
		}
		finish(state, "InternalFailure", "the connectivity update failed (injected)")
		return
	}
	// Schemes turned off deactivate the client VPC connections that use them.
	for _, ep := range inventory.List[*inventory.Endpoint](a.inv, inventory.Filter{}) {
		if !isType(ep.Attrs, typeVpcConnection) || ep.Attrs["targetClusterArn"] != clusterArn {
			continue
		}
		on := map[string]bool{"SASL_IAM": want.IAM, "SASL_SCRAM": want.SCRAM, "TLS": want.TLS}[ep.Attrs["authentication"]]
		if !on && ep.Status == "AVAILABLE" {
			_, _ = inventory.Update(a.inv, ep.ID, func(x *inventory.Endpoint) error { x.Status = "INACTIVE"; return nil })
		}
	}
	finish("UPDATE_COMPLETE", "", "")
}

func (a *api) describeOperation(c *caller, r *http.Request, _ []byte) (int, any, *mskError) {
	arn := r.PathValue("clusterOperationArn")
	op, err := inventory.Get[*inventory.Config](a.inv, arn)
	if err != nil || op.Type != typeOperation || op.Account != c.acct.ID {
		return 0, nil, notFound("The specified cluster operation was not found: %s", arn)
	}
	info := map[string]any{"clusterArn": op.Target, "clusterType": "PROVISIONED", "operationArn": op.ID, "operationState": op.Status,
		"operationType": op.Properties["operationType"], "startTime": op.Properties["startTime"]}
	if e := op.Properties["endTime"]; e != "" {
		info["endTime"] = e
	}
	if code := op.Properties["errorCode"]; code != "" {
		info["errorInfo"] = map[string]string{"errorCode": code, "errorString": op.Properties["errorString"]}
	}
	return http.StatusOK, map[string]any{"clusterOperationInfo": info}, nil
}
