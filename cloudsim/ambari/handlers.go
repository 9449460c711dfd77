package ambari

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/topoflow/topoflow/cloudsim/faults"
	"github.com/topoflow/topoflow/cloudsim/inventory"
)

func (srv *Server) getCluster(w http.ResponseWriter, r *http.Request, c *cluster, _ string) {
	desired := map[string]any{}
	for _, typ := range srv.configTypes(c) {
		if d := srv.desired(c, typ); d != nil {
			user := d.Tags["user"]
			if user == "" {
				user = "admin"
			}
			desired[typ] = map[string]any{"tag": tagOf(d), "user": user, "version": d.Version}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"href": href(r, r.URL.RequestURI()),
		"Clusters": map[string]any{
			"cluster_name": c.name, "cluster_id": 2, "version": "HDP-5.1", "security_type": "NONE",
			"desired_configs": desired,
		},
	})
}

// desiredConfig is one element of Clusters.desired_config.
type desiredConfig struct {
	Type       string            `json:"type"`
	Tag        string            `json:"tag"`
	Properties map[string]string `json:"properties"`
	Note       string            `json:"service_config_version_note"`
}

// parseDesired accepts {"Clusters":{"desired_config":{...}|[...]}} and the list form [{"Clusters":...}].
func parseDesired(raw []byte) ([]desiredConfig, error) {
	type clusters struct {
		Clusters struct {
			DesiredConfig json.RawMessage `json:"desired_config"`
		} `json:"Clusters"`
	}
	var bodies []clusters
	trimmed := strings.TrimSpace(string(raw))
	if strings.HasPrefix(trimmed, "[") {
		if err := json.Unmarshal(raw, &bodies); err != nil {
			return nil, err
		}
	} else {
		var one clusters
		if err := json.Unmarshal(raw, &one); err != nil {
			return nil, err
		}
		bodies = []clusters{one}
	}
	var out []desiredConfig
	for _, b := range bodies {
		dc := strings.TrimSpace(string(b.Clusters.DesiredConfig))
		switch {
		case dc == "" || dc == "null":
		case strings.HasPrefix(dc, "["):
			var list []desiredConfig
			if err := json.Unmarshal([]byte(dc), &list); err != nil {
				return nil, err
			}
			out = append(out, list...)
		default:
			var one desiredConfig
			if err := json.Unmarshal([]byte(dc), &one); err != nil {
				return nil, err
			}
			out = append(out, one)
		}
	}
	return out, nil
}

func (srv *Server) putCluster(w http.ResponseWriter, r *http.Request, c *cluster, user string) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		ambariError(w, http.StatusBadRequest, "Invalid Request: "+err.Error())
		return
	}
	dcs, err := parseDesired(raw)
	if err != nil {
		ambariError(w, http.StatusBadRequest, "Invalid Request: Malformed Request Body.  An exception occurred parsing the request body: "+err.Error())
		return
	}
	if len(dcs) == 0 {
		w.WriteHeader(http.StatusOK) // nothing to change: Ambari answers 200 with no body
		return
	}
	k, err := inventory.Get[*inventory.KafkaInstance](srv.sim.Inventory, c.kafkaID)
	if err != nil {
		ambariError(w, http.StatusNotFound, "The requested resource doesn't exist: Cluster not found, clusterName="+c.name)
		return
	}
	// Validate everything first: a request changes all types or none.
	for _, dc := range dcs {
		if dc.Type == "" || dc.Tag == "" {
			ambariError(w, http.StatusBadRequest, "Invalid Request: desired_config needs type and tag")
			return
		}
		for _, v := range srv.versions(c, dc.Type) {
			if tagOf(v) == dc.Tag {
				ambariError(w, http.StatusBadRequest, fmt.Sprintf("Configuration with tag '%s' exists for '%s'", dc.Tag, dc.Type))
				return
			}
		}
	}
	var configs []any
	for _, dc := range dcs {
		vs := srv.versions(c, dc.Type)
		next := 1
		if len(vs) > 0 {
			next = vs[len(vs)-1].Version + 1
		}
		props := dc.Properties
		if props == nil {
			props = map[string]string{}
		}
		for _, v := range vs {
			if v.Tags["desired"] == "true" {
				_, _ = inventory.Update[*inventory.Config](srv.sim.Inventory, v.ID, func(cf *inventory.Config) error {
					delete(cf.Tags, "desired")
					return nil
				})
			}
		}
		_, err := inventory.Create(srv.sim.Inventory, &inventory.Config{
			Meta:   inventory.Meta{ID: fmt.Sprintf("%s/%s/%d", c.name, dc.Type, next), Account: k.Account, Name: dc.Tag, Tags: map[string]string{"user": user, "desired": "true", "note": dc.Note}},
			Target: c.kafkaID, Type: dc.Type, Version: next, Properties: props,
		})
		if err != nil {
			ambariError(w, http.StatusInternalServerError, "store config: "+err.Error())
			return
		}
		srv.event(c.name, "config", fmt.Sprintf("%s %s v%d", dc.Type, dc.Tag, next))
		configs = append(configs, map[string]any{"clusterName": c.name, "type": dc.Type, "versionTag": dc.Tag, "version": next,
			"stackId": map[string]string{"stackName": "HDP", "stackVersion": "5.1", "stackId": "HDP-5.1"}, "configs": props, "configAttributes": map[string]any{}})
	}
	srv.stage(c)
	note := dcs[0].Note
	writeJSON(w, http.StatusOK, map[string]any{"resources": []any{map[string]any{
		"href":                        href(r, "/api/v1/clusters/"+c.name+"/configurations/service_config_versions?service_name=KAFKA"),
		"configurations":              configs,
		"group_id":                    -1,
		"group_name":                  "Default",
		"service_name":                "KAFKA",
		"service_config_version_note": note,
	}}})
}

