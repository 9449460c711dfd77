package aws

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

const mskDomain = "msk-prod.abc123.c2.kafka.eu-west-1.amazonaws.com"

// ListNodes gives every broker's b-N name, private IP and subnet; the NLB,
// target group and listener creates are idempotent on their key; a target
// outside the group's VPC is refused; a target group behind a listener
// cannot be deleted (a retryable conflict); deletes of what is gone are done.
func TestLoadBalancerPerBroker(t *testing.T) {
	e := newEnv(t)
	lb := e.must(t, catalog.AWSMSKListBrokers, "aws-msk", "", map[string]any{"clusterArn": mskARN, "port": 9092})
	brokers := lb["brokers"].([]any)
	if len(brokers) != 3 || lb["domain"] != mskDomain || lb["vpcId"] != mskVPC || lb["vpcCidr"] != "10.20.0.0/16" {
		t.Fatalf("listBrokers: %v", lb)
	}
	b0 := brokers[0].(map[string]any)
	if b0["host"] != "b-1."+mskDomain || b0["port"] != int64(9092) || !strings.HasPrefix(b0["ip"].(string), "127.") {
		t.Fatalf("broker 0: %v", b0)
	}
	subnets := lb["subnets"]
	nlb := e.must(t, catalog.AWSELBCreateLoadBalancer, "aws-msk", "wf/create-nlb/b-0", map[string]any{"subnetIds": subnets})
	if nlb["state"] != "provisioning" || !strings.HasPrefix(nlb["name"].(string), "tf-") {
		t.Fatalf("create NLB: %v", nlb)
	}
	again := e.must(t, catalog.AWSELBCreateLoadBalancer, "aws-msk", "wf/create-nlb/b-0", map[string]any{"subnetIds": subnets})
	if again["loadBalancerArn"] != nlb["loadBalancerArn"] {
		t.Fatalf("a retried create made another NLB: %v then %v", nlb, again)
	}
	arn := nlb["loadBalancerArn"]
	e.until(t, catalog.AWSELBDescribeLoadBalancer, "aws-msk", map[string]any{"loadBalancerArn": arn}, "state", "active")

	tgIn := map[string]any{"vpcId": mskVPC, "port": 9092, "targets": []any{b0["ip"]}}
	tg := e.must(t, catalog.AWSELBCreateTargetGroup, "aws-msk", "wf/create-tg/b-0", tgIn)
	if tg2 := e.must(t, catalog.AWSELBCreateTargetGroup, "aws-msk", "wf/create-tg/b-0", tgIn); tg2["targetGroupArn"] != tg["targetGroupArn"] {
		t.Fatalf("a retried create made another target group: %v then %v", tg, tg2)
	}
	_, err := e.call(catalog.AWSELBCreateTargetGroup, "aws-msk", "wf/create-tg/outside", map[string]any{"vpcId": mskVPC, "port": 9092, "targets": []any{"127.99.1.1"}})
	if errType(err) != plan.ErrInvalid || !strings.Contains(err.Error(), "InvalidTarget") {
		t.Fatalf("a target outside the VPC: %v (%s)", err, errType(err))
	}
	lnIn := map[string]any{"loadBalancerArn": arn, "port": 9092, "targetGroupArn": tg["targetGroupArn"]}
	ln := e.must(t, catalog.AWSELBCreateListener, "aws-msk", "wf/create-listener/b-0", lnIn)
	if ln2 := e.must(t, catalog.AWSELBCreateListener, "aws-msk", "wf/create-listener/b-0", lnIn); ln2["listenerArn"] != ln["listenerArn"] {
		t.Fatalf("a retried create made another listener: %v then %v", ln, ln2)
	}
	// The load balancer itself forwards its listener to the broker, bytes
	// unchanged: metadata through it names the brokers' own b-N names.
	metadata := func() (*kmsg.MetadataResponse, error) {
		cl, err := kgo.NewClient(kgo.SeedBrokers(nlb["dnsName"].(string)+":9092"), kgo.Dialer(e.sim.Net.DialFrom(mskVPC)), kgo.RetryTimeout(2*time.Second))
		if err != nil {
			return nil, err
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl.SeedBrokers()[0])
	}
	m, err := metadata()
	if err != nil {
		t.Fatalf("metadata through the load balancer: %v", err)
	}
	if len(m.Brokers) != 3 || !strings.HasSuffix(m.Brokers[0].Host, "."+mskDomain) || m.Brokers[0].Port != 9092 {
		t.Fatalf("metadata through the load balancer names %+v", m.Brokers)
	}
	_, err = e.call(catalog.AWSELBDeleteTargetGroup, "aws-msk", "", map[string]any{"targetGroupArn": tg["targetGroupArn"]})
	if errType(err) != plan.ErrConflict || !strings.Contains(err.Error(), "ResourceInUse") {
		t.Fatalf("deleting a target group behind a listener: %v (%s)", err, errType(err))
	}
	for range 2 { // the second round finds everything gone and is done
		e.must(t, catalog.AWSELBDeleteListener, "aws-msk", "", map[string]any{"listenerArn": ln["listenerArn"]})
		e.must(t, catalog.AWSELBDeleteTargetGroup, "aws-msk", "", map[string]any{"targetGroupArn": tg["targetGroupArn"]})
		e.must(t, catalog.AWSELBDeleteLoadBalancer, "aws-msk", "", map[string]any{"loadBalancerArn": arn})
	}
	if _, err := metadata(); err == nil {
		t.Fatal("the deleted load balancer still forwards")
	}
	if _, err := e.call(catalog.AWSELBDescribeLoadBalancer, "aws-msk", "", map[string]any{"loadBalancerArn": arn}); errType(err) != plan.ErrNotFound {
		t.Fatalf("describe a deleted NLB: %v (%s)", err, errType(err))
	}
}

