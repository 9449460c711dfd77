package huawei

import (
	"net/http"
	"sort"
	"unicode"
	"unicode/utf8"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// The security group tag resource (VPC v2.0: batch create/delete, create
// one, show). Security group rules carry no tags
// (huaweicloud-sdk-go-v3 services/vpc/v3/model/model_security_group_rule.go
// has none), so tags on the group are the only place a rule's users can be
// recorded in the cloud (activities/huawei/owners.go).
//
// Limits, the strictest documented (the twin is never kinder):
//   - key 1..36 characters, value 0..43 ("Tag length is invalid. The key length
//     must be in range [1,36] and value in range [0,43]": VPC tag error
//     VPC.1801, https://support.huaweicloud.com/intl/en-us/api-elb/elb_zq_bq_0013.html;
//     Minimum/Maximum 36 and 43 in
//     https://support.huaweicloud.com/intl/en-us/api-vpc/BatchCreateSecurityGroupTags.html;
//     newer regions document 128/255);
//   - key: letters, digits, "_" and "-"; value: letters, digits, "_", "." and
//     "-" (https://support.huaweicloud.com/intl/en-us/api-vpc/CreateSecurityGroupTag.html);
//   - duplicate keys in one request are refused; an existing key is
//     overwritten; deleting a missing tag succeeds and its characters are not
//     checked (https://support.huaweicloud.com/intl/en-us/api-vpc/BatchCreateDeleteSecurityGroupTags.html);
//   - at most 20 tags per resource (Huawei Cloud TMS: 20 tags per resource).

const (
	maxSGTags       = 20
	maxTagKeyLen    = 36
	maxTagValueLen  = 43
	tagInvalidInput = "VPC.1801"
)

func init() { resources = append(resources, (*api).sgTagRoutes) }

func (a *api) sgTagRoutes() {
	const tags = "/v2.0/{project_id}/security-groups/{security_group_id}/tags"
	a.handle("POST "+tags+"/action", "huawei.vpc.BatchSecurityGroupTags", a.batchSGTags)
	a.handle("POST "+tags, "huawei.vpc.CreateSecurityGroupTag", a.createSGTag)
	a.handle("GET "+tags, "huawei.vpc.ShowSecurityGroupTags", a.showSGTags)
}

type sgTag struct {
	Key   *string `json:"key"`
	Value *string `json:"value"`
}

// tagChars reports whether s holds only letters, digits and the extra runes.
func tagChars(s, extra string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !containsRune(extra, r) {
			return false
		}
	}
	return true
}

func containsRune(s string, r rune) bool {
	for _, x := range s {
		if x == r {
			return true
		}
	}
	return false
}

// checkTag validates a tag to create; it returns the error message or "".
func checkTag(t sgTag) string {
	if t.Key == nil || *t.Key == "" {
		return "Tag key can not be null."
	}
	v := ""
	if t.Value != nil {
		v = *t.Value
	}
	if n, m := utf8.RuneCountInString(*t.Key), utf8.RuneCountInString(v); n > maxTagKeyLen || m > maxTagValueLen {
		return "Tag length is invalid. The key length must be in range [1,36] and value in range [0,43]"
	}
	if !tagChars(*t.Key, "_-") {
		return "InvalidInput/Tag key " + *t.Key + " is invalid."
	}
	if !tagChars(v, "_.-") {
		return "InvalidInput/Tag value " + v + " is invalid."
	}
	return ""
}

// sgForTags finds the caller's security group of the path.
func (a *api) sgForTags(w http.ResponseWriter, c *caller) (*inventory.SecurityGroup, bool) {
	id := c.r.PathValue("security_group_id")
	g, err := inventory.Get[*inventory.SecurityGroup](a.inv, id)
	if err != nil || !c.owned(g) {
		writeErr(w, http.StatusNotFound, "VPC.0601", "Security group "+id+" does not exist")
		return nil, false
	}
	return g, true
}

// putTags merges tags into the group, refusing a result above the limit.
func (a *api) putTags(w http.ResponseWriter, g *inventory.SecurityGroup, tags []sgTag) bool {
	over := false
	_, err := inventory.Update(a.inv, g.ID, func(g *inventory.SecurityGroup) error {
		next := map[string]string{}
		for k, v := range g.Tags {
			next[k] = v
		}
		for _, t := range tags {
			v := ""
			if t.Value != nil {
				v = *t.Value
			}
			next[*t.Key] = v
		}
		if len(next) > maxSGTags {
			over = true
			return nil
		}
		g.Tags = next
		return nil
	})
	if err != nil {
		writeErr(w, http.StatusNotFound, "VPC.0601", "Security group "+g.ID+" does not exist")
		return false
	}
	if over {
		writeErr(w, http.StatusBadRequest, tagInvalidInput, "The number of tags of the resource exceeds the maximum of 20.")
		return false
	}
	return true
}

func (a *api) batchSGTags(w http.ResponseWriter, c *caller) {
	var req struct {
		Action string   `json:"action"`
		Tags   *[]sgTag `json:"tags"`
	}
	if err := c.decode(&req); err != nil || req.Tags == nil {
		writeErr(w, http.StatusBadRequest, tagInvalidInput, "Tag can not be null.")
		return
	}
	if req.Action != "create" && req.Action != "delete" {
		writeErr(w, http.StatusBadRequest, tagInvalidInput, "action is invalid.")
		return
	}
	g, ok := a.sgForTags(w, c)
	if !ok {
		return
	}
	seen := map[string]bool{}
	for _, t := range *req.Tags {
		if t.Key == nil || *t.Key == "" {
			writeErr(w, http.StatusBadRequest, tagInvalidInput, "Tag key can not be null.")
			return
		}
		if seen[*t.Key] {
			writeErr(w, http.StatusBadRequest, tagInvalidInput, "Duplicate tag key "+*t.Key+".")
			return
		}
		seen[*t.Key] = true
		if req.Action == "create" {
			if msg := checkTag(t); msg != "" {
				writeErr(w, http.StatusBadRequest, tagInvalidInput, msg)
				return
			}
		}
	}
	if req.Action == "create" {
		if a.putTags(w, g, *req.Tags) {
			w.WriteHeader(http.StatusNoContent)
		}
		return
	}
	_, _ = inventory.Update(a.inv, g.ID, func(g *inventory.SecurityGroup) error {
		for k := range seen {
			delete(g.Tags, k)
		}
		if len(g.Tags) == 0 {
			g.Tags = nil
		}
		return nil
	})
	w.WriteHeader(http.StatusNoContent)
}

func (a *api) createSGTag(w http.ResponseWriter, c *caller) {
	var req struct {
		Tag *sgTag `json:"tag"`
	}
	if err := c.decode(&req); err != nil || req.Tag == nil {
		writeErr(w, http.StatusBadRequest, tagInvalidInput, "Tag can not be null.")
		return
	}
	if msg := checkTag(*req.Tag); msg != "" {
		writeErr(w, http.StatusBadRequest, tagInvalidInput, msg)
		return
	}
	g, ok := a.sgForTags(w, c)
	if !ok {
		return
	}
	if a.putTags(w, g, []sgTag{*req.Tag}) {
		w.WriteHeader(http.StatusNoContent)
	}
}

func (a *api) showSGTags(w http.ResponseWriter, c *caller) {
	g, ok := a.sgForTags(w, c)
	if !ok {
		return
	}
	keys := make([]string, 0, len(g.Tags))
	for k := range g.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]map[string]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, map[string]string{"key": k, "value": g.Tags[k]})
	}
	writeJSON(w, http.StatusOK, map[string]any{"tags": out})
}