func (srv *Server) getConfigurations(w http.ResponseWriter, r *http.Request, c *cluster, _ string) {
	typ, tag := r.URL.Query().Get("type"), r.URL.Query().Get("tag")
	items := []any{}
	for _, t := range srv.configTypes(c) {
		if typ != "" && t != typ {
			continue
		}
		for _, v := range srv.versions(c, t) {
			if tag != "" && tagOf(v) != tag {
				continue
			}
			items = append(items, map[string]any{
				"href": href(r, fmt.Sprintf("/api/v1/clusters/%s/configurations?type=%s&tag=%s", c.name, t, tagOf(v))),
				"tag":  tagOf(v), "type": t, "version": v.Version,
				"Config":                map[string]string{"cluster_name": c.name, "stack_id": "HDP-5.1"},
				"properties":            v.Properties,
				"properties_attributes": map[string]any{},
			})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"href": href(r, r.URL.RequestURI()), "items": items})
}

func (srv *Server) serviceInfo(c *cluster) map[string]any {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return map[string]any{"cluster_name": c.name, "service_name": "KAFKA", "maintenance_state": c.maintenance, "state": c.serviceState}
}

func (srv *Server) getService(w http.ResponseWriter, r *http.Request, c *cluster, _ string) {
	writeJSON(w, http.StatusOK, map[string]any{"href": href(r, r.URL.Path), "ServiceInfo": srv.serviceInfo(c)})
}

