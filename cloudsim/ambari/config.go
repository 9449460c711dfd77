package ambari

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// The cluster and its desired configs: GET/PUT the cluster (desired_configs),
// GET configurations.

func init() { resources = append(resources, (*Server).configRoutes) }

func (srv *Server) configRoutes() {
	const c = "/api/v1/clusters/{c}"
	srv.handle("GET "+c, "GET.cluster", srv.getCluster)
	srv.handle("PUT "+c, "PUT.cluster", srv.putCluster)
	srv.handle("GET "+c+"/configurations", "GET.configurations", srv.getConfigurations)
}

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
