package aws

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/topoflow/topoflow/cloudsim/auth"
	"github.com/topoflow/topoflow/cloudsim/faults"
	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// MSK model. A cluster is an inventory Kafka instance with engine "msk"
// whose ID is the cluster ARN; its Attrs hold currentVersion,
// vpcConnectivity (JSON {iam,scram,tls}), policy and policyVersion. A
// cluster operation is an inventory config of type msk-cluster-operation. A
// VPC connection is an inventory endpoint with awsType msk-vpc-connection,
// owned by the client account, whose status is the MSK state.

const (
	typeVpcConnection = "msk-vpc-connection"
	typeOperation     = "msk-cluster-operation"
)

// mskError is an MSK API error.
type mskError struct {
	status int
	typ    string
	msg    string
}

func mskErr(status int, typ, format string, a ...any) *mskError {
	return &mskError{status: status, typ: typ, msg: fmt.Sprintf(format, a...)}
}

func badRequest(format string, a ...any) *mskError {
	return mskErr(http.StatusBadRequest, "BadRequestException", format, a...)
}

func notFound(format string, a ...any) *mskError {
	return mskErr(http.StatusNotFound, "NotFoundException", format, a...)
}

func forbidden(format string, a ...any) *mskError {
	return mskErr(http.StatusForbidden, "ForbiddenException", format, a...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Requestid", requestID())
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeMSKError(w http.ResponseWriter, e *mskError) {
	w.Header().Set("X-Amzn-ErrorType", e.typ)
	writeJSON(w, e.status, map[string]string{"message": e.msg})
}

type mskHandler func(c *caller, r *http.Request, body []byte) (int, any, *mskError)

// mskHandle wraps an MSK operation with authentication and fault injection.
func (a *api) mskHandle(pattern, op string, h mskHandler) {
	a.msk.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		c, aerr := a.authenticate(r)
		if aerr != nil {
			typ := "UnrecognizedClientException"
			msg := "The security token included in the request is invalid."
			switch aerr.Reason {
			case auth.BadSignature:
				typ, msg = "InvalidSignatureException", aerr.Message
			case auth.Expired:
				typ, msg = "InvalidSignatureException", aerr.Message
			case auth.Missing:
				typ, msg = "MissingAuthenticationTokenException", "Missing Authentication Token"
			}
			writeMSKError(w, mskErr(http.StatusForbidden, typ, "%s", msg))
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			writeMSKError(w, badRequest("read body: %v", err))
			return
		}
		if ft := a.faults.Check(r.Context(), "aws.kafka."+op); ft != nil {
			typ := ft.Code
			switch {
			case ft.Status == http.StatusTooManyRequests:
				typ = "TooManyRequestsException"
			case ft.Status >= 500 && (typ == "InternalError" || typ == ""):
				typ = "InternalServerErrorException"
			}
			if ft.RetryAfter > 0 {
				w.Header().Set("Retry-After", ft.RetryAfterHeader())
			}
			writeMSKError(w, mskErr(ft.Status, typ, "%s", ft.Message))
			return
		}
		status, out, e := h(c, r, body)
		if e != nil {
			writeMSKError(w, e)
			return
		}
		writeJSON(w, status, out)
	})
}

func (a *api) mskRoutes() {
	a.mskHandle("GET /api/v2/clusters/{clusterArn}", "DescribeClusterV2", a.describeClusterV2)
	a.mskHandle("GET /v1/clusters/{clusterArn}", "DescribeCluster", a.describeClusterV1)
	a.mskHandle("GET /v1/clusters/{clusterArn}/bootstrap-brokers", "GetBootstrapBrokers", a.bootstrapBrokers)
	a.mskHandle("GET /v1/clusters/{clusterArn}/nodes", "ListNodes", a.listNodes)
	a.mskHandle("PUT /v1/clusters/{clusterArn}/connectivity", "UpdateConnectivity", a.updateConnectivity)
	a.mskHandle("GET /api/v2/operations/{clusterOperationArn}", "DescribeClusterOperationV2", a.describeOperation)
	a.mskHandle("PUT /v1/clusters/{clusterArn}/policy", "PutClusterPolicy", a.putPolicy)
	a.mskHandle("GET /v1/clusters/{clusterArn}/policy", "GetClusterPolicy", a.getPolicy)
	a.mskHandle("DELETE /v1/clusters/{clusterArn}/policy", "DeleteClusterPolicy", a.deletePolicy)
	a.mskHandle("POST /v1/vpc-connection", "CreateVpcConnection", a.createVpcConnection)
	a.mskHandle("GET /v1/vpc-connection/{arn}", "DescribeVpcConnection", a.describeVpcConnection)
	a.mskHandle("DELETE /v1/vpc-connection/{arn}", "DeleteVpcConnection", a.deleteVpcConnection)
	a.mskHandle("GET /v1/vpc-connections", "ListVpcConnections", a.listVpcConnections)
	a.mskHandle("GET /v1/clusters/{clusterArn}/client-vpc-connections", "ListClientVpcConnections", a.listClientVpcConnections)
	a.mskHandle("PUT /v1/clusters/{clusterArn}/client-vpc-connection", "RejectClientVpcConnection", a.rejectClientVpcConnection)
}

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

