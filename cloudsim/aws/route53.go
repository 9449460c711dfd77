package aws

import (
	"encoding/xml"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/cloudsim/netmodel"
)

// Route 53 private hosted zones, REST-XML (2013-04-01) as
// aws-sdk-go-v2/service/route53 serializes it. A private hosted zone is an
// inventory config of type netmodel.DNSZoneType owned by the caller's
// account: the network model resolves its records for clients in the
// associated VPCs (netmodel.Network.Resolve). Record sets are kept twice:
// "rr:<fqdn>" ("<TYPE> <ttl> <value>[,<value>]") is what the API reads back at
// once, "record:<fqdn>" what DNS answers, set when the change is INSYNC
// (a change is PENDING until it has propagated: GetChange, types/enums.go
// ChangeStatus PENDING|INSYNC). Only private zones and A/CNAME records are
// simulated; public zones, aliases and other types are refused as invalid.

const r53NS = "https://route53.amazonaws.com/doc/2013-04-01/"

type r53Error struct {
	status int
	code   string
	msg    string
}

func writeR53Error(w http.ResponseWriter, e *r53Error) {
	typ := "Sender"
	if e.status >= 500 {
		typ = "Receiver"
	}
	writeXML(w, e.status, el("ErrorResponse", el("Error", tx("Type", typ), tx("Code", e.code), tx("Message", e.msg)), tx("RequestId", requestID())), r53NS)
}

func r53Err(status int, code, msg string) *r53Error {
	return &r53Error{status: status, code: code, msg: msg}
}

type r53Handler func(c *caller, r *http.Request, body []byte) (int, node, *r53Error)

func (a *api) route53Mux() *http.ServeMux {
	mux := http.NewServeMux()
	handle := func(pattern, op string, h r53Handler) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			c, aerr := a.authenticate(r)
			if aerr != nil {
				writeR53Error(w, r53Err(http.StatusForbidden, "InvalidClientTokenId", aerr.Message))
				return
			}
			body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			if err != nil {
				writeR53Error(w, r53Err(http.StatusBadRequest, "InvalidInput", err.Error()))
				return
			}
			if ft := a.faults.Check(r.Context(), "aws.route53."+op); ft != nil {
				writeR53Error(w, r53Err(ft.Status, ft.Code, ft.Message))
				return
			}
			status, out, e := h(c, r, body)
			if e != nil {
				writeR53Error(w, e)
				return
			}
			w.Header().Set("X-Amzn-Requestid", requestID())
			writeXML(w, status, out, r53NS)
		})
	}
	handle("POST /2013-04-01/hostedzone", "CreateHostedZone", a.createHostedZone)
	handle("GET /2013-04-01/hostedzone/{id}", "GetHostedZone", a.getHostedZone)
	handle("DELETE /2013-04-01/hostedzone/{id}", "DeleteHostedZone", a.deleteHostedZone)
	handle("POST /2013-04-01/hostedzone/{id}/rrset", "ChangeResourceRecordSets", a.changeRecordSets)
	handle("POST /2013-04-01/hostedzone/{id}/rrset/", "ChangeResourceRecordSets", a.changeRecordSets)
	handle("GET /2013-04-01/hostedzone/{id}/rrset", "ListResourceRecordSets", a.listRecordSets)
	handle("GET /2013-04-01/hostedzonesbyname", "ListHostedZonesByName", a.listZonesByName)
	handle("GET /2013-04-01/change/{id}", "GetChange", a.getChange)
	return mux
}

// fqdn normalises a DNS name: lower case, no trailing dot.
func fqdn(s string) string { return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".") }

func (a *api) ownZone(c *caller, id string) (*inventory.Config, *r53Error) {
	id = strings.TrimPrefix(id, "/hostedzone/")
	z, err := inventory.Get[*inventory.Config](a.inv, id)
	if err != nil || z.Type != netmodel.DNSZoneType || z.Account != c.acct.ID || z.Properties["service"] != "route53" {
		return nil, r53Err(http.StatusNotFound, "NoSuchHostedZone", "No hosted zone found with ID: "+id)
	}
	return z, nil
}

