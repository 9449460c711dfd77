// Command cloudsim runs the clouds' digital twin as a process (`make dev`):
// every registered provider API on one listener, the admin API under
// /_cloudsim/ (and optionally on its own port), and the seed world's Kafka
// brokers on their loopback addresses. It prints the endpoints and runs until
// interrupted.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/topoflow/topoflow/cloudsim"
	// Providers: each registers itself with cloudsim.RegisterProvider.
	_ "github.com/topoflow/topoflow/cloudsim/ambari" // Ambari v1 (HDInsight)
	_ "github.com/topoflow/topoflow/cloudsim/huawei" // Huawei VPCEP v1, DMS Kafka v2, VPC
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/cloudsim/world"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "cloudsim:", err)
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("listen", "127.0.0.1:8700", "address of the provider APIs (and the admin API under "+cloudsim.AdminPrefix+")")
	admin := flag.String("admin", "", "optional separate address of the admin API, e.g. 127.0.0.1:8701")
	worldFile := flag.String("world", "cloudsim/worlds/default.yaml", "world file to seed (empty: start empty)")
	flag.Parse()

	s, err := cloudsim.New(cloudsim.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	if *worldFile != "" {
		w, err := world.ReadFile(*worldFile)
		if err != nil {
			return err
		}
		if err := s.LoadWorld(w); err != nil {
			return err
		}
		if errs := s.Net.Errors(); len(errs) > 0 {
			return fmt.Errorf("start world: %s", strings.Join(errs, "; "))
		}
	}
	url, err := s.Start(*listen, *admin)
	if err != nil {
		return err
	}
	fmt.Printf("cloudsim: provider APIs %s (providers: %s)\n", url, strings.Join(cloudsim.Providers(), ", "))
	fmt.Printf("cloudsim: admin API    %s (inventory, network, faults, world, reset)\n", s.AdminURL())
	st := s.Net.State()
	byInst := map[string][]string{}
	for _, b := range st.Brokers {
		byInst[b.Instance] = append(byInst[b.Instance], fmt.Sprintf("%d=%s (advertises %s)", b.ID, b.Listen, b.Advertised))
	}
	var ids []string
	for id := range byInst {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		k, _ := inventory.Get[*inventory.KafkaInstance](s.Inventory, id)
		name := id
		if k != nil {
			name = fmt.Sprintf("%s (%s, account %s)", k.Name, k.Engine, k.Account)
		}
		fmt.Printf("cloudsim: kafka %s brokers: %s\n", name, strings.Join(byInst[id], ", "))
	}
	socks, err := s.SOCKS.Addrs()
	if err != nil {
		return err
	}
	for _, id := range sortedKeys(socks) {
		fmt.Printf("cloudsim: socks5 %s  network %s\n", socks[id], id)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	slog.Info("cloudsim: shutting down")
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
