package cloudsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/topoflow/topoflow/cloudsim/faults"
	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/cloudsim/netmodel"
	"github.com/topoflow/topoflow/cloudsim/world"
)

var worldMu sync.Mutex

// LoadWorld applies a world to the inventory and remembers it, so that an
// admin reset can restore it.
func (s *Sim) LoadWorld(w *world.World) error {
	if err := w.Apply(s.Inventory); err != nil {
		return err
	}
	worldMu.Lock()
	s.worlds = append(s.worlds, w)
	worldMu.Unlock()
	return nil
}

// RememberWorld records a world as loaded without applying it (a twin
// restored from its state directory), so that ResetToWorld re-applies it.
func (s *Sim) RememberWorld(w *world.World) {
	worldMu.Lock()
	s.worlds = append(s.worlds, w)
	worldMu.Unlock()
}

// ResetToWorld empties the world and re-applies the loaded world files.
func (s *Sim) ResetToWorld() error {
	worldMu.Lock()
	ws := append([]*world.World(nil), s.worlds...)
	worldMu.Unlock()
	s.Reset()
	for _, w := range ws {
		// Apply mutates its slices' objects only by filling defaults, so a
		// second application yields the same world.
		if err := w.Apply(s.Inventory); err != nil {
			return fmt.Errorf("reset: reload world: %w", err)
		}
	}
	return nil
}

