package aws

import (
	"io"
	"net/http"
	"strings"
	"time"
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

// changeSeqKey and dnsSeqKey number a zone's changes: the last one accepted
// by the API and the last one DNS answers with.
const changeSeqKey, dnsSeqKey = "changeSeq", "dnsSeq"

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
