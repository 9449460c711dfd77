package aws_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/topoflow/topoflow/cloudsim"
	awssim "github.com/topoflow/topoflow/cloudsim/aws"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/cloudsim/simtest"
)

const (
	mskKey    = "AKIAAWSMSK0000000001"
	mskSecret = "aws-msk-secret-0a1b2c3d4e5f6a7b8c9d0e1f"
)

type wire struct {
	t   *testing.T
	sim *cloudsim.Sim
}

func start(t *testing.T) *wire {
	t.Helper()
	awssim.DefaultTiming.PeeringRequest = 20 * time.Millisecond
	sim, _ := simtest.Start(t, cloudsim.Options{Providers: []string{"aws"}})
	return &wire{t: t, sim: sim}
}

// do sends a request signed (when key is set) for service and region.
func (w *wire) do(method, path, service, region, key, secret, token string, body string, hdr map[string]string) (*http.Response, []byte) {
	w.t.Helper()
	req, err := http.NewRequest(method, w.sim.URL()+path, strings.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	if service == "ec2" || service == "sts" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if key != "" {
		sum := sha256.Sum256([]byte(body))
		creds := awssdk.Credentials{AccessKeyID: key, SecretAccessKey: secret, SessionToken: token}
		if token != "" {
			req.Header.Set("X-Amz-Security-Token", token)
		}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), service, region, time.Now()); err != nil {
			w.t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func (w *wire) ec2(key, secret, region string, form url.Values) (*http.Response, []byte) {
	form.Set("Version", "2016-11-15")
	return w.do("POST", "/", "ec2", region, key, secret, "", form.Encode(), nil)
}

type ec2Err struct {
	Code      string `xml:"Errors>Error>Code"`
	Message   string `xml:"Errors>Error>Message"`
	RequestID string `xml:"RequestID"`
}

func TestEC2WireShapes(t *testing.T) {
	w := start(t)
	cases := []struct {
		name      string
		key, sec  string
		form      url.Values
		status    int
		code      string
		wantInXML []string
	}{
		{name: "unsigned", form: url.Values{"Action": {"DescribeVpcs"}}, status: 401, code: "MissingAuthenticationToken"},
		{name: "unknown key", key: "AKIANOBODY0000000000", sec: "x", form: url.Values{"Action": {"DescribeVpcs"}}, status: 401, code: "AuthFailure"},
		{name: "bad signature", key: mskKey, sec: "wrong", form: url.Values{"Action": {"DescribeVpcs"}}, status: 403, code: "SignatureDoesNotMatch"},
		{name: "unknown action", key: mskKey, sec: mskSecret, form: url.Values{"Action": {"RunInstances"}}, status: 400, code: "InvalidAction"},
		{name: "missing peering", key: mskKey, sec: mskSecret, form: url.Values{"Action": {"DescribeVpcPeeringConnections"}, "VpcPeeringConnectionId.1": {"pcx-1"}},
			status: 400, code: "InvalidVpcPeeringConnectionID.NotFound"},
		{name: "vpcs of the caller", key: mskKey, sec: mskSecret, form: url.Values{"Action": {"DescribeVpcs"}}, status: 200,
			wantInXML: []string{`<DescribeVpcsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">`, "<requestId>", "<vpcSet><item><vpcId>vpc-0a5c0000000msk01</vpcId><ownerId>111111111111</ownerId>"}},
		{name: "flattened list and filter", key: mskKey, sec: mskSecret,
			form:   url.Values{"Action": {"DescribeSecurityGroups"}, "GroupId.1": {"sg-0a5c00000000msk01"}, "Filter.1.Name": {"vpc-id"}, "Filter.1.Value.1": {"vpc-0a5c0000000msk01"}},
			status: 200, wantInXML: []string{"<securityGroupInfo><item>", "<ipPermissions><item><ipProtocol>tcp</ipProtocol><fromPort>9092</fromPort><toPort>9098</toPort>"}},
		{name: "other account's group", key: "AKIAAWSCLIENTB000002", sec: "aws-client-b-secret-1b2c3d4e5f6a7b8c9d0e",
			form: url.Values{"Action": {"DescribeSecurityGroups"}, "GroupId.1": {"sg-0a5c00000000msk01"}}, status: 400, code: "InvalidGroup.NotFound"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := w.ec2(c.key, c.sec, "eu-west-1", c.form)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, body)
			}
			if c.code != "" {
				var e ec2Err
				if err := xml.Unmarshal(body, &e); err != nil || e.Code != c.code || e.RequestID == "" || !strings.HasPrefix(string(body), "<?xml") {
					t.Fatalf("error body %s (%v), want code %s", body, err, c.code)
				}
			}
			for _, s := range c.wantInXML {
				if !strings.Contains(string(body), s) {
					t.Fatalf("response lacks %s:\n%s", s, body)
				}
			}
		})
	}
}