func currentVersion(k *inventory.KafkaInstance) string {
	if v := k.Attrs["currentVersion"]; v != "" {
		return v
	}
	return "K3AEGXETSR30VB"
}

// cluster returns an MSK cluster the caller may act on for action (the
// owner always may; other accounts only through the cluster policy).
func (a *api) cluster(c *caller, arn, action string) (*inventory.KafkaInstance, *mskError) {
	k, err := inventory.Get[*inventory.KafkaInstance](a.inv, arn)
	if err != nil || k.Engine != "msk" || (k.Region != "" && k.Region != c.region) {
		return nil, notFound("The specified cluster was not found: %s", arn)
	}
	if k.Account == c.acct.ID {
		return k, nil
	}
	if action != "" && policyAllows(k.Attrs["policy"], c.acct.AccountID, action) {
		return k, nil
	}
	return nil, forbidden("User %s is not authorized to perform %s on %s", c.principal, action, arn)
}

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

func (a *api) clusterInfo(k *inventory.KafkaInstance, v2 bool) map[string]any {
	conn := clusterConnectivity(k)
	vpcConn := map[string]any{"clientAuthentication": map[string]any{
		"sasl": map[string]any{"iam": map[string]any{"enabled": conn.IAM}, "scram": map[string]any{"enabled": conn.SCRAM}},
		"tls":  map[string]any{"enabled": conn.TLS}}}
	groups := []string{}
	if k.SecurityGroupID != "" {
		groups = append(groups, k.SecurityGroupID)
	}
	subnets := []string{}
	if k.SubnetID != "" {
		subnets = append(subnets, k.SubnetID)
	}
	brokerGroup := map[string]any{"clientSubnets": subnets, "securityGroups": groups, "instanceType": "kafka.m5.large",
		"brokerAZDistribution": "DEFAULT", "connectivityInfo": map[string]any{"vpcConnectivity": vpcConn, "publicAccess": map[string]any{"type": "DISABLED"}}}
	clientAuth := map[string]any{"unauthenticated": map[string]any{"enabled": !k.TLS && len(k.SASLUsers) == 0}}
	state := k.Status
	if state == "" || state == "RUNNING" {
		state = "ACTIVE"
	}
	info := map[string]any{"clusterArn": k.ID, "clusterName": k.Name, "state": state, "currentVersion": currentVersion(k),
		"creationTime": ts(k.CreatedAt), "tags": map[string]string{}}
	if op := k.Attrs["activeOperationArn"]; op != "" {
		info["activeOperationArn"] = op
	}
	body := map[string]any{"brokerNodeGroupInfo": brokerGroup, "numberOfBrokerNodes": len(k.Brokers), "clientAuthentication": clientAuth,
		"currentBrokerSoftwareInfo": map[string]any{"kafkaVersion": k.EngineVersion}}
	if v2 {
		info["clusterType"] = "PROVISIONED"
		info["provisioned"] = body
	} else {
		for key, val := range body {
			info[key] = val
		}
	}
	return map[string]any{"clusterInfo": info}
}

func (a *api) describeClusterV2(c *caller, r *http.Request, _ []byte) (int, any, *mskError) {
	k, e := a.cluster(c, r.PathValue("clusterArn"), "kafka:DescribeClusterV2")
	if e != nil {
		return 0, nil, e
	}
	return http.StatusOK, a.clusterInfo(k, true), nil
}

