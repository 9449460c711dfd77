// Package ambari is cloudsim's Apache Ambari (REST API v1) for Kafka on Azure
// HDInsight, as Topoflow drives it in runbook 004:
//
//   - Basic auth against the inventory's "basic" credentials (401 without,
//     403 when wrong); POST/PUT/DELETE need X-Requested-By (the CSRF filter
//     answers 400 otherwise). Bodies are JSON served as text/plain, as
//     Ambari does; errors are {"status":N,"message":"..."}.
//   - Config versions per type (inventory.Config objects, ID
//     "<cluster>/<type>/<version>", Name = tag): GET /clusters/{c}
//     (desired_configs), GET /configurations?type=&tag=, PUT /clusters/{c}
//     with Clusters.desired_config (object or list) creates a new version
//     (a tag already used for the type is refused) and makes it desired; the
//     Kafka broker host components get stale_configs=true.
//   - Service KAFKA: maintenance_state ON/OFF (synchronous, empty 200 body)
//     and state INSTALLED/STARTED (stop/start requests); POST /requests with
//     command RESTART creates a request (202) whose tasks restart the brokers
//     one after the other: PENDING → IN_PROGRESS → COMPLETED (or FAILED with
//     the remaining tasks ABORTED), with progress_percent and task counts.
//   - Hosts with their IPs, KAFKA_BROKER host components.
//
// The brokers are the network model's: they advertise their host names
// (which resolve only inside the cluster's VNet) until kafka-env carries the
// IP-advertising template and kafka-broker listens on PLAINTEXT://0.0.0.0:9092
// *and* the broker was restarted; then they advertise their IPs. A config
// change only stages Broker.PendingAdvertised; a restart task stops the
// broker (Down) and starts it with the staged value.
//
// Fault ops: ambari.<method>.<resource> checked on every call (e.g.
// ambari.PUT.cluster, ambari.POST.requests, ambari.GET.request); outcome
// ambari.request.task (reject fails the running task and the request, stuck
// keeps it IN_PROGRESS).
package ambari

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/topoflow/topoflow/cloudsim"
	"github.com/topoflow/topoflow/cloudsim/faults"
	"github.com/topoflow/topoflow/cloudsim/inventory"
)

func init() { cloudsim.RegisterProvider("ambari", Mount) }

// The runbook's IP-advertising template and listener value.
const (
	// AdvertiseMarker is the line of the kafka-env template that makes a
	// broker advertise its IP when it starts.
	AdvertiseMarker = `echo "advertised.listeners=PLAINTEXT://$IP_ADDRESS:9092" >> /usr/hdp/current/kafka-broker/conf/server.properties`
	// ListenAll is the kafka-broker listeners value that binds every interface.
	ListenAll = "PLAINTEXT://0.0.0.0:9092"
)

// Request statuses (Ambari HostRoleStatus).
const (
	StatusPending    = "PENDING"
	StatusQueued     = "QUEUED"
	StatusInProgress = "IN_PROGRESS"
	StatusCompleted  = "COMPLETED"
	StatusFailed     = "FAILED"
	StatusAborted    = "ABORTED"
)

// Options tune the simulated Ambari.
type Options struct {
	// TaskDuration is how long one broker's restart task runs (default 60ms).
	TaskDuration time.Duration
}

// Event is one observable change, in order (tests check the runbook's order).
type Event struct {
	Time    time.Time `json:"time"`
	Cluster string    `json:"cluster"`
	// Kind: config, maintenance, request, requestDone, serviceState.
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
}

// Server is the simulated Ambari of one sim.
type Server struct {
	sim  *cloudsim.Sim
	opts Options
	mux  *http.ServeMux

	mu       sync.Mutex
	clusters map[string]*cluster
	nextReq  int
	events   []Event
}

type cluster struct {
	name         string
	kafkaID      string
	maintenance  string
	serviceState string
	stale        map[string]bool   // host name → stale_configs
	hostMM       map[string]string // host name → Hosts/maintenance_state (absent: OFF)
	requests     map[int]*request
	run          sync.Mutex // Ambari's action scheduler runs one request at a time
}

type task struct {
	ID      int
	Host    string
	Broker  int32
	Command string // RESTART, STOP, START
	Status  string
}

type request struct {
	ID         int
	Context    string
	Status     string
	Created    time.Time
	Started    time.Time
	Ended      time.Time
	Tasks      []*task
	AbortCause string
}

var servers sync.Map // *cloudsim.Sim → *Server

// ServerOf returns the server mounted on s (by Mount or MountWith).
func ServerOf(s *cloudsim.Sim) (*Server, bool) {
	v, ok := servers.Load(s)
	if !ok {
		return nil, false
	}
	return v.(*Server), true
}

// Mount registers Ambari on s with default options.
func Mount(s *cloudsim.Sim) error {
	_, err := MountWith(s, Options{})
	return err
}

// resources holds the route registrations of every resource the twin serves:
// each resource's file (config.go, service.go, request.go, host.go) appends
// its own in init.
var resources []func(*Server)

