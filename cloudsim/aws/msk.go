package aws

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/topoflow/topoflow/cloudsim/auth"
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
