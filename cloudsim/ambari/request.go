package ambari

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/topoflow/topoflow/cloudsim/faults"
	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// The request resource (RESTART and other commands): create, list, show, and
// the tasks that run them.

func init() { resources = append(resources, (*Server).requestRoutes) }

func (srv *Server) requestRoutes() {
	const c = "/api/v1/clusters/{c}"
	srv.handle("POST "+c+"/requests", "POST.requests", srv.postRequest)
	srv.handle("GET "+c+"/requests", "GET.requests", srv.listRequests)
	srv.handle("GET "+c+"/requests/{id}", "GET.request", srv.getRequest)
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