// MountWith registers Ambari on s and returns the server (tests use it to
// read the event log).
func MountWith(s *cloudsim.Sim, opts Options) (*Server, error) {
	if opts.TaskDuration <= 0 {
		opts.TaskDuration = 60 * time.Millisecond
	}
	srv := &Server{sim: s, opts: opts, mux: http.NewServeMux(), clusters: map[string]*cluster{}, nextReq: 10}
	for _, r := range resources {
		r(srv)
	}
	srv.mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := srv.auth(w, r); !ok {
			return
		}
		ambariError(w, http.StatusNotFound, "The requested resource doesn't exist: "+r.URL.Path)
	})
	s.MountFunc(func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/v1/") }, srv.mux)
	// A deleted cluster (e.g. a world reset) loses its Ambari state:
	// maintenance mode, requests and staleness.
	s.Inventory.Watch(func(ev inventory.Event) {
		if ev.Kind != inventory.KindKafka || ev.Op != inventory.Deleted {
			return
		}
		srv.mu.Lock()
		for name, c := range srv.clusters {
			if c.kafkaID == ev.ID {
				delete(srv.clusters, name)
			}
		}
		srv.mu.Unlock()
	})
	srv.registerState(s)
	servers.Store(s, srv)
	return srv, nil
}

// Events returns the event log.
func (srv *Server) Events() []Event {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return append([]Event(nil), srv.events...)
}

func (srv *Server) event(c, kind, detail string) {
	srv.mu.Lock()
	srv.events = append(srv.events, Event{Time: time.Now(), Cluster: c, Kind: kind, Detail: detail})
	srv.mu.Unlock()
}

// ambariError writes Ambari's error shape.
func ambariError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": status, "message": msg})
}

// writeJSON writes a JSON body the way Ambari does: as text/plain.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func (srv *Server) auth(w http.ResponseWriter, r *http.Request) (string, bool) {
	user, pass, ok := r.BasicAuth()
	if !ok {
		w.Header().Set("WWW-Authenticate", `Basic realm="ambari"`)
		ambariError(w, http.StatusUnauthorized, "Authentication required")
		return "", false
	}
	_, cred, err := srv.sim.Inventory.FindCredential("basic", user)
	if err != nil || cred.Secret != pass {
		ambariError(w, http.StatusForbidden, "Unable to sign in. Invalid username/password combination.")
		return "", false
	}
	return user, true
}

func (srv *Server) handle(pattern, op string, h func(w http.ResponseWriter, r *http.Request, c *cluster, user string)) {
	srv.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		user, ok := srv.auth(w, r)
		if !ok {
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Header.Get("X-Requested-By") == "" {
			ambariError(w, http.StatusBadRequest, "CSRF protection is turned on. X-Requested-By HTTP header is required.")
			return
		}
		if f := srv.sim.Faults.Check(r.Context(), "ambari."+op); f != nil {
			renderFault(w, f)
			return
		}
		c, ok := srv.cluster(r.PathValue("c"))
		if !ok {
			ambariError(w, http.StatusNotFound, "The requested resource doesn't exist: Cluster not found, clusterName="+r.PathValue("c"))
			return
		}
		if svc := r.PathValue("svc"); svc != "" && svc != "KAFKA" {
			ambariError(w, http.StatusNotFound, fmt.Sprintf("The requested resource doesn't exist: Service not found, clusterName=%s, serviceName=%s", c.name, svc))
			return
		}
		h(w, r, c, user)
	})
}

func renderFault(w http.ResponseWriter, f *faults.Fault) {
	if f.Status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", f.RetryAfterHeader())
	}
	ambariError(w, f.Status, f.Message)
}

// kafkaOf returns the HDInsight Kafka instance of an Ambari cluster name
// (its Attrs["ambariCluster"], else its Name). Names are case-sensitive, as
// in Ambari's paths.
func (srv *Server) kafkaOf(name string) (*inventory.KafkaInstance, bool) {
	for _, k := range inventory.List[*inventory.KafkaInstance](srv.sim.Inventory, inventory.Filter{}) {
		if k.Engine != "hdinsight" {
			continue
		}
		if k.Attrs["ambariCluster"] == name || (k.Attrs["ambariCluster"] == "" && k.Name == name) {
			return k, true
		}
	}
	return nil, false
}

// cluster returns the state of an Ambari cluster, creating it (and the
// initial kafka-env and kafka-broker versions) on first use.
func (srv *Server) cluster(name string) (*cluster, bool) {
	k, ok := srv.kafkaOf(name)
	if !ok {
		return nil, false
	}
	srv.mu.Lock()
	c := srv.clusters[name]
	if c != nil && c.kafkaID != k.ID {
		c = nil // another cluster now has that name
	}
	if c == nil {
		c = &cluster{name: name, kafkaID: k.ID, maintenance: "OFF", serviceState: "STARTED", stale: map[string]bool{}, hostMM: map[string]string{}, requests: map[int]*request{}}
		srv.clusters[name] = c
	}
	srv.mu.Unlock()
	srv.seedConfigs(c, k)
	return c, true
}