func (a *api) describeClusterV1(c *caller, r *http.Request, _ []byte) (int, any, *mskError) {
	k, e := a.cluster(c, r.PathValue("clusterArn"), "kafka:DescribeCluster")
	if e != nil {
		return 0, nil, e
	}
	return http.StatusOK, a.clusterInfo(k, false), nil
}

// bootstrapBrokers lists host:port of every broker: the host each broker
// advertises (its listener IP unless reconfigured), as the cluster's
// metadata will answer, so a client that reaches the bootstrap reaches the
// brokers. Multi-VPC strings use the b-N.<scheme>.<cluster> names and
// ports 14001+ of the VPC-connectivity listeners.
func (a *api) bootstrapBrokers(c *caller, r *http.Request, _ []byte) (int, any, *mskError) {
	k, e := a.cluster(c, r.PathValue("clusterArn"), "kafka:GetBootstrapBrokers")
	if e != nil {
		return 0, nil, e
	}
	bs := append([]inventory.Broker(nil), k.Brokers...)
	sort.Slice(bs, func(i, j int) bool { return bs[i].ID < bs[j].ID })
	var hosts []string
	for _, b := range bs {
		hosts = append(hosts, fmt.Sprintf("%s:%d", b.AdvertisedHost(), b.Port))
	}
	out := map[string]any{}
	joined := strings.Join(hosts, ",")
	switch {
	case k.TLS && len(k.SASLUsers) > 0:
		out["bootstrapBrokerStringSaslScram"] = joined
	case k.TLS:
		out["bootstrapBrokerStringTls"] = joined
	default:
		out["bootstrapBrokerString"] = joined
	}
	if k.Attrs["iamAuth"] == "true" {
		// The brokers' IAM listeners on 9098 (msk_iam.go).
		var l []string
		for _, b := range bs {
			l = append(l, fmt.Sprintf("%s:%d", b.AdvertisedHost(), iamPort))
		}
		out["bootstrapBrokerStringSaslIam"] = strings.Join(l, ",")
	}
	conn := clusterConnectivity(k)
	vpc := func(scheme string) string {
		var l []string
		for i := range bs {
			l = append(l, fmt.Sprintf("%s:%d", vpcBrokerHost(k.Name, scheme, c.region, i), vpcPort(i)))
		}
		return strings.Join(l, ",")
	}
	if conn.IAM {
		out["bootstrapBrokerStringVpcConnectivitySaslIam"] = vpc("iam")
	}
	if conn.SCRAM {
		out["bootstrapBrokerStringVpcConnectivitySaslScram"] = vpc("scram")
	}
	if conn.TLS {
		out["bootstrapBrokerStringVpcConnectivityTls"] = vpc("tls")
	}
	return http.StatusOK, out, nil
}

// listNodes answers ListNodes: per broker its interface, private IP, client
// subnet and DNS name (aws-sdk-go-v2/service/kafka/types BrokerNodeInfo:
// attachedENIId, brokerId, clientSubnet, clientVpcIpAddress, endpoints).
// brokerId is the broker's Kafka node ID, as metadata names it.
func (a *api) listNodes(c *caller, r *http.Request, _ []byte) (int, any, *mskError) {
	k, e := a.cluster(c, r.PathValue("clusterArn"), "kafka:ListNodes")
	if e != nil {
		return 0, nil, e
	}
	bs := append([]inventory.Broker(nil), k.Brokers...)
	sort.Slice(bs, func(i, j int) bool { return bs[i].ID < bs[j].ID })
	nodes := []map[string]any{}
	for i, b := range bs {
		endpoints := []string{}
		if b.Host != "" {
			endpoints = append(endpoints, b.Host)
		}
		nodes = append(nodes, map[string]any{
			"addedToClusterTime": ts(k.CreatedAt), "instanceType": "kafka.m5.large", "nodeType": "BROKER",
			"nodeARN": strings.Replace(k.ID, ":cluster/", ":broker/", 1) + fmt.Sprintf("/%d", i+1),
			"brokerNodeInfo": map[string]any{"attachedENIId": b.PortID, "brokerId": float64(b.ID), "clientSubnet": k.SubnetID,
				"clientVpcIpAddress": b.ListenerIP, "endpoints": endpoints,
				"currentBrokerSoftwareInfo": map[string]any{"kafkaVersion": k.EngineVersion}},
		})
	}
	return http.StatusOK, map[string]any{"nodeInfoList": nodes}, nil
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
