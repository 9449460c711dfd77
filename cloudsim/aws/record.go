package aws

import (
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"

	"github.com/topoflow/topoflow/cloudsim/inventory"
)

// Route 53 record sets (see route53.go): changed in batches (a change is
// PENDING until it has propagated), listed.

type r53Change struct {
	Action string `xml:"Action"`
	RRSet  struct {
		Name        string   `xml:"Name"`
		Type        string   `xml:"Type"`
		TTL         int64    `xml:"TTL"`
		Values      []string `xml:"ResourceRecords>ResourceRecord>Value"`
		AliasTarget *struct {
			DNSName string `xml:"DNSName"`
		} `xml:"AliasTarget"`
	} `xml:"ResourceRecordSet"`
}

func invalidBatch(msg string) *r53Error {
	return r53Err(http.StatusBadRequest, "InvalidChangeBatch", msg)
}

func (a *api) changeRecordSets(c *caller, r *http.Request, body []byte) (int, node, *r53Error) {
	var in struct {
		Comment string      `xml:"ChangeBatch>Comment"`
		Changes []r53Change `xml:"ChangeBatch>Changes>Change"`
	}
	if err := xml.Unmarshal(body, &in); err != nil || len(in.Changes) == 0 {
		return 0, node{}, r53Err(http.StatusBadRequest, "InvalidInput", "ChangeBatch.Changes must hold at least one change")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	z, e := a.ownZone(c, r.PathValue("id"))
	if e != nil {
		return 0, node{}, e
	}
	zone := z.Properties["name"]
	// The batch is validated as a whole and applied atomically (api_op_ChangeResourceRecordSets.go).
	next := map[string]string{}
	for _, n := range zoneRecords(z) {
		next[n] = z.Properties["rr:"+n]
	}
	for _, ch := range in.Changes {
		rs := ch.RRSet
		name, typ := fqdn(rs.Name), strings.ToUpper(rs.Type)
		label := "[name='" + name + ".', type='" + typ + "']"
		if name != zone && !strings.HasSuffix(name, "."+zone) {
			return 0, node{}, invalidBatch("RRSet with DNS name " + name + ". is not permitted in zone " + zone + ".")
		}
		if rs.AliasTarget != nil || (typ != "A" && typ != "CNAME") {
			return 0, node{}, r53Err(http.StatusBadRequest, "InvalidInput", "only A and CNAME records without alias are simulated, got "+typ)
		}
		if typ == "CNAME" && name == zone {
			return 0, node{}, invalidBatch("RRSet of type CNAME with DNS name " + name + ". is not permitted at apex in zone " + zone + ".")
		}
		if len(rs.Values) == 0 || (typ == "CNAME" && len(rs.Values) != 1) {
			return 0, node{}, r53Err(http.StatusBadRequest, "InvalidInput", "Invalid resource records for "+label)
		}
		val := typ + " " + strconv.FormatInt(rs.TTL, 10) + " " + strings.Join(rs.Values, ",")
		have, exists := next[name]
		haveType, _, _ := strings.Cut(have, " ")
		switch ch.Action {
		case "CREATE":
			if exists && haveType == typ {
				return 0, node{}, invalidBatch("Tried to create resource record set " + label + " but it already exists")
			}
			fallthrough
		case "UPSERT":
			if exists && haveType != typ {
				return 0, node{}, invalidBatch("RRSet of type " + typ + " with DNS name " + name + ". is not permitted because a conflicting RRSet of type " + haveType + " with the same DNS name already exists in zone " + zone + ".")
			}
			next[name] = val
		case "DELETE":
			if !exists || haveType != typ {
				return 0, node{}, invalidBatch("Tried to delete resource record set " + label + " but it was not found")
			}
			if have != val {
				return 0, node{}, invalidBatch("Tried to delete resource record set " + label + " but the values provided do not match the current values")
			}
			delete(next, name)
		default:
			return 0, node{}, r53Err(http.StatusBadRequest, "InvalidInput", "Action must be CREATE, DELETE or UPSERT")
		}
	}
	seq := 1
	if n, err := strconv.Atoi(z.Properties[changeSeqKey]); err == nil {
		seq = n + 1
	}
	if _, err := inventory.Update(a.inv, z.ID, func(x *inventory.Config) error {
		setRecords(x, "rr:", next)
		x.Properties[changeSeqKey] = strconv.Itoa(seq)
		return nil
	}); err != nil {
		return 0, node{}, r53Err(http.StatusInternalServerError, "InternalError", err.Error())
	}
	zoneID := z.ID
	ch, e := a.newChange(c, in.Comment, &zoneUpdate{Zone: zoneID, Seq: seq, Next: next})
	if e != nil {
		return 0, node{}, e
	}
	return http.StatusOK, el("ChangeResourceRecordSetsResponse", changeInfo(ch)), nil
}

// setRecords replaces the zone's records under prefix ("rr:" or "record:")
// with next (fqdn -> "<TYPE> <ttl> <values>"; "record:" drops the TTL).
func setRecords(x *inventory.Config, prefix string, next map[string]string) {
	for k := range x.Properties {
		if strings.HasPrefix(k, prefix) {
			delete(x.Properties, k)
		}
	}
	for n, v := range next {
		if prefix == "rr:" {
			x.Properties["rr:"+n] = v
			continue
		}
		t, rest, _ := strings.Cut(v, " ")
		_, vals, _ := strings.Cut(rest, " ")
		x.Properties["record:"+n] = t + " " + vals
	}
}

// propagate makes change seq (whose resulting record sets are next) what
// DNS answers, unless a later change of the zone already propagated: Route 53
// applies a zone's changes in order, so a later change's record sets include
// every earlier one's, and an earlier change's timer firing late must not
// take them back (the twin's timers fire in any order; losing one broker's
// record this way failed a PrivateLink verification).
func propagate(x *inventory.Config, seq int, next map[string]string) {
	if n, err := strconv.Atoi(x.Properties[dnsSeqKey]); err == nil && n >= seq {
		return
	}
	setRecords(x, "record:", next)
	x.Properties[dnsSeqKey] = strconv.Itoa(seq)
}

func (a *api) listRecordSets(c *caller, r *http.Request, _ []byte) (int, node, *r53Error) {
	z, e := a.ownZone(c, r.PathValue("id"))
	if e != nil {
		return 0, node{}, e
	}
	var sets []node
	for _, n := range zoneRecords(z) {
		typ, rest, _ := strings.Cut(z.Properties["rr:"+n], " ")
		ttl, vals, _ := strings.Cut(rest, " ")
		var rrs []node
		for _, v := range strings.Split(vals, ",") {
			rrs = append(rrs, el("ResourceRecord", tx("Value", v)))
		}
		sets = append(sets, el("ResourceRecordSet", tx("Name", n+"."), tx("Type", typ), tx("TTL", ttl), el("ResourceRecords", rrs...)))
	}
	return http.StatusOK, el("ListResourceRecordSetsResponse", el("ResourceRecordSets", sets...), boolx("IsTruncated", false), tx("MaxItems", "300")), nil
}
