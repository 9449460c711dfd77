package aws_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/topoflow/topoflow/cloudsim/faults"
	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// TestResponseLostAfterTheCallTookEffect: a rule on a call's response phase
// ("<op>/response") lets the call take effect and loses its answer (the
// connection closes without a response); a latency rule there delays the
// answer; a glob on the provider ("aws.*") never matches a response phase.
func TestResponseLostAfterTheCallTookEffect(t *testing.T) {
	w := start(t)
	peerings := func() int {
		n := 0
		for _, p := range inventory.List[*inventory.Peering](w.sim.Inventory, inventory.Filter{}) {
			if p.VPCID == "vpc-0a5c0000000msk01" && p.PeerVPCID == "vpc-0a5c000000clib01" {
				n++
			}
		}
		return n
	}
	create := func() (*http.Response, error) {
		form := url.Values{"Action": {"CreateVpcPeeringConnection"}, "Version": {"2016-11-15"},
			"VpcId": {"vpc-0a5c0000000msk01"}, "PeerVpcId": {"vpc-0a5c000000clib01"}, "PeerOwnerId": {"222222222222"}}
		body := form.Encode()
		req, _ := http.NewRequest("POST", w.sim.URL()+"/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		sum := sha256.Sum256([]byte(body))
		if err := v4.NewSigner().SignHTTP(context.Background(), awssdk.Credentials{AccessKeyID: mskKey, SecretAccessKey: mskSecret},
			req, hex.EncodeToString(sum[:]), "ec2", "eu-west-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if resp != nil {
			resp.Body.Close()
		}
		return resp, err
	}
	// A provider-wide glob does not reach the response phase.
	w.sim.Faults.MustAdd(faults.Rule{Op: "aws.*", Kind: faults.Latency, Latency: 1})
	lost := w.sim.Faults.MustAdd(faults.Rule{Op: "aws.ec2.CreateVpcPeeringConnection" + faults.ResponseSuffix, Kind: faults.Error, Times: 1})
	if resp, err := create(); err == nil {
		t.Fatalf("the answer arrived (%s), want it lost", resp.Status)
	}
	if n := peerings(); n != 1 {
		t.Fatalf("%d peerings after the lost answer, want 1: the call took effect", n)
	}
	for _, r := range w.sim.Faults.Rules() {
		if r.ID == lost && r.Hits != 1 {
			t.Fatalf("the response rule hit %d calls, want 1", r.Hits)
		}
	}
	w.sim.Faults.Reset()
	w.sim.Faults.MustAdd(faults.Rule{Op: "aws.ec2.CreateVpcPeeringConnection" + faults.ResponseSuffix, Kind: faults.Latency, Latency: 2e8})
	began := time.Now()
	resp, err := create()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("delayed answer: %v %v", resp, err)
	}
	if d := time.Since(began); d < 200*time.Millisecond {
		t.Fatalf("the answer came after %s, want the 200ms response latency", d)
	}
	if n := peerings(); n != 2 {
		t.Fatalf("%d peerings, want 2", n)
	}
}
