package aws

import (
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// EC2 tags on security-group rules and route tables (the resources the twin
// tags through CreateTags/DeleteTags; every other ID is refused as not
// modelled). Limits
// and semantics are AWS's:
//   - key ≤ 127 characters, value ≤ 256, keys may not begin with "aws:"
//     (aws-sdk-go-v2 service/ec2/types/types.go, Tag);
//   - at most 50 user tags per resource, TagLimitExceeded beyond
//     (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Using_Tags.html#tag-restrictions);
//   - CreateTags overwrites the value of an existing key;
//   - DeleteTags with a key and no value deletes the key whatever its value,
//     with a value only if it matches, and without any Tag deletes every user
//     tag (service/ec2/api_op_DeleteTags.go, DeleteTagsInput.Tags).

const maxTagsPerResource = 50

// formTag is one Tag.N of a request; hasValue distinguishes "no Value" from "".
type formTag struct {
	key, value string
	hasValue   bool
}

// formTags reads Tag.N.Key / Tag.N.Value (prefix "Tag").
func formTags(f form, prefix string) []formTag {
	var out []formTag
	for i := 1; i <= f.count(prefix); i++ {
		p := prefix + "." + strconv.Itoa(i)
		_, has := f.Values[p+".Value"]
		out = append(out, formTag{key: f.Get(p + ".Key"), value: f.Get(p + ".Value"), hasValue: has})
	}
	return out
}

// checkTag applies the key and value constraints.
func checkTag(k, v string) *ec2Error {
	switch {
	case k == "":
		return errf("InvalidParameterValue", "Tag key must not be empty")
	case utf8.RuneCountInString(k) > 127:
		return errf("InvalidParameterValue", "Tag key exceeds the maximum length of 127 characters")
	case strings.HasPrefix(strings.ToLower(k), "aws:"):
		return errf("InvalidParameterValue", "Tag keys starting with 'aws:' are reserved for internal use")
	case utf8.RuneCountInString(v) > 256:
		return errf("InvalidParameterValue", "Tag value exceeds the maximum length of 256 characters")
	}
	return nil
}

// applyTags merges tags into have, enforcing the limits.
func applyTags(have map[string]string, add map[string]string) (map[string]string, *ec2Error) {
	out := map[string]string{}
	for k, v := range have {
		out[k] = v
	}
	for k, v := range add {
		if e := checkTag(k, v); e != nil {
			return nil, e
		}
		out[k] = v
	}
	if len(out) > maxTagsPerResource {
		return nil, errf("TagLimitExceeded", "The maximum number of tags (%d) for this resource has been reached", maxTagsPerResource)
	}
	return out, nil
}

// findRule returns the caller's security group holding rule id.
func (a *api) findRule(c *caller, id string) (*inventory.SecurityGroup, int, *ec2Error) {
	if !strings.HasPrefix(id, "sgr-") {
		return nil, 0, errf("InvalidID", "The ID '%s' is not valid (the twin tags security group rules only)", id)
	}
	for _, g := range inventory.List[*inventory.SecurityGroup](a.inv, inventory.Filter{Account: c.acct.ID}) {
		if g.Region != "" && g.Region != c.region {
			continue
		}
		for i, r := range g.Rules {
			if r.ID == id {
				return g, i, nil
			}
		}
	}
	return nil, 0, errf("InvalidSecurityGroupRuleId.NotFound", "The security group rule ID '%s' does not exist", id)
}

// createTags adds or overwrites tags on security-group rules.
func (a *api) createTags(c *caller, f form) ([]node, *ec2Error) {
	ids, tags := f.list("ResourceId"), formTags(f, "Tag")
	if len(ids) == 0 {
		return nil, errf("MissingParameter", "The request must contain the parameter resourceIdSet")
	}
	if len(tags) == 0 {
		return nil, errf("MissingParameter", "The request must contain the parameter tagSet")
	}
	add := map[string]string{}
	for _, t := range tags {
		add[t.key] = t.value
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.updateRuleTags(c, ids, func(have map[string]string) (map[string]string, *ec2Error) { return applyTags(have, add) })
}

// deleteTags removes tags from security-group rules.
func (a *api) deleteTags(c *caller, f form) ([]node, *ec2Error) {
	ids, tags := f.list("ResourceId"), formTags(f, "Tag")
	if len(ids) == 0 {
		return nil, errf("MissingParameter", "The request must contain the parameter resourceIdSet")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.updateRuleTags(c, ids, func(have map[string]string) (map[string]string, *ec2Error) {
		out := map[string]string{}
		for k, v := range have {
			out[k] = v
		}
		if len(tags) == 0 {
			for k := range out {
				if !strings.HasPrefix(k, "aws:") {
					delete(out, k)
				}
			}
			return out, nil
		}
		for _, t := range tags {
			if v, ok := out[t.key]; ok && (!t.hasValue || v == t.value) {
				delete(out, t.key)
			}
		}
		return out, nil
	})
}

// updateRuleTags checks every resource first, then changes them all (a
// request naming one unknown resource changes none).
func (a *api) updateRuleTags(c *caller, ids []string, change func(map[string]string) (map[string]string, *ec2Error)) ([]node, *ec2Error) {
	type target struct {
		g    *inventory.SecurityGroup
		id   string
		tags map[string]string
	}
	var ts, rts []target
	for _, id := range ids {
		if strings.HasPrefix(id, "rtb-") {
			rt, e := a.ownRouteTable(c, id)
			if e != nil {
				return nil, e
			}
			tags, e := change(nameTags(rt.Meta))
			if e != nil {
				return nil, e
			}
			rts = append(rts, target{id: id, tags: tags})
			continue
		}
		g, i, e := a.findRule(c, id)
		if e != nil {
			return nil, e
		}
		tags, e := change(g.Rules[i].Tags)
		if e != nil {
			return nil, e
		}
		ts = append(ts, target{g, id, tags})
	}
	for _, t := range rts {
		if _, err := inventory.Update(a.inv, t.id, func(x *inventory.RouteTable) error {
			// The Name tag is the resource's name.
			x.Name = t.tags["Name"]
			rest := copyTags(t.tags)
			delete(rest, "Name")
			x.Tags = copyTags(rest)
			return nil
		}); err != nil {
			return nil, errf("InternalError", "%v", err)
		}
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].id < ts[j].id })
	for _, t := range ts {
		if _, err := inventory.Update(a.inv, t.g.ID, func(x *inventory.SecurityGroup) error {
			for i := range x.Rules {
				if x.Rules[i].ID == t.id {
					x.Rules[i].Tags = t.tags
					if len(t.tags) == 0 {
						x.Rules[i].Tags = nil
					}
				}
			}
			return nil
		}); err != nil {
			return nil, errf("InternalError", "%v", err)
		}
	}
	return []node{boolx("return", true)}, nil
}

func copyTags(t map[string]string) map[string]string {
	if len(t) == 0 {
		return nil
	}
	out := make(map[string]string, len(t))
	for k, v := range t {
		out[k] = v
	}
	return out
}
