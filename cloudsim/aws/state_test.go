package aws_test

import (
	"encoding/json"
	"encoding/xml"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/topoflow/topoflow/cloudsim"
	awssim "github.com/topoflow/topoflow/cloudsim/aws"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/cloudsim/simtest"
)

// TestStateSurvivesAKill: a twin with a state directory is killed (no
// shutdown hook runs) while a peering request's transition is pending, and
// restarted with the directory: the same inventory, the secrets still
// verifying signatures, and the pending transition completing at its
// original wall-clock deadline (not re-armed with its full delay), after
// which the peering is accepted on the restarted twin as usual.
func TestStateSurvivesAKill(t *testing.T) {
	saved := awssim.DefaultTiming
	t.Cleanup(func() { awssim.DefaultTiming = saved })
	const delay, down = 3 * time.Second, 2 * time.Second
	awssim.DefaultTiming.PeeringRequest = delay
	awssim.DefaultTiming.PeeringProvision = 100 * time.Millisecond

	dir := t.TempDir()
	a, err := cloudsim.New(cloudsim.Options{Providers: []string{"aws"}})
	if err != nil {
		t.Fatal(err)
	}
	if restored, err := a.UseStateDir(dir); err != nil || restored {
		t.Fatalf("UseStateDir on an empty directory: restored %v, %v", restored, err)
	}
	w, _ := simtest.Shifted(t, simtest.DefaultWorldPath())
	if err := a.LoadWorld(w); err != nil {
		t.Fatal(err)
	}
	if err := a.Persist(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Start("127.0.0.1:0", ""); err != nil {
		t.Fatal(err)
	}
	wa := &wire{t: t, sim: a}
	created := time.Now()
	resp, body := wa.ec2(mskKey, mskSecret, "eu-west-1", url.Values{"Action": {"CreateVpcPeeringConnection"},
		"VpcId": {"vpc-0a5c0000000msk01"}, "PeerVpcId": {"vpc-0a5c000000clib01"}, "PeerOwnerId": {"222222222222"}})
	var out struct {
		ID   string `xml:"vpcPeeringConnection>vpcPeeringConnectionId"`
		Code string `xml:"vpcPeeringConnection>status>code"`
	}
	if resp.StatusCode != 200 || xml.Unmarshal(body, &out) != nil || out.Code != "initiating-request" {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	// The answer came after the change was on disk, its transition with it.
	onDisk, err := os.ReadFile(filepath.Join(dir, cloudsim.StateFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(onDisk), out.ID) || !strings.Contains(string(onDisk), `"aws.ec2.peering.request"`) {
		t.Fatalf("the state file does not hold peering %s and its pending transition when the answer arrives", out.ID)
	}
	before, err := a.Inventory.SnapshotJSON(inventory.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	a.Kill()
	time.Sleep(down)

	b, err := cloudsim.New(cloudsim.Options{Providers: []string{"aws"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	restarted := time.Now()
	if ok, err := b.UseStateDir(dir); err != nil || !ok {
		t.Fatalf("UseStateDir after the kill: restored %v, %v", ok, err)
	}
	after, _ := b.Inventory.SnapshotJSON(inventory.Filter{})
	// The one allowed difference: the pending peering may already have moved on.
	if p, err := inventory.Get[*inventory.Peering](b.Inventory, out.ID); err != nil || p.Status != "initiating-request" {
		t.Logf("peering %s already moved on at the restore (%v)", out.ID, err)
	} else if string(before) != string(after) {
		t.Fatalf("the restored inventory differs:\nbefore %s\nafter  %s", before, after)
	}
	if _, err := b.Start("127.0.0.1:0", ""); err != nil {
		t.Fatal(err)
	}
	wb := &wire{t: t, sim: b}
	status := func() string {
		p, err := inventory.Get[*inventory.Peering](b.Inventory, out.ID)
		if err != nil {
			return "gone"
		}
		return p.Status
	}
	for status() == "initiating-request" {
		if time.Since(restarted) > delay {
			t.Fatalf("the pending transition did not complete by its original deadline (%s after the create), %s after the restart",
				delay, time.Since(restarted).Round(time.Millisecond))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if at := time.Since(created); at < delay-50*time.Millisecond {
		t.Fatalf("the transition ran %s after the create, before its deadline %s", at, delay)
	}
	if s := status(); s != "pending-acceptance" {
		t.Fatalf("peering %s is %s after its request transition, want pending-acceptance", out.ID, s)
	}
	// The accepter's signature verifies against the restored secret; the
	// accept's own transition runs on the restarted twin.
	resp, body = wb.ec2(clientBKey, clientBSecret, "eu-west-1", url.Values{"Action": {"AcceptVpcPeeringConnection"}, "VpcPeeringConnectionId": {out.ID}})
	if resp.StatusCode != 200 {
		t.Fatalf("accept on the restarted twin: %d %s", resp.StatusCode, body)
	}
	for deadline := time.Now().Add(5 * time.Second); status() != "active"; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("peering %s is %s, want active", out.ID, status())
		}
	}
	// Left pending on disk: only the offer's 7-day expiry (AWS expires an
	// unaccepted request after a week; accepted, it does nothing).
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var st struct {
			Transitions []struct{ Name string } `json:"transitions"`
		}
		onDisk, _ = os.ReadFile(filepath.Join(dir, cloudsim.StateFile))
		if err := json.Unmarshal(onDisk, &st); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, tr := range st.Transitions {
			names = append(names, tr.Name)
		}
		if strings.Join(names, ",") == "aws.ec2.peering.set" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pending transitions on disk: %v, want only the offer's expiry", names)
		}
	}
}
