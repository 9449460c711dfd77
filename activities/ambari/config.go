package ambari

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// The config version resource (desired configs of the cluster): read, write
// a new version, and the look-up of the version an earlier attempt wrote.

func init() {
	typed[catalog.AmbariGetConfig] = func(a *Actions) activities.Func { return activities.Typed(a.GetConfig) }
	typed[catalog.AmbariPutConfig] = func(a *Actions) activities.Func { return activities.Typed(a.PutConfig) }
}

// GetConfig reads the desired version of a config type.
func (a *Actions) GetConfig(ctx context.Context, call plan.Call, in catalog.AmbariConfigIn) (catalog.AmbariConfigOut, error) {
	var none catalog.AmbariConfigOut
	typ := in.Type
	c, err := a.client(ctx, call)
	if err != nil {
		return none, err
	}
	cur, err := current(ctx, c, typ)
	if err != nil {
		return none, classify(call.Action, err)
	}
	props := map[string]string{}
	for k, v := range cur.Properties {
		props[k] = v
	}
	return catalog.AmbariConfigOut{Type: typ, Tag: cur.Tag, Version: cur.Version, Properties: props}, nil
}

// current returns the desired version of typ with its properties.
func current(ctx context.Context, c *Client, typ string) (ConfigVersion, error) {
	desired, err := c.DesiredConfigs(ctx)
	if err != nil {
		return ConfigVersion{}, err
	}
	d, ok := desired[typ]
	if !ok {
		return ConfigVersion{}, &Error{Op: "GET /clusters/" + c.Cluster, Status: http.StatusNotFound, Message: "no desired config of type " + typ}
	}
	return c.Config(ctx, typ, d.Tag)
}

// topoflowTag matches the tags PutConfig writes (version<ms>-tf<10 hex>).
var topoflowTag = regexp.MustCompile(`^version[0-9]+-tf[0-9a-f]{10}$`)

// tagMarker is the suffix that ties a config version to the call that wrote it.
func tagMarker(idemKey string) string {
	if idemKey == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(idemKey))
	return "-tf" + hex.EncodeToString(sum[:5])
}

// PutConfig writes a new desired version of a config type: properties set,
// appendContent appended to `content` (unless already there), or the
// properties of restoreTag. The full property map is sent under a new tag
// version<ms>-tf<hash of the idempotency key>; a retried call finds the
// version its earlier attempt wrote and reports it instead of writing again.
func (a *Actions) PutConfig(ctx context.Context, call plan.Call, in catalog.AmbariPutConfigIn) (catalog.AmbariPutConfigOut, error) {
	var none catalog.AmbariPutConfigOut
	typ, set, appendContent, restoreTag, note := in.Type, in.Properties, in.AppendContent, in.RestoreTag, in.Note
	if restoreTag != "" && (len(set) > 0 || appendContent != "") {
		return none, activities.Fail(plan.ErrInvalid, "%s: restoreTag excludes properties and appendContent", call.Action)
	}
	c, err := a.client(ctx, call)
	if err != nil {
		return none, err
	}
	out, err := a.applyConfig(ctx, c, typ, set, appendContent, restoreTag, note, tagMarker(call.IdempotencyKey))
	if err != nil {
		return none, classify(call.Action, err)
	}
	return out, nil
}

// applyConfig computes and writes a new desired version of typ (see PutConfig).
func (a *Actions) applyConfig(ctx context.Context, c *Client, typ string, set map[string]any, appendContent, restoreTag, note, marker string) (catalog.AmbariPutConfigOut, error) {
	var none catalog.AmbariPutConfigOut
	cur, err := current(ctx, c, typ)
	if err != nil {
		return none, err
	}
	if marker != "" && strings.HasSuffix(cur.Tag, marker) {
		// An earlier attempt of this call wrote the desired version: report it.
		prev, err := previousVersion(ctx, c, typ, cur.Version)
		if err != nil {
			return none, err
		}
		return catalog.AmbariPutConfigOut{Type: typ, Tag: cur.Tag, PreviousTag: prev, Changed: true, Version: cur.Version}, nil
	}
	next := maps.Clone(cur.Properties)
	switch {
	case restoreTag != "":
		old, err := c.Config(ctx, typ, restoreTag)
		if err != nil {
			return none, err
		}
		next = old.Properties
	default:
		for k, v := range set {
			next[k] = fmt.Sprint(v)
		}
		if appendContent != "" && !strings.Contains(next["content"], strings.TrimSpace(appendContent)) {
			content := next["content"]
			if content != "" && !strings.HasSuffix(content, "\n") {
				content += "\n"
			}
			next["content"] = content + appendContent
		}
	}
	if maps.Equal(next, cur.Properties) {
		prev := cur.Tag
		if restoreTag == "" && topoflowTag.MatchString(cur.Tag) {
			// The change is already desired because another request wrote
			// it (its tag carries a call's marker): this request shares the
			// change, and what it replaced is that version's base. The last
			// of the requests sharing it restores the base
			// (workflows/samechange.go); restoring cur.Tag would keep it forever.
			if base, err := previousVersion(ctx, c, typ, cur.Version); err == nil {
				prev = base
			}
		}
		return catalog.AmbariPutConfigOut{Type: typ, Tag: cur.Tag, PreviousTag: prev, Version: cur.Version}, nil
	}
	tag := "version" + strconv.FormatInt(a.now().UnixMilli(), 10) + marker
	if err := c.PutConfig(ctx, typ, tag, next, note); err != nil {
		return none, err
	}
	return catalog.AmbariPutConfigOut{Type: typ, Tag: tag, PreviousTag: cur.Tag, Changed: true, Version: cur.Version + 1}, nil
}

// previousVersion returns the tag of the newest version of typ older than version.
func previousVersion(ctx context.Context, c *Client, typ string, version int) (string, error) {
	all, err := c.Configs(ctx, typ, "")
	if err != nil {
		return "", err
	}
	best, tag := 0, ""
	for _, v := range all {
		if v.Version < version && v.Version > best {
			best, tag = v.Version, v.Tag
		}
	}
	if tag == "" {
		return "", fmt.Errorf("no version of %s before %d", typ, version)
	}
	return tag, nil
}
