package ambari

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// The host resource (IPs, maintenance state) and the host components.

func init() { resources = append(resources, (*Server).hostRoutes) }

func (srv *Server) hostRoutes() {
	const c = "/api/v1/clusters/{c}"
	srv.handle("GET "+c+"/hosts", "GET.hosts", srv.getHosts)
	srv.handle("PUT "+c+"/hosts", "PUT.hosts", srv.putHosts)
	srv.handle("GET "+c+"/host_components", "GET.host_components", srv.getHostComponents)
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