// Peering states: an overlapping CIDR fails, an unaccepted request expires.
func TestPeeringFailedAndExpired(t *testing.T) {
	awssim.DefaultTiming.PeeringExpiry = 300 * time.Millisecond
	defer func() { awssim.DefaultTiming.PeeringExpiry = 7 * 24 * time.Hour }()
	w := start(t)
	if _, err := inventory.Create(w.sim.Inventory, &inventory.VPC{Meta: inventory.Meta{ID: "vpc-overlap", Account: "aws-msk", Region: "eu-west-1"}, CIDR: "10.20.128.0/17", AddressBlock: "127.250.0.0/16"}); err != nil {
		t.Fatal(err)
	}
	create := func(peer, owner string) string {
		resp, body := w.ec2(mskKey, mskSecret, "eu-west-1", url.Values{"Action": {"CreateVpcPeeringConnection"}, "VpcId": {"vpc-0a5c0000000msk01"}, "PeerVpcId": {peer}, "PeerOwnerId": {owner}})
		if resp.StatusCode != 200 {
			t.Fatalf("create: %s", body)
		}
		var out struct {
			ID   string `xml:"vpcPeeringConnection>vpcPeeringConnectionId"`
			Code string `xml:"vpcPeeringConnection>status>code"`
		}
		if err := xml.Unmarshal(body, &out); err != nil || out.Code != "initiating-request" {
			t.Fatalf("create answer %s (%v)", body, err)
		}
		return out.ID
	}
	failed := create("vpc-overlap", "111111111111")
	expired := create("vpc-0a5c000000clib01", "222222222222")
	status := func(id string) string {
		p, err := inventory.Get[*inventory.Peering](w.sim.Inventory, id)
		if err != nil {
			return "gone"
		}
		return p.Status
	}
	deadline := time.Now().Add(5 * time.Second)
	for status(failed) != "failed" || status(expired) != "expired" {
		if time.Now().After(deadline) {
			t.Fatalf("states: %s %s, want failed and expired", status(failed), status(expired))
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, body := w.ec2(mskKey, mskSecret, "eu-west-1", url.Values{"Action": {"DeleteVpcPeeringConnection"}, "VpcPeeringConnectionId": {failed}})
	if resp.StatusCode != 400 || !strings.Contains(string(body), "InvalidStateTransition") {
		t.Fatalf("deleting a failed peering: %d %s", resp.StatusCode, body)
	}
}

func TestMSKWireShapes(t *testing.T) {
	w := start(t)
	arn := simtest.MSKCluster
	path := "/v1/clusters/" + url.QueryEscape(arn) + "/bootstrap-brokers"
	if !strings.Contains(path, "%3A") || !strings.Contains(path, "%2F") {
		t.Fatalf("the ARN is not escaped as one segment: %s", path)
	}
	resp, body := w.do("GET", path, "kafka", "eu-west-1", mskKey, mskSecret, "", "", nil)
	var boot map[string]string
	if resp.StatusCode != 200 || json.Unmarshal(body, &boot) != nil || strings.Count(boot["bootstrapBrokerString"], ":9092") != 3 {
		t.Fatalf("bootstrap: %d %s", resp.StatusCode, body)
	}
	resp, body = w.do("GET", "/api/v2/clusters/"+url.QueryEscape(strings.Replace(arn, "msk-prod", "nope", 1)), "kafka", "eu-west-1", mskKey, mskSecret, "", "", nil)
	var e map[string]string
	if resp.StatusCode != 404 || resp.Header.Get("X-Amzn-ErrorType") != "NotFoundException" || json.Unmarshal(body, &e) != nil || e["message"] == "" {
		t.Fatalf("missing cluster: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	resp, _ = w.do("PUT", "/v1/clusters/"+url.QueryEscape(arn)+"/connectivity", "kafka", "eu-west-1", mskKey, mskSecret, "",
		`{"connectivityInfo":{"vpcConnectivity":{"clientAuthentication":{"sasl":{"iam":{"enabled":true}}}}},"currentVersion":"stale"}`, nil)
	if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-ErrorType") != "BadRequestException" {
		t.Fatalf("a stale currentVersion: %d", resp.StatusCode)
	}
	resp, _ = w.do("GET", path, "kafka", "eu-west-1", "AKIAAWSCLIENTB000002", "aws-client-b-secret-1b2c3d4e5f6a7b8c9d0e", "", "", nil)
	if resp.StatusCode != 403 || resp.Header.Get("X-Amzn-ErrorType") != "ForbiddenException" {
		t.Fatalf("another account without a cluster policy: %d", resp.StatusCode)
	}
}

func TestSTSAssumeRoleSessionToken(t *testing.T) {
	w := start(t)
	form := url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"}, "RoleArn": {"arn:aws:iam::222222222222:role/peering"}, "RoleSessionName": {"wire"}}
	resp, body := w.do("POST", "/", "sts", "eu-west-1", mskKey, mskSecret, "", form.Encode(), nil)
	var out struct {
		Key    string `xml:"AssumeRoleResult>Credentials>AccessKeyId"`
		Secret string `xml:"AssumeRoleResult>Credentials>SecretAccessKey"`
		Token  string `xml:"AssumeRoleResult>Credentials>SessionToken"`
		ARN    string `xml:"AssumeRoleResult>AssumedRoleUser>Arn"`
	}
	if resp.StatusCode != 200 || xml.Unmarshal(body, &out) != nil || !strings.HasPrefix(out.Key, "ASIA") || out.ARN != "arn:aws:sts::222222222222:assumed-role/peering/wire" {
		t.Fatalf("assume role: %d %s", resp.StatusCode, body)
	}
	who := url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}
	resp, body = w.do("POST", "/", "sts", "eu-west-1", out.Key, out.Secret, out.Token, who.Encode(), nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "<Account>222222222222</Account>") {
		t.Fatalf("caller identity with the session: %d %s", resp.StatusCode, body)
	}
	resp, body = w.do("POST", "/", "sts", "eu-west-1", out.Key, out.Secret, "", who.Encode(), nil)
	if resp.StatusCode != 403 || !strings.Contains(string(body), "<ErrorResponse") {
		t.Fatalf("the temporary key without its session token: %d %s", resp.StatusCode, body)
	}
	resp, _ = w.do("POST", "/", "sts", "eu-west-1", mskKey, mskSecret, "", url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"},
		"RoleArn": {"arn:aws:iam::999999999999:role/x"}, "RoleSessionName": {"s"}}.Encode(), nil)
	if resp.StatusCode != 403 {
		t.Fatalf("assuming a role in an unknown account: %d", resp.StatusCode)
	}
}

