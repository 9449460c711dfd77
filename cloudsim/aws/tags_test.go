package aws_test

import (
	"encoding/xml"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// TestSecurityGroupRuleTags: the rule's tags as EC2 keeps them — set at
// creation (TagSpecification, ResourceType security-group-rule), overwritten
// by CreateTags, removed by DeleteTags by key (any value), by key and value
// (matching only), or all at once when no Tag is given; limits refused.
func TestSecurityGroupRuleTags(t *testing.T) {
	w := start(t)
	call := func(f url.Values) (int, string, string) {
		t.Helper()
		resp, body := w.ec2(mskKey, mskSecret, "eu-west-1", f)
		var e ec2Err
		_ = xml.Unmarshal(body, &e)
		return resp.StatusCode, e.Code, string(body)
	}
	st, _, body := call(url.Values{"Action": {"AuthorizeSecurityGroupIngress"}, "GroupId": {"sg-0a5c00000000msk01"},
		"IpPermissions.1.IpProtocol": {"tcp"}, "IpPermissions.1.FromPort": {"9200"}, "IpPermissions.1.ToPort": {"9200"},
		"IpPermissions.1.IpRanges.1.CidrIp": {"10.99.0.0/16"},
		"TagSpecification.1.ResourceType":   {"security-group-rule"}, "TagSpecification.1.Tag.1.Key": {"user:a"}, "TagSpecification.1.Tag.1.Value": {"wf-a"}})
	if st != 200 {
		t.Fatalf("authorize: %d %s", st, body)
	}
	rule := regexp.MustCompile(`<securityGroupRuleId>(sgr-[0-9a-f]+)</securityGroupRuleId>`).FindStringSubmatch(body)
	if rule == nil || !strings.Contains(body, "<tagSet><item><key>user:a</key><value>wf-a</value></item></tagSet>") {
		t.Fatalf("authorize response lacks the rule's tags: %s", body)
	}
	id := rule[1]
	tags := func() string {
		t.Helper()
		_, _, body := call(url.Values{"Action": {"DescribeSecurityGroupRules"}, "SecurityGroupRuleId.1": {id}})
		var out struct {
			Tags []struct {
				Key   string `xml:"key"`
				Value string `xml:"value"`
			} `xml:"securityGroupRuleSet>item>tagSet>item"`
		}
		if err := xml.Unmarshal([]byte(body), &out); err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, tg := range out.Tags {
			s = append(s, tg.Key+"="+tg.Value)
		}
		return strings.Join(s, ",")
	}
	tagForm := func(action string, kv ...string) url.Values {
		f := url.Values{"Action": {action}, "ResourceId.1": {id}}
		for i := 0; i+1 < len(kv); i += 2 {
			n := fmt.Sprint(i/2 + 1)
			f.Set("Tag."+n+".Key", kv[i])
			if kv[i+1] != "<none>" {
				f.Set("Tag."+n+".Value", kv[i+1])
			}
		}
		return f
	}
	long := strings.Repeat("k", 128)
	for _, step := range []struct {
		name string
		form url.Values
		code string
		want string
	}{
		{"add a second user", tagForm("CreateTags", "user:b", "wf-b"), "", "user:a=wf-a,user:b=wf-b"},
		{"overwrite a value", tagForm("CreateTags", "user:b", "wf-b2"), "", "user:a=wf-a,user:b=wf-b2"},
		{"reserved prefix", tagForm("CreateTags", "aws:x", "v"), "InvalidParameterValue", "user:a=wf-a,user:b=wf-b2"},
		{"key too long", tagForm("CreateTags", long, "v"), "InvalidParameterValue", "user:a=wf-a,user:b=wf-b2"},
		{"delete by key and another value keeps it", tagForm("DeleteTags", "user:b", "other"), "", "user:a=wf-a,user:b=wf-b2"},
		{"delete by key, any value", tagForm("DeleteTags", "user:b", "<none>"), "", "user:a=wf-a"},
		{"unknown rule", url.Values{"Action": {"CreateTags"}, "ResourceId.1": {"sgr-00000000000000000"}, "Tag.1.Key": {"k"}, "Tag.1.Value": {"v"}},
			"InvalidSecurityGroupRuleId.NotFound", "user:a=wf-a"},
		{"delete without tags removes every user tag", url.Values{"Action": {"DeleteTags"}, "ResourceId.1": {id}}, "", ""},
	} {
		st, code, body := call(step.form)
		if code != step.code || (step.code == "" && st != 200) {
			t.Fatalf("%s: %d %s, want code %q: %s", step.name, st, code, step.code, body)
		}
		if got := tags(); got != step.want {
			t.Fatalf("%s: tags %q, want %q", step.name, got, step.want)
		}
	}
	// At most 50 tags per resource.
	f := url.Values{"Action": {"CreateTags"}, "ResourceId.1": {id}}
	for i := 1; i <= 51; i++ {
		f.Set(fmt.Sprintf("Tag.%d.Key", i), fmt.Sprintf("k%d", i))
		f.Set(fmt.Sprintf("Tag.%d.Value", i), "v")
	}
	if _, code, body := call(f); code != "TagLimitExceeded" {
		t.Fatalf("51 tags: %s %s", code, body)
	}
	// Filters by tag.
	call(tagForm("CreateTags", "user:c", "wf-c"))
	_, _, body = call(url.Values{"Action": {"DescribeSecurityGroupRules"}, "Filter.1.Name": {"tag:user:c"}, "Filter.1.Value.1": {"wf-c"}})
	if !strings.Contains(body, id) || strings.Count(body, "<securityGroupRuleId>") != 1 {
		t.Fatalf("tag filter: %s", body)
	}
}

// TestRouteTableTags: CreateTags/DeleteTags on a route table keep its Name
// tag and round-trip the others through DescribeRouteTables.
func TestRouteTableTags(t *testing.T) {
	w := start(t)
	if _, err := inventory.Create(w.sim.Inventory, &inventory.RouteTable{Meta: inventory.Meta{ID: "rtb-0a5c00000000tag01", Account: "aws-msk", Region: "eu-west-1", Name: "rt-tags"},
		VPCID: "vpc-0a5c0000000msk01"}); err != nil {
		t.Fatal(err)
	}
	call := func(f url.Values) (string, string) {
		t.Helper()
		_, body := w.ec2(mskKey, mskSecret, "eu-west-1", f)
		var e ec2Err
		_ = xml.Unmarshal(body, &e)
		return e.Code, string(body)
	}
	describe := func() string {
		t.Helper()
		_, body := call(url.Values{"Action": {"DescribeRouteTables"}, "RouteTableId.1": {"rtb-0a5c00000000tag01"}})
		i := strings.Index(body, "<tagSet>")
		if i < 0 {
			t.Fatalf("no tagSet: %s", body)
		}
		return body[i : strings.Index(body[i:], "</tagSet>")+i+len("</tagSet>")]
	}
	before := describe()
	if code, body := call(url.Values{"Action": {"CreateTags"}, "ResourceId.1": {"rtb-0a5c00000000tag01"}, "Tag.1.Key": {"topoflow:route:x"}, "Tag.1.Value": {"wf"}}); code != "" {
		t.Fatalf("create tags: %s", body)
	}
	if got := describe(); !strings.Contains(got, "<item><key>topoflow:route:x</key><value>wf</value></item>") || !strings.Contains(got, strings.TrimSuffix(strings.TrimPrefix(before, "<tagSet>"), "</tagSet>")) {
		t.Fatalf("after CreateTags: %s (before %s)", got, before)
	}
	if code, body := call(url.Values{"Action": {"DeleteTags"}, "ResourceId.1": {"rtb-0a5c00000000tag01"}, "Tag.1.Key": {"topoflow:route:x"}}); code != "" {
		t.Fatalf("delete tags: %s", body)
	}
	if got := describe(); got != before {
		t.Fatalf("after DeleteTags: %s, want %s", got, before)
	}
	if code, _ := call(url.Values{"Action": {"CreateTags"}, "ResourceId.1": {"rtb-00000000000000000"}, "Tag.1.Key": {"k"}, "Tag.1.Value": {"v"}}); code != "InvalidRouteTableID.NotFound" {
		t.Fatalf("unknown route table: %s", code)
	}
}