// AdminHandler serves the admin API (paths relative to AdminPrefix):
//
//	GET    /healthz                      ok
//	GET    /inventory[?kind=&account=]   every live resource by kind (hidden ones too)
//	GET    /inventory/{kind}/{id}        one resource
//	GET    /network                      running brokers, forwarders, reconcile errors
//	GET    /network/socks                SOCKS5 endpoint of every network: {vpcId: "127.0.0.1:port"}
//	GET    /network/socks/{vpc...}       SOCKS5 endpoint of one network: {"network": id, "socks5": "127.0.0.1:port"}
//	GET    /network/socks/failures[?network=&target=]  CONNECTs the twin refused, with its reason (diagnosis only)
//	GET    /network/diagnose?from=&to=   why a client host of VPC from can or cannot reach to (ip:port)
//	GET    /network/drops                recently dropped connections and why
//	GET    /faults                       fault rules with hit counts
//	POST   /faults                       add a rule (faults.Rule JSON) → {"id": ...}
//	DELETE /faults/{id}, DELETE /faults  remove one or all rules
//	POST   /world                        load a world file (YAML body)
//	POST   /reset[?empty=true]           empty the world (and reload the world files unless empty=true)
func (s *Sim) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, map[string]string{"status": "ok"}) })
	mux.HandleFunc("GET /inventory", func(w http.ResponseWriter, r *http.Request) {
		f := inventory.Filter{Account: r.URL.Query().Get("account")}
		snap := s.Inventory.Snapshot(f)
		if k := r.URL.Query().Get("kind"); k != "" {
			kind, err := inventory.ParseKind(k)
			if err != nil {
				writeErr(w, 400, err)
				return
			}
			snap = map[inventory.Kind][]inventory.Object{kind: snap[kind]}
		}
		writeJSON(w, 200, snap)
	})
	mux.HandleFunc("GET /inventory/{kind}/{id}", func(w http.ResponseWriter, r *http.Request) {
		kind, err := inventory.ParseKind(r.PathValue("kind"))
		if err != nil {
			writeErr(w, 400, err)
			return
		}
		for _, o := range s.Inventory.Snapshot(inventory.Filter{})[kind] {
			if o.GetMeta().ID == r.PathValue("id") {
				writeJSON(w, 200, o)
				return
			}
		}
		writeErr(w, 404, fmt.Errorf("%s %s: %w", kind, r.PathValue("id"), inventory.ErrNotFound))
	})
	mux.HandleFunc("GET /network", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, s.Net.State()) })
	// The CA that signs the TLS listeners' certificates (netmodel/tls.go):
	// clients of the twin trust it where they trust public CAs on the cloud.
	mux.HandleFunc("GET /ca.pem", func(w http.ResponseWriter, _ *http.Request) {
		pem, err := s.Net.CAPEM()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/x-pem-file")
		_, _ = w.Write(pem)
	})
	mux.HandleFunc("GET /network/socks", func(w http.ResponseWriter, _ *http.Request) {
		addrs, err := s.SOCKS.Addrs()
		if err != nil {
			writeErr(w, 500, err)
			return
		}
		writeJSON(w, 200, addrs)
	})
	mux.HandleFunc("GET /network/socks/failures", func(w http.ResponseWriter, r *http.Request) {
		fs := s.SOCKS.Failures(r.URL.Query().Get("network"), r.URL.Query().Get("target"))
		if fs == nil {
			fs = []netmodel.SOCKSFailure{}
		}
		writeJSON(w, 200, fs)
	})
	mux.HandleFunc("GET /network/socks/{vpc...}", func(w http.ResponseWriter, r *http.Request) {
		// Azure VNet IDs are resource paths: /network/socks//subscriptions/... or without the leading slash.
		id := r.PathValue("vpc")
		addr, err := s.SOCKS.Addr(id)
		if errors.Is(err, inventory.ErrNotFound) && !strings.HasPrefix(id, "/") {
			addr, err = s.SOCKS.Addr("/" + id)
			if err == nil {
				id = "/" + id
			}
		}
		if err != nil {
			code := 500
			if errors.Is(err, inventory.ErrNotFound) {
				code = 404
			}
			writeErr(w, code, err)
			return
		}
		writeJSON(w, 200, map[string]string{"network": id, "socks5": addr})
	})
	mux.HandleFunc("GET /network/diagnose", func(w http.ResponseWriter, r *http.Request) {
		from, to := r.URL.Query().Get("from"), r.URL.Query().Get("to")
		if from == "" || to == "" {
			writeErr(w, 400, errors.New("diagnose needs from=<vpc id> and to=<ip:port or host:port>"))
			return
		}
		v, err := s.Net.Diagnose(from, to)
		if err != nil {
			writeErr(w, 400, err)
			return
		}
		writeJSON(w, 200, v)
	})
	mux.HandleFunc("GET /network/drops", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, s.Net.Drops()) })
	mux.HandleFunc("GET /faults", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, s.Faults.Rules()) })
	mux.HandleFunc("POST /faults", func(w http.ResponseWriter, r *http.Request) {
		var rule faults.Rule
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rule); err != nil {
			writeErr(w, 400, fmt.Errorf("decode fault rule: %w", err))
			return
		}
		id, err := s.Faults.Add(rule)
		if err != nil {
			writeErr(w, 400, err)
			return
		}
		writeJSON(w, 201, map[string]string{"id": id})
	})
	mux.HandleFunc("DELETE /faults/{id}", func(w http.ResponseWriter, r *http.Request) {
		if !s.Faults.Remove(r.PathValue("id")) {
			writeErr(w, 404, fmt.Errorf("fault rule %s: %w", r.PathValue("id"), inventory.ErrNotFound))
			return
		}
		w.WriteHeader(204)
	})
	mux.HandleFunc("DELETE /faults", func(w http.ResponseWriter, _ *http.Request) {
		s.Faults.Reset()
		w.WriteHeader(204)
	})
	mux.HandleFunc("POST /world", func(w http.ResponseWriter, r *http.Request) {
		data, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
		if err != nil {
			writeErr(w, 400, err)
			return
		}
		wd, err := world.Parse(data)
		if err != nil {
			writeErr(w, 400, err)
			return
		}
		if err := s.LoadWorld(wd); err != nil {
			code := 400
			if errors.Is(err, inventory.ErrExists) {
				code = 409
			}
			writeErr(w, code, err)
			return
		}
		writeJSON(w, 201, map[string]string{"status": "loaded"})
	})
	mux.HandleFunc("POST /reset", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("empty") == "true" {
			s.Reset()
			worldMu.Lock()
			s.worlds = nil
			worldMu.Unlock()
		} else if err := s.ResetToWorld(); err != nil {
			writeErr(w, 500, err)
			return
		}
		writeJSON(w, 200, map[string]string{"status": "reset"})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeErr(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}