// AWS refuses a second peering between two VPCs while one is accepted
// (VpcPeeringConnectionAlreadyExists), in either direction; once the first
// is deleted a new one may be requested.
func TestDuplicatePeeringRefused(t *testing.T) {
	w := start(t)
	const vpc, peer = "vpc-0a5c0000000msk01", "vpc-0a5c000000clib01"
	if _, err := inventory.Create(w.sim.Inventory, &inventory.Peering{
		Meta:  inventory.Meta{ID: "pcx-existing", Account: "aws-msk", Region: "eu-west-1", Status: "active"},
		VPCID: peer, PeerVPCID: vpc, PeerAccount: "aws-msk", Attrs: map[string]string{"awsType": "vpc-peering-connection"},
	}); err != nil {
		t.Fatal(err)
	}
	create := func() (*http.Response, []byte) {
		return w.ec2(mskKey, mskSecret, "eu-west-1", url.Values{"Action": {"CreateVpcPeeringConnection"}, "VpcId": {vpc}, "PeerVpcId": {peer}, "PeerOwnerId": {"222222222222"}})
	}
	resp, body := create()
	var e ec2Err
	if resp.StatusCode != 400 || xml.Unmarshal(body, &e) != nil || e.Code != "VpcPeeringConnectionAlreadyExists" {
		t.Fatalf("second peering of an active pair: %d %s, want 400 VpcPeeringConnectionAlreadyExists", resp.StatusCode, body)
	}
	if _, err := inventory.Update(w.sim.Inventory, "pcx-existing", func(p *inventory.Peering) error { p.Status = "deleted"; return nil }); err != nil {
		t.Fatal(err)
	}
	if resp, body := create(); resp.StatusCode != 200 {
		t.Fatalf("peering after the first was deleted: %d %s", resp.StatusCode, body)
	}
}
