package aws

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/topoflow/topoflow/cloudsim/auth"
	"github.com/topoflow/topoflow/cloudsim/inventory"
)

const stsNS = "https://sts.amazonaws.com/doc/2011-06-15/"

func writeSTSError(w http.ResponseWriter, status int, code, msg string) {
	typ := "Sender"
	if status >= 500 {
		typ = "Receiver"
	}
	writeXML(w, status, el("ErrorResponse", el("Error", tx("Type", typ), tx("Code", code), tx("Message", msg)), tx("RequestId", requestID())), stsNS)
}

// serveSTS answers AssumeRole and GetCallerIdentity (awsQuery protocol).
func (a *api) serveSTS(w http.ResponseWriter, r *http.Request) {
	c, aerr := a.authenticate(r)
	if aerr != nil {
		code := "InvalidClientTokenId"
		switch aerr.Reason {
		case auth.BadSignature:
			code = "SignatureDoesNotMatch"
		case auth.Expired:
			code = "ExpiredToken"
		case auth.Missing:
			code = "MissingAuthenticationToken"
		}
		writeSTSError(w, http.StatusForbidden, code, aerr.Message)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeSTSError(w, http.StatusBadRequest, "InvalidParameterValue", "read body")
		return
	}
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		writeSTSError(w, http.StatusBadRequest, "MalformedInput", "malformed form body")
		return
	}
	f := form{vals}
	action := f.str("Action")
	if ft := a.faults.Check(r.Context(), "aws.sts."+action); ft != nil {
		writeSTSError(w, ft.Status, ft.Code, ft.Message)
		return
	}
	rid := requestID()
	meta := el("ResponseMetadata", tx("RequestId", rid))
	switch action {
	case "GetCallerIdentity":
		writeXML(w, http.StatusOK, el("GetCallerIdentityResponse",
			el("GetCallerIdentityResult", tx("Arn", c.principal), tx("UserId", c.keyID), tx("Account", c.acct.AccountID)), meta), stsNS)
	case "AssumeRole":
		a.assumeRole(w, c, f, meta)
	default:
		writeSTSError(w, http.StatusBadRequest, "InvalidAction", "Could not find operation "+action+" for version 2011-06-15")
	}
}

func (a *api) assumeRole(w http.ResponseWriter, c *caller, f form, meta node) {
	roleARN, sessionName := f.str("RoleArn"), f.str("RoleSessionName")
	if roleARN == "" || sessionName == "" {
		writeSTSError(w, http.StatusBadRequest, "ValidationError", "RoleArn and RoleSessionName are required")
		return
	}
	// arn:aws:iam::<account>:role/<name>
	parts := strings.SplitN(roleARN, ":", 6)
	if len(parts) != 6 || parts[2] != "iam" || !strings.HasPrefix(parts[5], "role/") {
		writeSTSError(w, http.StatusBadRequest, "ValidationError", "1 validation error detected: Value '"+roleARN+"' at 'roleArn' failed to satisfy constraint")
		return
	}
	target, ok := a.accountByAWSID(parts[4])
	if !ok {
		writeSTSError(w, http.StatusForbidden, "AccessDenied", "User: "+c.principal+" is not authorized to perform: sts:AssumeRole on resource: "+roleARN)
		return
	}
	dur := 3600 * time.Second
	if d, err := strconv.Atoi(f.str("DurationSeconds")); err == nil && d > 0 {
		if d < 900 || d > 43200 {
			writeSTSError(w, http.StatusBadRequest, "ValidationError", "DurationSeconds must be between 900 and 43200")
			return
		}
		dur = time.Duration(d) * time.Second
	}
	keyID := "ASIA" + strings.ToUpper(randHex(8))
	secret := randB64(30)
	token := randB64(96)
	expires := time.Now().Add(dur).UTC()
	roleName := strings.TrimPrefix(parts[5], "role/")
	assumed := "arn:aws:sts::" + target.AccountID + ":assumed-role/" + roleName + "/" + sessionName
	if _, err := inventory.Update(a.inv, target.ID, func(x *inventory.Account) error {
		x.Credentials = append(x.Credentials, inventory.Credential{Type: "aksk", KeyID: keyID, Secret: secret})
		return nil
	}); err != nil {
		writeSTSError(w, http.StatusInternalServerError, "InternalFailure", "store session")
		return
	}
	a.smu.Lock()
	a.sessions[keyID] = session{token: token, expires: expires, arn: assumed}
	a.smu.Unlock()
	writeXML(w, http.StatusOK, el("AssumeRoleResponse",
		el("AssumeRoleResult",
			el("Credentials", tx("AccessKeyId", keyID), tx("SecretAccessKey", secret), tx("SessionToken", token), tx("Expiration", expires.Format(time.RFC3339))),
			el("AssumedRoleUser", tx("AssumedRoleId", "AROA"+strings.ToUpper(randHex(8))+":"+sessionName), tx("Arn", assumed)),
			tx("PackedPolicySize", "0")),
		meta), stsNS)
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func randB64(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawStdEncoding.EncodeToString(b)
}
