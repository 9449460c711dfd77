// Command cloudsim runs the clouds' digital twin as a process (`make dev`):
// every provider of the assembly (cloudsim/all: Huawei/OTC, AWS, Azure,
// Ambari) on one listener, the admin API under /_cloudsim/ (and optionally on
// its own port), and the seed world's Kafka brokers on their loopback
// addresses. It prints the endpoints and runs until interrupted.
//
//	cloudsim [-listen ADDR] [-admin ADDR] [-world FILE[,FILE...]]... [-shift N] [-state DIR]
//
// -world may be repeated or hold a comma-separated list; the files (and the
// files they include) are merged into one world, refusing an ID or an
// address defined twice. -shift N moves every 127.x address of the world by
// N in the second octet (world.World.Shift), so two stacks on one machine do
// not collide on broker and endpoint addresses. -state DIR makes the twin
// durable: its whole state (inventory, pending state-machine transitions,
// fault rules, the providers' own records) is saved to DIR after every
// change, before the response, and a twin started again with the same DIR
// (after a crash or SIGKILL) restores it instead of seeding the world.
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
	_ "github.com/topoflow/topoflow/cloudsim/all" // every provider of the twin
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/cloudsim/world"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "cloudsim:", err)
		os.Exit(1)
	}
}

// DefaultWorld is the world make dev serves: every world file the examples need.
const DefaultWorld = "cloudsim/worlds/examples.yaml"

func run() error {
	// Flags.
	listen := flag.String("listen", "127.0.0.1:8700", "address of the provider APIs (and the admin API under "+cloudsim.AdminPrefix+")")
	admin := flag.String("admin", "", "optional separate address of the admin API, e.g. 127.0.0.1:8701")
	var worldFiles []string
	worldSet := false
	flag.Func("world", "world file(s) to seed, comma-separated or repeated, merged into one world (default "+DefaultWorld+"; empty: start empty)", func(v string) error {
		worldSet = true
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				worldFiles = append(worldFiles, f)
			}
		}
		return nil
	})
	stateDir := flag.String("state", "", "directory of the twin's durable state: restored from there when it holds one, else the world is seeded and saved there")
	shift := flag.Int("shift", 0, "move every 127.x address of the world by N in the second octet (a second stack on the same machine)")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (world files go in -world)", flag.Args())
	}
	if !worldSet {
		worldFiles = []string{DefaultWorld}
	}

	// The world: merged files, shifted.
	var w *world.World
	if len(worldFiles) > 0 {
		var err error
		if w, err = world.ReadFiles(worldFiles...); err != nil {
			return err
		}
		if err := w.Shift(*shift); err != nil {
			return fmt.Errorf("-shift %d: %w", *shift, err)
		}
	}

	// The sim: every provider, the world's brokers, the listeners.
	s, err := cloudsim.New(cloudsim.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	restored := false
	if *stateDir != "" {
		if restored, err = s.UseStateDir(*stateDir); err != nil {
			return err
		}
	}
	if w != nil && restored {
		// The world's definition still serves the admin API's reset.
		s.RememberWorld(w)
	}
	if w != nil && !restored {
		if err := s.LoadWorld(w); err != nil {
			return fmt.Errorf("load world %s: %w", strings.Join(worldFiles, ","), err)
		}
		if errs := s.Net.Errors(); len(errs) > 0 {
			return fmt.Errorf("start world %s (shift %d): %s", strings.Join(worldFiles, ","), *shift, strings.Join(errs, "; "))
		}
	}
	if *stateDir != "" && !restored {
		if err := s.Persist(); err != nil {
			return err
		}
	}
	url, err := s.Start(*listen, *admin)
	if err != nil {
		return err
	}

	// What runs where.
	fmt.Printf("cloudsim: provider APIs %s (providers: %s)\n", url, strings.Join(cloudsim.Providers(), ", "))
	fmt.Printf("cloudsim: world %s (address shift %d)\n", strings.Join(worldFiles, ", "), *shift)
	if restored {
		fmt.Printf("cloudsim: state restored from %s\n", *stateDir)
	} else if *stateDir != "" {
		fmt.Printf("cloudsim: state saved in %s\n", *stateDir)
	}
	fmt.Printf("cloudsim: admin API    %s (inventory, network, faults, world, reset)\n", s.AdminURL())
	st := s.Net.State()
	byInst := map[string][]string{}
	for _, b := range st.Brokers {
		desc := fmt.Sprintf("%d=%s (advertises %s)", b.ID, b.Listen, b.Advertised)
		if b.PrivateListen != "" {
			desc += fmt.Sprintf(" and %s (private)", b.PrivateListen)
		}
		byInst[b.Instance] = append(byInst[b.Instance], desc)
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