// A private hosted zone for the brokers' domain answers alone for it in the
// client VPC: the public broker names stop resolving there until a record
// is INSYNC; elsewhere they still resolve to the brokers' IPs. The create is
// idempotent on its caller reference; a second zone of that name on the VPC
// is refused; a zone with records cannot be deleted; deletes of what is gone
// are done.
func TestPrivateHostedZoneOverridesBrokerNames(t *testing.T) {
	e := newEnv(t)
	host := "b-1." + mskDomain
	brokerIP, err := e.sim.Net.Resolve(clientBVPC, host)
	if err != nil || !strings.HasPrefix(brokerIP, "127.") {
		t.Fatalf("%s from the client VPC before the zone: %s, %v (public DNS, the broker's IP)", host, brokerIP, err)
	}
	in := map[string]any{"name": mskDomain, "vpcId": clientBVPC, "vpcRegion": "eu-west-1"}
	z := e.must(t, catalog.AWSR53CreateHostedZone, "aws-client-b", "wf/zone", in)
	if z2 := e.must(t, catalog.AWSR53CreateHostedZone, "aws-client-b", "wf/zone", in); z2["hostedZoneId"] != z["hostedZoneId"] {
		t.Fatalf("a retried create made another zone: %v then %v", z, z2)
	}
	if _, err := e.call(catalog.AWSR53CreateHostedZone, "aws-client-b", "other/zone", in); errType(err) != plan.ErrInvalid || !strings.Contains(err.Error(), "ConflictingDomainExists") {
		t.Fatalf("a second zone of the name on the VPC: %v (%s)", err, errType(err))
	}
	e.until(t, catalog.AWSR53GetChange, "aws-client-b", map[string]any{"changeId": z["changeId"]}, "status", "INSYNC")
	if ip, err := e.sim.Net.Resolve(clientBVPC, host); err == nil {
		t.Fatalf("%s resolves to %s in the client VPC although its private zone has no record", host, ip)
	}
	if ip, err := e.sim.Net.Resolve(mskVPC, host); err != nil || ip != brokerIP {
		t.Fatalf("%s from the MSK VPC: %s, %v", host, ip, err)
	}
	rec := map[string]any{"hostedZoneId": z["hostedZoneId"], "name": host, "type": "A", "value": "127.21.1.77", "ttl": 60}
	ch := e.must(t, catalog.AWSR53UpsertRecord, "aws-client-b", "wf/rec", rec)
	if ch["status"] != "PENDING" {
		t.Fatalf("upsert: %v", ch)
	}
	e.until(t, catalog.AWSR53GetChange, "aws-client-b", map[string]any{"changeId": ch["changeId"]}, "status", "INSYNC")
	if ip, err := e.sim.Net.Resolve(clientBVPC, host); err != nil || ip != "127.21.1.77" {
		t.Fatalf("%s after the record is INSYNC: %s, %v", host, ip, err)
	}
	_, err = e.call(catalog.AWSR53DeleteHostedZone, "aws-client-b", "", map[string]any{"hostedZoneId": z["hostedZoneId"]})
	if errType(err) != plan.ErrConflict || !strings.Contains(err.Error(), "HostedZoneNotEmpty") {
		t.Fatalf("deleting a zone with a record: %v (%s)", err, errType(err))
	}
	if out := e.must(t, catalog.AWSR53DeleteRecord, "aws-client-b", "", rec); out["deleted"] != true {
		t.Fatalf("delete record: %v", out)
	}
	if out := e.must(t, catalog.AWSR53DeleteRecord, "aws-client-b", "", rec); out["deleted"] != false {
		t.Fatalf("deleting a deleted record: %v", out)
	}
	for range 2 {
		e.must(t, catalog.AWSR53DeleteHostedZone, "aws-client-b", "", map[string]any{"hostedZoneId": z["hostedZoneId"]})
	}
	if ip, err := e.sim.Net.Resolve(clientBVPC, host); err != nil || ip != brokerIP {
		t.Fatalf("%s after the zone is gone: %s, %v", host, ip, err)
	}
	if _, err := e.call(catalog.AWSR53GetChange, "aws-client-b", "", map[string]any{"changeId": "CNOSUCHCHANGE"}); errType(err) != plan.ErrNotFound {
		t.Fatalf("an unknown change: %v (%s)", err, errType(err))
	}
}