func (srv *Server) putService(w http.ResponseWriter, r *http.Request, c *cluster, _ string) {
	var body struct {
		RequestInfo struct {
			Context string `json:"context"`
		} `json:"RequestInfo"`
		Body struct {
			ServiceInfo struct {
				MaintenanceState string `json:"maintenance_state"`
				State            string `json:"state"`
			} `json:"ServiceInfo"`
		} `json:"Body"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil {
		ambariError(w, http.StatusBadRequest, "Invalid Request: Malformed Request Body.  An exception occurred parsing the request body: "+err.Error())
		return
	}
	si := body.Body.ServiceInfo
	if ms := si.MaintenanceState; ms != "" {
		if ms != "ON" && ms != "OFF" {
			ambariError(w, http.StatusBadRequest, "java.lang.IllegalArgumentException: No enum constant org.apache.ambari.server.state.MaintenanceState."+ms)
			return
		}
		srv.mu.Lock()
		changed := c.maintenance != ms
		c.maintenance = ms
		srv.mu.Unlock()
		if changed {
			srv.event(c.name, "maintenance", ms)
		}
	}
	if st := si.State; st != "" {
		if st != "INSTALLED" && st != "STARTED" {
			ambariError(w, http.StatusBadRequest, "Invalid desired state for a service: "+st)
			return
		}
		srv.mu.Lock()
		same := c.serviceState == st
		srv.mu.Unlock()
		if !same {
			cmd := "STOP"
			if st == "STARTED" {
				cmd = "START"
			}
			req := srv.newRequest(c, body.RequestInfo.Context, cmd)
			srv.mu.Lock()
			c.serviceState = st
			srv.mu.Unlock()
			srv.event(c.name, "serviceState", st)
			srv.accepted(w, r, c, req)
			return
		}
	}
	w.WriteHeader(http.StatusOK) // synchronous change: empty body, no request
}

func (srv *Server) accepted(w http.ResponseWriter, r *http.Request, c *cluster, req *request) {
	writeJSON(w, http.StatusAccepted, map[string]any{
		"href":     href(r, fmt.Sprintf("/api/v1/clusters/%s/requests/%d", c.name, req.ID)),
		"Requests": map[string]any{"id": req.ID, "status": "Accepted"},
	})
}

func (srv *Server) postRequest(w http.ResponseWriter, r *http.Request, c *cluster, _ string) {
	var body struct {
		RequestInfo struct {
			Command string `json:"command"`
			Action  string `json:"action"`
			Context string `json:"context"`
		} `json:"RequestInfo"`
		Filters []struct {
			ServiceName   string `json:"service_name"`
			ComponentName string `json:"component_name"`
			Hosts         string `json:"hosts"`
		} `json:"Requests/resource_filters"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil {
		ambariError(w, http.StatusBadRequest, "Invalid Request: Malformed Request Body.  An exception occurred parsing the request body: "+err.Error())
		return
	}
	ri := body.RequestInfo
	if (ri.Command == "") == (ri.Action == "") {
		ambariError(w, http.StatusBadRequest, "Invalid Request: Either command or action must be specified")
		return
	}
	if ri.Command != "RESTART" {
		ambariError(w, http.StatusBadRequest, fmt.Sprintf("Invalid Request: Unsupported action %s%s", ri.Command, ri.Action))
		return
	}
	if len(body.Filters) == 0 {
		ambariError(w, http.StatusBadRequest, "Invalid Request: Requests/resource_filters is required")
		return
	}
	var hosts map[string]bool
	for _, f := range body.Filters {
		if f.ServiceName != "KAFKA" || (f.ComponentName != "" && f.ComponentName != "KAFKA_BROKER") {
			ambariError(w, http.StatusBadRequest, fmt.Sprintf("Invalid Request: no component %s of service %s can be restarted here", f.ComponentName, f.ServiceName))
			return
		}
		if f.Hosts != "" {
			if hosts == nil {
				hosts = map[string]bool{}
			}
			for _, h := range strings.Split(f.Hosts, ",") {
				hosts[strings.TrimSpace(h)] = true
			}
		}
	}
	k, err := inventory.Get[*inventory.KafkaInstance](srv.sim.Inventory, c.kafkaID)
	if err != nil {
		ambariError(w, http.StatusNotFound, "Cluster not found")
		return
	}
	for h := range hosts {
		found := false
		for _, b := range k.Brokers {
			found = found || b.Host == h
		}
		if !found {
			ambariError(w, http.StatusBadRequest, fmt.Sprintf("Invalid Request: Host %s has no KAFKA_BROKER component", h))
			return
		}
	}
	// The server drops candidate hosts in maintenance mode before it builds
	// the stage (apache/ambari AmbariCustomCommandExecutionHelper.java:274-291,
	// filterHostsInMaintenanceState), and fails when none is left (:312-317).
	if hosts == nil {
		hosts = map[string]bool{}
		for _, b := range k.Brokers {
			hosts[b.Host] = true
		}
	}
	for h := range hosts {
		if srv.hostMaintenance(c, h) == "ON" {
			delete(hosts, h)
		}
	}
	if len(hosts) == 0 {
		ambariError(w, http.StatusInternalServerError, "org.apache.ambari.server.AmbariException: While building the RESTART custom command for KAFKA/KAFKA_BROKER, there were no healthy eligible hosts")
		return
	}
	req := srv.newRequestOn(c, ri.Context, "RESTART", hosts)
	srv.accepted(w, r, c, req)
}

func (srv *Server) newRequest(c *cluster, ctx, cmd string) *request {
	return srv.newRequestOn(c, ctx, cmd, nil)
}

// newRequestOn creates a request with one task per broker (of hosts, when
// given) and runs it in the background.
func (srv *Server) newRequestOn(c *cluster, ctx, cmd string, hosts map[string]bool) *request {
	k, _ := inventory.Get[*inventory.KafkaInstance](srv.sim.Inventory, c.kafkaID)
	srv.mu.Lock()
	srv.nextReq++
	req := &request{ID: srv.nextReq, Context: ctx, Status: StatusPending, Created: time.Now()}
	taskID := req.ID * 100
	if k != nil {
		for _, b := range k.Brokers {
			if hosts != nil && !hosts[b.Host] {
				continue
			}
			taskID++
			req.Tasks = append(req.Tasks, &task{ID: taskID, Host: b.Host, Broker: b.ID, Command: cmd, Status: StatusPending})
		}
	}
	c.requests[req.ID] = req
	srv.mu.Unlock()
	srv.event(c.name, "request", fmt.Sprintf("%d %s %s", req.ID, cmd, ctx))
	go srv.run(c, req)
	return req
}

// run executes a request. Ambari puts every candidate host of a command into
// one stage, and a stage's tasks run in parallel
// (apache/ambari AmbariCustomCommandExecutionHelper.java:339-345, addCustomCommandAction):
// a RESTART of all brokers stops them all at once, a full Kafka outage until
// they are back.
func (srv *Server) run(c *cluster, req *request) {
	c.run.Lock()
	defer c.run.Unlock()
	time.Sleep(srv.opts.TaskDuration / 3)
	srv.mu.Lock()
	req.Status = StatusInProgress
	if req.Started.IsZero() {
		req.Started = time.Now()
	}
	// A request resumed by a restarted twin (restoreState) keeps its ended tasks.
	for _, t := range req.Tasks {
		if !taskEnded(t) {
			t.Status = StatusInProgress
		}
	}
	srv.mu.Unlock()
	for _, t := range req.Tasks {
		if t.Command != "START" && !taskEnded(t) {
			srv.setBroker(c, t.Broker, true, false)
		}
	}
	srv.persist()
	time.Sleep(srv.opts.TaskDuration)
	failed := false
	for _, t := range req.Tasks {
		if taskEnded(t) {
			failed = failed || t.Status == StatusFailed
			continue
		}
		taskFailed := false
		for {
			kind, _ := srv.sim.Faults.Outcome("ambari.request.task")
			if kind == faults.Stuck {
				time.Sleep(srv.opts.TaskDuration)
				continue
			}
			taskFailed = kind == faults.Reject
			break
		}
		srv.mu.Lock()
		if taskFailed {
			t.Status = StatusFailed
			if !failed {
				req.AbortCause = fmt.Sprintf("task %d (%s on %s) failed", t.ID, t.Command, t.Host)
			}
		} else {
			t.Status = StatusCompleted
		}
		srv.mu.Unlock()
		failed = failed || taskFailed
		if !taskFailed && t.Command != "STOP" {
			srv.setBroker(c, t.Broker, false, true)
			srv.mu.Lock()
			delete(c.stale, t.Host)
			srv.mu.Unlock()
		}
		srv.persist()
	}
	srv.mu.Lock()
	req.Ended = time.Now()
	req.Status = StatusCompleted
	if failed {
		req.Status = StatusFailed
	}
	srv.mu.Unlock()
	srv.event(c.name, "requestDone", fmt.Sprintf("%d %s", req.ID, req.Status))
	srv.persist()
}

// setBroker stops a broker, or starts it with its staged advertised host.
func (srv *Server) setBroker(c *cluster, id int32, down, apply bool) {
	_, _ = inventory.Update[*inventory.KafkaInstance](srv.sim.Inventory, c.kafkaID, func(k *inventory.KafkaInstance) error {
		for i := range k.Brokers {
			b := &k.Brokers[i]
			if b.ID != id {
				continue
			}
			b.Down = down
			if apply && b.PendingAdvertised != "" {
				b.Advertised = b.PendingAdvertised
				b.PendingAdvertised = ""
			}
		}
		return nil
	})
}

func (srv *Server) getRequest(w http.ResponseWriter, r *http.Request, c *cluster, _ string) {
	id, err := strconv.Atoi(r.PathValue("id"))
	srv.mu.Lock()
	req := c.requests[id]
	var body map[string]any
	if req != nil {
		counts := map[string]int{}
		var tasks []any
		for _, t := range req.Tasks {
			counts[t.Status]++
			tasks = append(tasks, map[string]any{
				"href":  href(r, fmt.Sprintf("/api/v1/clusters/%s/requests/%d/tasks/%d", c.name, req.ID, t.ID)),
				"Tasks": map[string]any{"id": t.ID, "request_id": req.ID, "status": t.Status, "role": "KAFKA_BROKER", "command": "CUSTOM_COMMAND", "custom_command_name": t.Command, "host_name": t.Host},
			})
		}
		n := len(req.Tasks)
		done := counts[StatusCompleted] + counts[StatusFailed] + counts[StatusAborted]
		progress := 0.0
		if n > 0 {
			progress = 100 * float64(done) / float64(n)
		}
		if req.Status == StatusCompleted {
			progress = 100
		}
		ms := func(t time.Time) int64 {
			if t.IsZero() {
				return -1
			}
			return t.UnixMilli()
		}
		info := map[string]any{
			"id": req.ID, "cluster_name": c.name, "request_context": req.Context, "request_status": req.Status,
			"progress_percent": progress, "task_count": n, "completed_task_count": done,
			"failed_task_count": counts[StatusFailed], "aborted_task_count": counts[StatusAborted], "timed_out_task_count": 0,
			"queued_task_count": counts[StatusPending], "create_time": req.Created.UnixMilli(), "start_time": ms(req.Started),
			"end_time": ms(req.Ended), "type": "COMMAND", "exclusive": false, "inputs": nil,
		}
		if req.AbortCause != "" {
			info["abort_reason"] = req.AbortCause
		}
		body = map[string]any{"href": href(r, r.URL.Path), "Requests": info, "tasks": tasks}
	}
	srv.mu.Unlock()
	if err != nil || req == nil {
		ambariError(w, http.StatusNotFound, fmt.Sprintf("The requested resource doesn't exist: Request resource doesn't exist: requestId=%s", r.PathValue("id")))
		return
	}
	writeJSON(w, http.StatusOK, body)
}

func (srv *Server) getHosts(w http.ResponseWriter, r *http.Request, c *cluster, _ string) {
	k, err := inventory.Get[*inventory.KafkaInstance](srv.sim.Inventory, c.kafkaID)
	if err != nil {
		ambariError(w, http.StatusNotFound, "Cluster not found")
		return
	}
	preds := predicates(r)
	items := []any{}
	for _, b := range k.Brokers {
		if comp, ok := preds["host_components/HostRoles/component_name"]; ok && comp != "KAFKA_BROKER" {
			continue
		}
		if hn, ok := preds["Hosts/host_name"]; ok && hn != b.Host {
			continue
		}
		mm := srv.hostMaintenance(c, b.Host)
		if v, ok := preds["Hosts/maintenance_state"]; ok && v != mm {
			continue
		}
		items = append(items, map[string]any{
			"href":  href(r, "/api/v1/clusters/"+c.name+"/hosts/"+b.Host),
			"Hosts": map[string]any{"cluster_name": c.name, "host_name": b.Host, "ip": b.ListenerIP, "host_state": "HEALTHY", "maintenance_state": mm},
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"href": href(r, r.URL.RequestURI()), "items": items})
}

// hostMaintenance is a host's maintenance state (OFF unless turned ON).
func (srv *Server) hostMaintenance(c *cluster, host string) string {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if mm := c.hostMM[host]; mm != "" {
		return mm
	}
	return "OFF"
}

var hostQuery = regexp.MustCompile(`^Hosts/host_name\.in\(([^)]*)\)$`)

// putHosts turns hosts' maintenance mode ON or OFF, as ambari-web's
// bulk_request.hosts.passive_state does: PUT /clusters/{c}/hosts with
// RequestInfo.query Hosts/host_name.in(...) and Body.Hosts.maintenance_state
// (apache/ambari ambari-web/app/utils/ajax/ajax.js:2599-2615).
func (srv *Server) putHosts(w http.ResponseWriter, r *http.Request, c *cluster, _ string) {
	var body struct {
		RequestInfo struct {
			Context string `json:"context"`
			Query   string `json:"query"`
		} `json:"RequestInfo"`
		Body struct {
			Hosts struct {
				MaintenanceState string `json:"maintenance_state"`
			} `json:"Hosts"`
		} `json:"Body"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil {
		ambariError(w, http.StatusBadRequest, "Invalid Request: Malformed Request Body.  An exception occurred parsing the request body: "+err.Error())
		return
	}
	ms := body.Body.Hosts.MaintenanceState
	if ms != "ON" && ms != "OFF" {
		ambariError(w, http.StatusBadRequest, "java.lang.IllegalArgumentException: No enum constant org.apache.ambari.server.state.MaintenanceState."+ms)
		return
	}
	m := hostQuery.FindStringSubmatch(body.RequestInfo.Query)
	if m == nil {
		ambariError(w, http.StatusBadRequest, "Invalid Request: cloudsim supports RequestInfo.query Hosts/host_name.in(<hosts>) only")
		return
	}
	k, err := inventory.Get[*inventory.KafkaInstance](srv.sim.Inventory, c.kafkaID)
	if err != nil {
		ambariError(w, http.StatusNotFound, "Cluster not found")
		return
	}
	known := map[string]bool{}
	for _, b := range k.Brokers {
		known[b.Host] = true
	}
	var hosts []string
	for _, h := range strings.Split(m[1], ",") {
		if h = strings.TrimSpace(h); !known[h] {
			ambariError(w, http.StatusNotFound, "The requested resource doesn't exist: Host not found, hostname="+h)
			return
		}
		hosts = append(hosts, h)
	}
	srv.mu.Lock()
	for _, h := range hosts {
		c.hostMM[h] = ms
	}
	srv.mu.Unlock()
	srv.event(c.name, "hostMaintenance", ms+" "+strings.Join(hosts, ","))
	w.WriteHeader(http.StatusOK)
}

func (srv *Server) hostComponents(c *cluster) []map[string]any {
	k, err := inventory.Get[*inventory.KafkaInstance](srv.sim.Inventory, c.kafkaID)
	if err != nil {
		return nil
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	var out []map[string]any
	for _, b := range k.Brokers {
		state := "STARTED"
		if b.Down {
			state = "INSTALLED"
		}
		out = append(out, map[string]any{"cluster_name": c.name, "component_name": "KAFKA_BROKER", "service_name": "KAFKA",
			"host_name": b.Host, "state": state, "stale_configs": c.stale[b.Host], "maintenance_state": c.maintenance})
	}
	return out
}

func (srv *Server) getComponent(w http.ResponseWriter, r *http.Request, c *cluster, _ string) {
	if r.PathValue("comp") != "KAFKA_BROKER" {
		ambariError(w, http.StatusNotFound, "The requested resource doesn't exist: ServiceComponent not found, clusterName="+c.name+", serviceName=KAFKA, serviceComponentName="+r.PathValue("comp"))
		return
	}
	var hcs []any
	for _, hc := range srv.hostComponents(c) {
		hcs = append(hcs, map[string]any{"href": href(r, "/api/v1/clusters/"+c.name+"/hosts/"+hc["host_name"].(string)+"/host_components/KAFKA_BROKER"), "HostRoles": hc})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"href":                 href(r, r.URL.RequestURI()),
		"ServiceComponentInfo": map[string]any{"cluster_name": c.name, "component_name": "KAFKA_BROKER", "service_name": "KAFKA", "total_count": len(hcs)},
		"host_components":      hcs,
	})
}

func (srv *Server) getHostComponents(w http.ResponseWriter, r *http.Request, c *cluster, _ string) {
	preds := predicates(r)
	items := []any{}
	for _, hc := range srv.hostComponents(c) {
		if v, ok := preds["HostRoles/stale_configs"]; ok && v != strconv.FormatBool(hc["stale_configs"].(bool)) {
			continue
		}
		if v, ok := preds["HostRoles/service_name"]; ok && v != "KAFKA" {
			continue
		}
		if v, ok := preds["HostRoles/component_name"]; ok && v != "KAFKA_BROKER" {
			continue
		}
		items = append(items, map[string]any{"href": href(r, "/api/v1/clusters/"+c.name+"/hosts/"+hc["host_name"].(string)+"/host_components/KAFKA_BROKER"), "HostRoles": hc})
	}
	writeJSON(w, http.StatusOK, map[string]any{"href": href(r, r.URL.RequestURI()), "items": items})
}

func (srv *Server) listRequests(w http.ResponseWriter, r *http.Request, c *cluster, _ string) {
	srv.mu.Lock()
	ids := make([]int, 0, len(c.requests))
	for id := range c.requests {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	items := []any{}
	for _, id := range ids {
		req := c.requests[id]
		items = append(items, map[string]any{
			"href":     href(r, fmt.Sprintf("/api/v1/clusters/%s/requests/%d", c.name, id)),
			"Requests": map[string]any{"id": id, "cluster_name": c.name, "request_context": req.Context, "request_status": req.Status},
		})
	}
	srv.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"href": href(r, r.URL.RequestURI()), "items": items})
}
