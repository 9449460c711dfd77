package ambari

import (
	"encoding/json"
	"io"
	"net/http"
)

// The service resource (maintenance state) and its components.

func init() { resources = append(resources, (*Server).serviceRoutes) }

func (srv *Server) serviceRoutes() {
	const c = "/api/v1/clusters/{c}"
	srv.handle("GET "+c+"/services/{svc}", "GET.service", srv.getService)
	srv.handle("PUT "+c+"/services/{svc}", "PUT.service", srv.putService)
	srv.handle("GET "+c+"/services/{svc}/components/{comp}", "GET.component", srv.getComponent)
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
