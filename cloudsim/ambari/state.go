package ambari

import (
	"encoding/json"
	"log/slog"
	"sort"

	"github.com/topoflow/topoflow/cloudsim"
)

// Ambari's records outside the inventory (maintenance modes, the service
// state, stale hosts, requests and their tasks) are in the twin's durable
// state; a twin restarted with its state directory resumes the requests
// that were running (their ended tasks kept).

type savedCluster struct {
	Name         string            `json:"name"`
	KafkaID      string            `json:"kafkaId"`
	Maintenance  string            `json:"maintenance"`
	ServiceState string            `json:"serviceState"`
	Stale        map[string]bool   `json:"stale"`
	HostMM       map[string]string `json:"hostMM"`
	Requests     []request         `json:"requests"`
}

type savedAmbari struct {
	NextReq  int            `json:"nextReq"`
	Clusters []savedCluster `json:"clusters"`
}

// persist saves the twin's state after a step of a running request (its
// goroutine is no request the twin saves after).
func (srv *Server) persist() {
	if err := srv.sim.Persist(); err != nil {
		slog.Error("ambari: save state", "err", err)
	}
}

func taskEnded(t *task) bool { return t.Status == StatusCompleted || t.Status == StatusFailed }

func (srv *Server) registerState(s *cloudsim.Sim) {
	s.RegisterState("ambari", srv.saveState, srv.restoreState)
}

func (srv *Server) saveState() (any, error) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	st := savedAmbari{NextReq: srv.nextReq}
	for _, c := range srv.clusters {
		sc := savedCluster{Name: c.name, KafkaID: c.kafkaID, Maintenance: c.maintenance, ServiceState: c.serviceState,
			Stale: map[string]bool{}, HostMM: map[string]string{}}
		for k, v := range c.stale {
			sc.Stale[k] = v
		}
		for k, v := range c.hostMM {
			sc.HostMM[k] = v
		}
		for _, r := range c.requests {
			cp := *r
			cp.Tasks = nil
			for _, t := range r.Tasks {
				tc := *t
				cp.Tasks = append(cp.Tasks, &tc)
			}
			sc.Requests = append(sc.Requests, cp)
		}
		sort.Slice(sc.Requests, func(i, j int) bool { return sc.Requests[i].ID < sc.Requests[j].ID })
		st.Clusters = append(st.Clusters, sc)
	}
	sort.Slice(st.Clusters, func(i, j int) bool { return st.Clusters[i].Name < st.Clusters[j].Name })
	return st, nil
}

func (srv *Server) restoreState(raw json.RawMessage) error {
	var st savedAmbari
	if err := json.Unmarshal(raw, &st); err != nil {
		return err
	}
	type resume struct {
		c   *cluster
		req *request
	}
	var running []resume
	srv.mu.Lock()
	srv.nextReq = st.NextReq
	for _, sc := range st.Clusters {
		c := &cluster{name: sc.Name, kafkaID: sc.KafkaID, maintenance: sc.Maintenance, serviceState: sc.ServiceState,
			stale: sc.Stale, hostMM: sc.HostMM, requests: map[int]*request{}}
		if c.stale == nil {
			c.stale = map[string]bool{}
		}
		if c.hostMM == nil {
			c.hostMM = map[string]string{}
		}
		for i := range sc.Requests {
			r := sc.Requests[i]
			c.requests[r.ID] = &r
			if r.Status == StatusPending || r.Status == StatusInProgress {
				running = append(running, resume{c, &r})
			}
		}
		srv.clusters[c.name] = c
	}
	srv.mu.Unlock()
	sort.Slice(running, func(i, j int) bool { return running[i].req.ID < running[j].req.ID })
	for _, r := range running {
		go srv.run(r.c, r.req)
	}
	return nil
}
