package aws

import (
	"encoding/xml"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/topoflow/topoflow/cloudsim/inventory"
	"github.com/topoflow/topoflow/cloudsim/netmodel"
)

// Route 53 private hosted zones (see route53.go): create, get, delete, list
// by name.

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
