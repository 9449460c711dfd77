package huawei

import (
	"net/http"
	"strings"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// The endpoint service permission resource (the whitelist, VPCEP v1): add or remove, list.

func init() { resources = append(resources, (*api).servicePermissionRoutes) }

func (a *api) servicePermissionRoutes() {
	const svc = "/v1/{project_id}/vpc-endpoint-services"
	a.handle("POST "+svc+"/{id}/permissions/action", "huawei.vpcep.AddOrRemoveServicePermissions", a.permissionsAction)
	a.handle("GET "+svc+"/{id}/permissions", "huawei.vpcep.ListServicePermissionsDetails", a.listPermissions)
}

func (a *api) permissionsAction(w http.ResponseWriter, c *caller) {
	s, ok := a.ownService(w, c)
	if !ok {
		return
	}
	var req struct {
		Permissions    []string `json:"permissions"`
		PermissionType string   `json:"permission_type"`
		Action         string   `json:"action"`
	}
	if err := c.decode(&req); err != nil {
		writeErr(w, http.StatusBadRequest, codeInvalid, err.Error())
		return
	}
	if req.Action != "add" && req.Action != "remove" {
		writeErr(w, http.StatusBadRequest, codeInvalid, "action must be add or remove")
		return
	}
	for _, p := range req.Permissions {
		if !validPermission(p) {
			writeErr(w, http.StatusBadRequest, codeInvalid, "invalid permission "+p+" (expected iam:domain::<domain_id> or *)")
			return
		}
	}
	if req.PermissionType == "" {
		req.PermissionType = "domainId"
	}
	updated, err := inventory.Update(a.inv, s.ID, func(s *inventory.EndpointService) error {
		for _, p := range req.Permissions {
			idx := -1
			for i, have := range s.Permissions {
				if have.Permission == p {
					idx = i
				}
			}
			switch {
			case req.Action == "add" && idx < 0:
				s.Permissions = append(s.Permissions, inventory.Permission{ID: inventory.NewID(inventory.KindEndpointService), Permission: p, Type: req.PermissionType, CreatedAt: a.now()})
			case req.Action == "remove" && idx >= 0:
				s.Permissions = append(s.Permissions[:idx], s.Permissions[idx+1:]...)
			}
		}
		return nil
	})
	if err != nil {
		writeErr(w, http.StatusNotFound, codeServiceNotFound, "The VPC endpoint service "+s.ID+" does not exist")
		return
	}
	perms := []string{}
	for _, p := range updated.Permissions {
		perms = append(perms, p.Permission)
	}
	writeJSON(w, http.StatusOK, map[string]any{"permissions": perms, "permission_type": req.PermissionType})
}

func validPermission(p string) bool {
	if p == "*" {
		return true
	}
	if d, ok := strings.CutPrefix(p, "iam:domain::"); ok {
		if d == "" || len(d) > 64 {
			return false
		}
		for _, r := range d {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '*') {
				return false
			}
		}
		return true
	}
	return strings.HasPrefix(p, "organizations:orgPath::")
}

func (a *api) listPermissions(w http.ResponseWriter, c *caller) {
	s, ok := a.ownService(w, c)
	if !ok {
		return
	}
	want := c.r.URL.Query().Get("permission")
	var out []map[string]any
	for _, p := range s.Permissions {
		if want != "" && !strings.Contains(p.Permission, want) {
			continue
		}
		out = append(out, map[string]any{"id": p.ID, "permission": p.Permission, "permission_type": p.Type, "created_at": ts(p.CreatedAt)})
	}
	limit, offset := pageParams(c.r)
	writeJSON(w, http.StatusOK, map[string]any{"permissions": page(nonNil(out), limit, offset), "total_count": len(out)})
}

// whitelisted reports whether the caller's domain may connect to the service.
func whitelisted(s *inventory.EndpointService, acct *inventory.Account) bool {
	if s.Account == acct.ID || s.Attrs["domainId"] == acct.DomainID {
		return true
	}
	for _, p := range s.Permissions {
		if p.Permission == "*" || p.Permission == "iam:domain::"+acct.DomainID || p.Permission == "iam:domain::*" {
			return true
		}
	}
	return false
}
