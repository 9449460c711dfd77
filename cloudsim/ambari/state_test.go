package ambari_test

import (
	"strings"
	"testing"
	"time"

	"github.com/topoflow/topoflow/cloudsim"
	"github.com/topoflow/topoflow/cloudsim/ambari"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/cloudsim/simtest"
)

func init() {
	// Slow tasks, so a restart request is still running when the twin is killed.
	cloudsim.RegisterProvider("ambari-slow", func(s *cloudsim.Sim) error {
		_, err := ambari.MountWith(s, ambari.Options{TaskDuration: 1500 * time.Millisecond})
		return err
	})
}

// TestRunningRequestResumesAfterARestart: a twin with a state directory is
// killed while an Ambari RESTART request runs (its brokers down); restarted
// with the directory, it shows the same request IN_PROGRESS, resumes it and
// completes it, every broker up again.
func TestRunningRequestResumesAfterARestart(t *testing.T) {
	dir := t.TempDir()
	a, err := cloudsim.New(cloudsim.Options{Providers: []string{"ambari-slow"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.UseStateDir(dir); err != nil {
		t.Fatal(err)
	}
	w, _ := simtest.Shifted(t, simtest.DefaultWorldPath())
	if err := a.LoadWorld(w); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Start("127.0.0.1:0", ""); err != nil {
		t.Fatal(err)
	}
	k, _ := inventory.Get[*inventory.KafkaInstance](a.Inventory, kafkaID)
	var hosts []string
	for _, b := range k.Brokers {
		hosts = append(hosts, b.Host)
	}
	body := `{"RequestInfo":{"command":"RESTART","context":"test","operation_level":{"level":"SERVICE","cluster_name":"kafka1","service_name":"KAFKA"}},` +
		`"Requests/resource_filters":[{"service_name":"KAFKA","component_name":"KAFKA_BROKER","hosts":"` + strings.Join(hosts, ",") + `"}]}`
	r := call(t, a, "POST", base+"/requests", body, true, true)
	if r.status != 202 {
		t.Fatalf("restart: %d %s", r.status, r.raw)
	}
	id := jsonNum(r.body["Requests"].(map[string]any)["id"].(float64))
	status := func(s *cloudsim.Sim) string {
		return call(t, s, "GET", base+"/requests/"+id, "", true, false).body["Requests"].(map[string]any)["request_status"].(string)
	}
	down := func(s *cloudsim.Sim) int {
		k, _ := inventory.Get[*inventory.KafkaInstance](s.Inventory, kafkaID)
		n := 0
		for _, b := range k.Brokers {
			if b.Down {
				n++
			}
		}
		return n
	}
	for deadline := time.Now().Add(5 * time.Second); status(a) != "IN_PROGRESS" || down(a) != len(hosts); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("request %s is %s with %d brokers down, want IN_PROGRESS with all down", id, status(a), down(a))
		}
	}
	a.Kill()

	b, err := cloudsim.New(cloudsim.Options{Providers: []string{"ambari-slow"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	if ok, err := b.UseStateDir(dir); err != nil || !ok {
		t.Fatalf("restore: %v %v", ok, err)
	}
	if _, err := b.Start("127.0.0.1:0", ""); err != nil {
		t.Fatal(err)
	}
	if st := status(b); st != "IN_PROGRESS" && st != "COMPLETED" {
		t.Fatalf("request %s is %s on the restarted twin, want it still running (or done)", id, st)
	}
	for deadline := time.Now().Add(10 * time.Second); status(b) != "COMPLETED"; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("request %s is %s on the restarted twin, want COMPLETED", id, status(b))
		}
	}
	if n := down(b); n != 0 {
		t.Fatalf("%d brokers down after the resumed restart, want 0", n)
	}
}