// Initial properties of the config types the sim seeds when the world has none.
var initialConfigs = map[string]map[string]string{
	"kafka-env": {
		"content":       "\n#!/bin/bash\n\n# Set KAFKA specific environment variables here.\n\n# The java implementation to use.\nexport JAVA_HOME={{java64_home}}\nexport PATH=$PATH:$JAVA_HOME/bin\nexport PID_DIR={{kafka_pid_dir}}\nexport LOG_DIR={{kafka_log_dir}}\n",
		"kafka_user":    "kafka",
		"kafka_log_dir": "/var/log/kafka",
		"kafka_pid_dir": "/var/run/kafka",
	},
	"kafka-broker": {
		"listeners":                  "PLAINTEXT://localhost:9092",
		"log.dirs":                   "/kafka-logs",
		"num.partitions":             "8",
		"auto.create.topics.enable":  "true",
		"zookeeper.connect":          "zk0:2181,zk1:2181,zk2:2181",
		"default.replication.factor": "3",
	},
}

func (srv *Server) seedConfigs(c *cluster, k *inventory.KafkaInstance) {
	for typ, props := range initialConfigs {
		if len(srv.versions(c, typ)) > 0 {
			continue
		}
		cp := map[string]string{}
		for key, v := range props {
			cp[key] = v
		}
		_, _ = inventory.Create(srv.sim.Inventory, &inventory.Config{
			Meta:   inventory.Meta{ID: fmt.Sprintf("%s/%s/1", c.name, typ), Account: k.Account, Name: "INITIAL", Tags: map[string]string{"user": "admin", "desired": "true"}},
			Target: k.ID, Type: typ, Version: 1, Properties: cp,
		})
	}
}

// versions returns every version of a config type of c, oldest first.
func (srv *Server) versions(c *cluster, typ string) []*inventory.Config {
	var out []*inventory.Config
	for _, cf := range inventory.List[*inventory.Config](srv.sim.Inventory, inventory.Filter{}) {
		if cf.Target == c.kafkaID && cf.Type == typ {
			out = append(out, cf)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out
}

// tagOf is a config version's tag (world files may leave it out).
func tagOf(cf *inventory.Config) string {
	if cf.Name != "" {
		return cf.Name
	}
	if cf.Version == 1 {
		return "INITIAL"
	}
	return "version" + strconv.Itoa(cf.Version)
}

// desired returns the desired version of a type: the one marked desired, else the newest.
func (srv *Server) desired(c *cluster, typ string) *inventory.Config {
	vs := srv.versions(c, typ)
	for _, v := range vs {
		if v.Tags["desired"] == "true" {
			return v
		}
	}
	if len(vs) > 0 {
		return vs[len(vs)-1]
	}
	return nil
}

// configTypes lists the config types of c, sorted.
func (srv *Server) configTypes(c *cluster) []string {
	seen := map[string]bool{}
	for _, cf := range inventory.List[*inventory.Config](srv.sim.Inventory, inventory.Filter{}) {
		if cf.Target == c.kafkaID {
			seen[cf.Type] = true
		}
	}
	var out []string
	for t := range seen {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

func href(r *http.Request, path string) string {
	// Ambari's hrefs name the head node's internal address, not the public one.
	return "http://10.0.0.15:8080" + path
}

// advertisesIPs reports whether the desired configs make a starting broker advertise its IP.
func (srv *Server) advertisesIPs(c *cluster) bool {
	env, broker := srv.desired(c, "kafka-env"), srv.desired(c, "kafka-broker")
	if env == nil || broker == nil {
		return false
	}
	return strings.Contains(env.Properties["content"], AdvertiseMarker) && strings.TrimSpace(broker.Properties["listeners"]) == ListenAll
}

// stage sets every broker's PendingAdvertised to what it will advertise
// after its next start, and marks the brokers stale when that differs.
func (srv *Server) stage(c *cluster) {
	ips := srv.advertisesIPs(c)
	k, err := inventory.Update[*inventory.KafkaInstance](srv.sim.Inventory, c.kafkaID, func(k *inventory.KafkaInstance) error {
		for i := range k.Brokers {
			b := &k.Brokers[i]
			want := b.Host
			if ips || want == "" {
				want = b.ListenerIP
			}
			b.PendingAdvertised = want
		}
		return nil
	})
	if err != nil {
		return
	}
	srv.mu.Lock()
	for _, b := range k.Brokers {
		c.stale[b.Host] = true
	}
	srv.mu.Unlock()
}

var predicate = regexp.MustCompile(`^([A-Za-z_/]+)=(.*)$`)

// predicates returns the query's equality predicates (Ambari's key=value form).
func predicates(r *http.Request) map[string]string {
	out := map[string]string{}
	for key, vals := range r.URL.Query() {
		if key == "fields" || key == "type" || key == "tag" || len(vals) == 0 {
			continue
		}
		if m := predicate.FindStringSubmatch(key + "=" + vals[0]); m != nil {
			out[m[1]] = m[2]
		}
	}
	return out
}