func zoneRecords(z *inventory.Config) []string {
	var out []string
	for k := range z.Properties {
		if name, ok := strings.CutPrefix(k, "rr:"); ok {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func zoneNode(z *inventory.Config) node {
	return el("HostedZone", tx("Id", "/hostedzone/"+z.ID), tx("Name", z.Properties["name"]+"."), tx("CallerReference", z.Properties["callerReference"]),
		el("Config", opt("Comment", z.Properties["comment"]), boolx("PrivateZone", true)),
		tx("ResourceRecordSetCount", strconv.Itoa(2+len(zoneRecords(z)))))
}

func vpcsNode(z *inventory.Config) node {
	var vs []node
	for _, v := range strings.Split(z.Properties["vpcs"], ",") {
		if v != "" {
			vs = append(vs, el("VPC", tx("VPCRegion", z.Properties["region:"+v]), tx("VPCId", v)))
		}
	}
	return el("VPCs", vs...)
}

// r53Change is one submitted change: PENDING until it is INSYNC. Changes
// live outside the inventory (they are no resource).
type r53ChangeState struct {
	id, account, comment, status string
	submitted                    time.Time
}

func changeInfo(ch *r53ChangeState) node {
	return el("ChangeInfo", tx("Id", "/change/"+ch.id), tx("Status", ch.status), tx("SubmittedAt", ts(ch.submitted)), opt("Comment", ch.comment))
}

// newChange records a change PENDING, applies fn when it becomes INSYNC and returns it.
// fn, when not nil, is the zone update applied at INSYNC.
func (a *api) newChange(c *caller, comment string, fn *zoneUpdate) (*r53ChangeState, *r53Error) {
	ch := &r53ChangeState{id: "C" + strings.ToUpper(randHex(10)), account: c.acct.ID, comment: comment, status: "PENDING", submitted: time.Now()}
	a.cmu.Lock()
	a.changes[ch.id] = ch
	a.cmu.Unlock()
	a.changeInSync(a.timing.DNSChange, changeDone{Change: ch.id, Zone: fn})
	snap := *ch
	return &snap, nil
}

func (a *api) createHostedZone(c *caller, _ *http.Request, body []byte) (int, node, *r53Error) {
	var in struct {
		Name            string `xml:"Name"`
		CallerReference string `xml:"CallerReference"`
		VPC             *struct {
			VPCRegion string `xml:"VPCRegion"`
			VPCId     string `xml:"VPCId"`
		} `xml:"VPC"`
		HostedZoneConfig *struct {
			Comment     string `xml:"Comment"`
			PrivateZone bool   `xml:"PrivateZone"`
		} `xml:"HostedZoneConfig"`
	}
	if err := xml.Unmarshal(body, &in); err != nil {
		return 0, node{}, r53Err(http.StatusBadRequest, "InvalidInput", "malformed request: "+err.Error())
	}
	name := fqdn(in.Name)
	if name == "" || in.CallerReference == "" {
		return 0, node{}, r53Err(http.StatusBadRequest, "InvalidInput", "Name and CallerReference are required")
	}
	if in.VPC == nil || in.VPC.VPCId == "" {
		return 0, node{}, r53Err(http.StatusBadRequest, "InvalidInput", "only private hosted zones (with a VPC) are simulated")
	}
	v, err := inventory.Get[*inventory.VPC](a.inv, in.VPC.VPCId)
	if err != nil || v.Account != c.acct.ID || v.Region != in.VPC.VPCRegion {
		// A VPC of another account needs CreateVPCAssociationAuthorization first (api_op_CreateHostedZone.go VPC).
		return 0, node{}, r53Err(http.StatusBadRequest, "InvalidVPCId", "The VPC "+in.VPC.VPCId+" in "+in.VPC.VPCRegion+" does not exist or is not yours")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, z := range inventory.List[*inventory.Config](a.inv, inventory.Filter{}) {
		if z.Type != netmodel.DNSZoneType {
			continue
		}
		if z.Account == c.acct.ID && z.Properties["callerReference"] == in.CallerReference {
			// "HostedZoneAlreadyExists: The hosted zone you're trying to create already exists"
			// for a reused CallerReference (api_op_CreateHostedZone.go CallerReference).
			return 0, node{}, r53Err(http.StatusConflict, "HostedZoneAlreadyExists", "A hosted zone has already been created with the specified caller reference")
		}
		if z.Properties["name"] == name && strings.Contains(","+z.Properties["vpcs"]+",", ","+v.ID+",") {
			// Two private zones of one name cannot share a VPC (ConflictingDomainExists, api_op_CreateHostedZone.go).
			return 0, node{}, r53Err(http.StatusBadRequest, "ConflictingDomainExists", "The VPC "+v.ID+" is already associated with a private hosted zone named "+name)
		}
	}
	id := "Z" + strings.ToUpper(randHex(10))
	comment := ""
	if in.HostedZoneConfig != nil {
		comment = in.HostedZoneConfig.Comment
	}
	z, cerr := inventory.Create(a.inv, &inventory.Config{
		Meta: inventory.Meta{ID: id, Account: c.acct.ID, Name: name}, Type: netmodel.DNSZoneType, Version: 1,
		Properties: map[string]string{"service": "route53", "name": name, "vpcs": v.ID, "region:" + v.ID: v.Region,
			"callerReference": in.CallerReference, "comment": comment},
	})
	if cerr != nil {
		return 0, node{}, r53Err(http.StatusInternalServerError, "InternalError", cerr.Error())
	}
	ch, e := a.newChange(c, "", nil)
	if e != nil {
		return 0, node{}, e
	}
	return http.StatusCreated, el("CreateHostedZoneResponse", zoneNode(z), changeInfo(ch),
		el("DelegationSet", el("NameServers", tx("NameServer", "ns-0.awsdns-00.com"))), el("VPC", tx("VPCRegion", v.Region), tx("VPCId", v.ID))), nil
}

func (a *api) getHostedZone(c *caller, r *http.Request, _ []byte) (int, node, *r53Error) {
	z, e := a.ownZone(c, r.PathValue("id"))
	if e != nil {
		return 0, node{}, e
	}
	return http.StatusOK, el("GetHostedZoneResponse", zoneNode(z), vpcsNode(z)), nil
}

func (a *api) deleteHostedZone(c *caller, r *http.Request, _ []byte) (int, node, *r53Error) {
	z, e := a.ownZone(c, r.PathValue("id"))
	if e != nil {
		return 0, node{}, e
	}
	if len(zoneRecords(z)) > 0 {
		// Only the SOA and NS records may remain (api_op_DeleteHostedZone.go, HostedZoneNotEmpty).
		return 0, node{}, r53Err(http.StatusBadRequest, "HostedZoneNotEmpty", "The specified hosted zone contains non-required resource record sets and so cannot be deleted")
	}
	if err := a.inv.Delete(inventory.KindConfig, z.ID); err != nil {
		return 0, node{}, r53Err(http.StatusNotFound, "NoSuchHostedZone", "No hosted zone found with ID: "+z.ID)
	}
	ch, e := a.newChange(c, "", nil)
	if e != nil {
		return 0, node{}, e
	}
	return http.StatusOK, el("DeleteHostedZoneResponse", changeInfo(ch)), nil
}

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

// changeSeqKey and dnsSeqKey number a zone's changes: the last one accepted
// by the API and the last one DNS answers with.
const changeSeqKey, dnsSeqKey = "changeSeq", "dnsSeq"

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

func (a *api) listZonesByName(c *caller, r *http.Request, _ []byte) (int, node, *r53Error) {
	from := fqdn(r.URL.Query().Get("dnsname"))
	var zs []*inventory.Config
	for _, z := range inventory.List[*inventory.Config](a.inv, inventory.Filter{Account: c.acct.ID}) {
		if z.Type == netmodel.DNSZoneType && z.Properties["service"] == "route53" && z.Properties["name"] >= from {
			zs = append(zs, z)
		}
	}
	sort.Slice(zs, func(i, j int) bool { return zs[i].Properties["name"] < zs[j].Properties["name"] })
	var items []node
	for _, z := range zs {
		items = append(items, zoneNode(z))
	}
	return http.StatusOK, el("ListHostedZonesByNameResponse", el("HostedZones", items...), opt("DNSName", r.URL.Query().Get("dnsname")),
		boolx("IsTruncated", false), tx("MaxItems", "100")), nil
}

func (a *api) getChange(c *caller, r *http.Request, _ []byte) (int, node, *r53Error) {
	id := strings.TrimPrefix(r.PathValue("id"), "/change/")
	a.cmu.Lock()
	ch, ok := a.changes[id]
	var snap r53ChangeState
	if ok {
		snap = *ch
	}
	a.cmu.Unlock()
	if !ok || snap.account != c.acct.ID {
		return 0, node{}, r53Err(http.StatusNotFound, "NoSuchChange", "A change with the specified change ID does not exist: "+id)
	}
	return http.StatusOK, el("GetChangeResponse", changeInfo(&snap)), nil
}
