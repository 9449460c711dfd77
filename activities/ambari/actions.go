package ambari

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/accounts"
	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
)

// Option configures the Ambari actions.
type Option func(*Actions)

// WithHTTPClient sets the HTTP client (default: 30s timeout, shared transport).
func WithHTTPClient(hc *http.Client) Option { return func(a *Actions) { a.http = hc } }

// WithNow sets the clock used for config tags (tests).
func WithNow(now func() time.Time) Option { return func(a *Actions) { a.now = now } }

// Actions holds what every Ambari action needs.
type Actions struct {
	accts *accounts.Registry
	http  *http.Client
	now   func() time.Time
}

// New returns the Ambari actions over an account registry.
func New(accts *accounts.Registry, opts ...Option) *Actions {
	a := &Actions{accts: accts, now: time.Now}
	for _, o := range opts {
		o(a)
	}
	if a.http == nil {
		a.http = &http.Client{Timeout: 30 * time.Second}
	}
	return a
}

// Funcs returns every Ambari action implementation by catalog name.
func (a *Actions) Funcs() map[string]activities.Func {
	return map[string]activities.Func{
		catalog.AmbariGetConfig:         a.GetConfig,
		catalog.AmbariPutConfig:         a.PutConfig,
		catalog.AmbariSetMaintenance:    a.SetMaintenance,
		catalog.AmbariRestartComponents: a.RestartComponents,
		catalog.AmbariGetRequest:        a.GetRequest,
		catalog.AmbariListBrokerHosts:   a.ListBrokerHosts,
		catalog.AmbariRestoreAndRestart: a.RestoreAndRestart,
	}
}

// Register adds every Ambari action to reg under its catalog name.
func Register(reg *activities.Registry, accts *accounts.Registry, opts ...Option) {
	for name, fn := range New(accts, opts...).Funcs() {
		reg.Add(name, fn)
	}
}

// classify turns a client error into a typed application error.
func classify(action string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return activities.Fail(plan.ErrUnavailable, "%s: %v", action, err)
	}
	if errors.Is(err, errNoHosts) {
		return activities.Fail(plan.ErrInvalid, "%s: %v", action, err)
	}
	var ae *Error
	if !errors.As(err, &ae) {
		return activities.Fail(plan.ErrUnavailable, "%s: %v", action, err)
	}
	if ae.Status == http.StatusNotFound && ae.NotAmbari {
		// A configuration fault, not a missing resource nor a refused credential.
		return activities.Fail(plan.ErrInvalid, "%s: %v: the server answered HTTP 404 without Ambari's JSON error, so it does not serve Ambari's API: "+
			"check the Ambari URL of the account in the account registry (a refused credential is HTTP 401/403)", action, err)
	}
	typ := plan.ErrUnavailable
	switch {
	case ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden:
		typ = plan.ErrUnauthorized
	case ae.Status == http.StatusNotFound:
		typ = plan.ErrNotFound
	case ae.Status == http.StatusConflict:
		typ = plan.ErrConflict
	case ae.Status == http.StatusTooManyRequests:
		typ = plan.ErrThrottled
	case ae.Status >= 400 && ae.Status < 500:
		typ = plan.ErrInvalid
	}
	if typ == plan.ErrThrottled && ae.RetryAfter > 0 {
		return temporal.NewApplicationErrorWithOptions(fmt.Sprintf("%s: %v", action, err), typ,
			temporal.ApplicationErrorOptions{NextRetryDelay: ae.RetryAfter})
	}
	return activities.Fail(typ, "%s: %v", action, err)
}

// client builds the Ambari client of the call's account.
func (a *Actions) client(ctx context.Context, call plan.Call) (*Client, error) {
	if call.Account == "" {
		return nil, activities.Fail(plan.ErrInvalid, "%s: the step names no account", call.Action)
	}
	acct, ok := a.accts.Get(call.Account)
	if !ok {
		return nil, activities.Fail(plan.ErrInvalid, "%s: account %q is not in the worker's account registry", call.Action, call.Account)
	}
	if acct.Provider != accounts.ProviderAmbari || acct.Ambari == nil {
		return nil, activities.Fail(plan.ErrInvalid, "%s: account %q is a %s account, not ambari", call.Action, call.Account, acct.Provider)
	}
	creds, err := acct.Resolve(ctx)
	if err != nil {
		return nil, activities.Fail(plan.ErrUnauthorized, "%s: %v", call.Action, err)
	}
	base := acct.Ambari.URL
	if ep, err := acct.Endpoint("ambari"); err == nil {
		base = ep
	}
	return &Client{Base: base, Cluster: acct.Ambari.Cluster, User: creds.Username, Password: creds.Password, HTTP: a.http}, nil
}

func str(in map[string]any, key string) string {
	s, _ := in[key].(string)
	return s
}

func need(call plan.Call, key string) (string, error) {
	s := str(call.Inputs, key)
	if s == "" {
		return "", activities.Fail(plan.ErrInvalid, "%s: input %q is required", call.Action, key)
	}
	return s, nil
}

// GetConfig reads the desired version of a config type.
func (a *Actions) GetConfig(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	typ, err := need(call, "type")
	if err != nil {
		return nil, err
	}
	c, err := a.client(ctx, call)
	if err != nil {
		return nil, err
	}
	cur, err := current(ctx, c, typ)
	if err != nil {
		return nil, classify(call.Action, err)
	}
	props := map[string]any{}
	for k, v := range cur.Properties {
		props[k] = v
	}
	return plan.Outputs{"type": typ, "tag": cur.Tag, "version": cur.Version, "properties": props}, nil
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
func (a *Actions) PutConfig(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	typ, err := need(call, "type")
	if err != nil {
		return nil, err
	}
	set, _ := call.Inputs["properties"].(map[string]any)
	appendContent := str(call.Inputs, "appendContent")
	restoreTag := str(call.Inputs, "restoreTag")
	note := str(call.Inputs, "note")
	if restoreTag != "" && (len(set) > 0 || appendContent != "") {
		return nil, activities.Fail(plan.ErrInvalid, "%s: restoreTag excludes properties and appendContent", call.Action)
	}
	c, err := a.client(ctx, call)
	if err != nil {
		return nil, err
	}
	out, err := a.applyConfig(ctx, c, typ, set, appendContent, restoreTag, note, tagMarker(call.IdempotencyKey))
	if err != nil {
		return nil, classify(call.Action, err)
	}
	return out, nil
}

// applyConfig computes and writes a new desired version of typ (see PutConfig).
func (a *Actions) applyConfig(ctx context.Context, c *Client, typ string, set map[string]any, appendContent, restoreTag, note, marker string) (plan.Outputs, error) {
	cur, err := current(ctx, c, typ)
	if err != nil {
		return nil, err
	}
	if marker != "" && strings.HasSuffix(cur.Tag, marker) {
		// An earlier attempt of this call wrote the desired version: report it.
		prev, err := previousVersion(ctx, c, typ, cur.Version)
		if err != nil {
			return nil, err
		}
		return plan.Outputs{"type": typ, "tag": cur.Tag, "previousTag": prev, "changed": true, "version": cur.Version}, nil
	}
	next := maps.Clone(cur.Properties)
	switch {
	case restoreTag != "":
		old, err := c.Config(ctx, typ, restoreTag)
		if err != nil {
			return nil, err
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
		return plan.Outputs{"type": typ, "tag": cur.Tag, "previousTag": cur.Tag, "changed": false, "version": cur.Version}, nil
	}
	tag := "version" + strconv.FormatInt(a.now().UnixMilli(), 10) + marker
	if err := c.PutConfig(ctx, typ, tag, next, note); err != nil {
		return nil, err
	}
	return plan.Outputs{"type": typ, "tag": tag, "previousTag": cur.Tag, "changed": true, "version": cur.Version + 1}, nil
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

// maintenanceDetail is SetMaintenance's heartbeat detail: the state found
// before the first attempt changed anything, so a retried attempt still
// reports the true previous state (and does not wait for its own window).
type maintenanceDetail struct {
	Previous string `json:"previous,omitempty"`
}

// SetMaintenance turns a service's maintenance mode ON or OFF and returns
// the previous state (the compensation restores it). Maintenance mode is the
// cluster's "someone is working on it" flag: turning it ON while it already
// is ON (another request's restart window, or an operator's) fails with a
// non-retryable Conflict, so a restart never runs inside somebody else's
// window and a rollback never restores it. A retried attempt that already
// turned it ON itself (heartbeat details) is not refused.
func (a *Actions) SetMaintenance(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	svc, err := need(call, "service")
	if err != nil {
		return nil, err
	}
	state, err := need(call, "state")
	if err != nil {
		return nil, err
	}
	state = strings.ToUpper(state)
	if state != "ON" && state != "OFF" {
		return nil, activities.Fail(plan.ErrInvalid, "%s: state must be ON or OFF, not %q", call.Action, state)
	}
	c, err := a.client(ctx, call)
	if err != nil {
		return nil, err
	}
	info, err := c.Service(ctx, svc)
	if err != nil {
		return nil, classify(call.Action, err)
	}
	inActivity := activity.IsActivity(ctx)
	resumed := ""
	if inActivity && activity.HasHeartbeatDetails(ctx) {
		var d maintenanceDetail
		if activity.GetHeartbeatDetails(ctx, &d) == nil {
			resumed = d.Previous
		}
	}
	if state == "ON" && info.MaintenanceState == "ON" && resumed == "" {
		// Someone else's maintenance window is open (another request
		// restarting this service, or an operator's). Restarting inside it
		// would let its owner turn maintenance off under our restart, and our
		// rollback would "restore" ON. Waiting here would hold the cluster's
		// lock the owner needs to close its window, so refuse instead.
		return nil, temporal.NewApplicationErrorWithOptions(fmt.Sprintf(
			"%s: %s is already in maintenance mode (another change on the cluster, or an operator's window); "+
				"not restarting inside it: retry when it is OFF", call.Action, svc),
			plan.ErrConflict, temporal.ApplicationErrorOptions{NonRetryable: true})
	}
	previous := info.MaintenanceState
	if resumed != "" {
		previous = resumed
	} else if inActivity {
		activity.RecordHeartbeat(ctx, maintenanceDetail{Previous: previous})
	}
	if info.MaintenanceState != state {
		if err := c.SetMaintenance(ctx, svc, state); err != nil {
			return nil, classify(call.Action, err)
		}
	}
	return plan.Outputs{"service": svc, "previous": previous, "state": state}, nil
}

// RestartComponents restarts a service component on its hosts (all by
// default) and returns the request ID. The request context carries a marker
// of the idempotency key: a retried call finds the request its earlier
// attempt created instead of restarting the brokers twice.
func (a *Actions) RestartComponents(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	svc, err := need(call, "service")
	if err != nil {
		return nil, err
	}
	comp, err := need(call, "component")
	if err != nil {
		return nil, err
	}
	var hosts []string
	if hs, ok := call.Inputs["hosts"].([]any); ok {
		for _, h := range hs {
			if s, ok := h.(string); ok && s != "" {
				hosts = append(hosts, s)
			}
		}
	} else if hs, ok := call.Inputs["hosts"].([]string); ok {
		hosts = append(hosts, hs...)
	}
	c, err := a.client(ctx, call)
	if err != nil {
		return nil, err
	}
	id, status, hosts, err := restart(ctx, c, svc, comp, hosts, call.IdempotencyKey)
	if err != nil {
		return nil, classify(call.Action, err)
	}
	return plan.Outputs{"requestId": id, "status": status, "hosts": toAny(hosts)}, nil
}

// statusNothingToRestart is the status of a restart that found no affected
// host (nothing stale): no request is posted and its ID is 0, which
// GetRequest reports as COMPLETED.
const statusNothingToRestart = "COMPLETED"

// errNoHosts is returned when a component has no hosts to restart.
var errNoHosts = errors.New("the component has no hosts")

// restart posts a RESTART request, or finds the one an earlier attempt with
// the same idempotency key posted.
func restart(ctx context.Context, c *Client, svc, comp string, hosts []string, idemKey string) (int, string, []string, error) {
	reqContext := fmt.Sprintf("Restart %s of %s (topoflow)", comp, svc)
	if idemKey != "" && activity.IsActivity(ctx) {
		// Ambari keeps every request, and a request applied again after a
		// rollback runs under the same workflow ID (and so the same step keys):
		// only a restart of this run may stand for this run's restart, or the
		// new run would skip the restart that applies its config.
		idemKey += "/" + activity.GetInfo(ctx).WorkflowExecution.RunID
	}
	if m := tagMarker(idemKey); m != "" {
		reqContext = fmt.Sprintf("Restart %s of %s (topoflow%s)", comp, svc, m)
		existing, err := c.Requests(ctx)
		if err != nil {
			return 0, "", nil, err
		}
		for _, r := range existing {
			if r.Context == reqContext {
				return r.ID, r.Status, hosts, nil
			}
		}
	}
	if len(hosts) == 0 {
		all, err := c.ComponentHosts(ctx, svc, comp)
		if err != nil {
			return 0, "", nil, err
		}
		if len(all) == 0 {
			return 0, "", nil, fmt.Errorf("%s of %s: %w", comp, svc, errNoHosts)
		}
		// "Restart all affected": only stale components on hosts not in maintenance mode.
		if hosts, err = c.AffectedHosts(ctx, svc, comp); err != nil {
			return 0, "", nil, err
		}
		if len(hosts) == 0 {
			return 0, statusNothingToRestart, nil, nil
		}
	}
	id, status, err := c.Restart(ctx, svc, comp, hosts, reqContext)
	return id, status, hosts, err
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func intInput(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case float64:
		return int(n), n == float64(int(n))
	case string:
		i, err := strconv.Atoi(n)
		return i, err == nil
	}
	return 0, false
}

// GetRequest reads an Ambari request: status (PENDING, IN_PROGRESS,
// COMPLETED, FAILED, ...), progress and task counts.
func (a *Actions) GetRequest(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	id, ok := intInput(call.Inputs["requestId"])
	if !ok || id < 0 {
		return nil, activities.Fail(plan.ErrInvalid, "%s: input requestId must be a positive integer (0: nothing was restarted)", call.Action)
	}
	if id == 0 {
		return plan.Outputs{"requestId": 0, "status": statusNothingToRestart, "progress": 100.0, "taskCount": 0,
			"failedTaskCount": 0, "abortedTaskCount": 0}, nil
	}
	c, err := a.client(ctx, call)
	if err != nil {
		return nil, err
	}
	r, err := c.Request(ctx, id)
	if err != nil {
		return nil, classify(call.Action, err)
	}
	out := plan.Outputs{"requestId": r.ID, "status": r.Status, "progress": r.Progress, "taskCount": r.TaskCount,
		"failedTaskCount": r.FailedTaskCount, "abortedTaskCount": r.AbortedTaskCount}
	if r.AbortReason != "" {
		out["abortReason"] = r.AbortReason
	}
	return out, nil
}

// ListBrokerHosts lists the hosts with a KAFKA_BROKER component and their
// IPs, sorted by host name; bootstrap joins ip:port (port input, default 9092).
func (a *Actions) ListBrokerHosts(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	port := 9092
	if p, ok := intInput(call.Inputs["port"]); ok && p > 0 {
		port = p
	}
	c, err := a.client(ctx, call)
	if err != nil {
		return nil, err
	}
	hosts, err := c.ComponentHosts(ctx, "KAFKA", "KAFKA_BROKER")
	if err != nil {
		return nil, classify(call.Action, err)
	}
	ips, err := c.HostIPs(ctx)
	if err != nil {
		return nil, classify(call.Action, err)
	}
	sort.Strings(hosts)
	brokers := make([]any, 0, len(hosts))
	var boot []string
	for _, h := range hosts {
		ip := ips[h]
		if ip == "" {
			return nil, activities.Fail(plan.ErrUnavailable, "%s: broker host %s has no IP in Ambari", call.Action, h)
		}
		brokers = append(brokers, map[string]any{"hostName": h, "ip": ip})
		boot = append(boot, ip+":"+strconv.Itoa(port))
	}
	if len(brokers) == 0 {
		return nil, activities.Fail(plan.ErrNotFound, "%s: no KAFKA_BROKER hosts", call.Action)
	}
	return plan.Outputs{"brokers": brokers, "bootstrap": strings.Join(boot, ",")}, nil
}

// Terminal request statuses that mean failure.
var failedStatuses = map[string]bool{"FAILED": true, "ABORTED": true, "TIMEDOUT": true, "HOLDING_FAILED": true,
	"HOLDING_TIMEDOUT": true, "SKIPPED_FAILED": true}

// RestoreAndRestart restores earlier config versions, restarts the
// component again and waits for the request to complete (the rollback of
// an Ambari change whose restart already ran). Every part is idempotent
// under retries: restored versions and the restart request carry markers of
// the call's idempotency key.
func (a *Actions) RestoreAndRestart(ctx context.Context, call plan.Call) (plan.Outputs, error) {
	type restore struct{ typ, tag string }
	var todo []restore
	list, ok := call.Inputs["configs"].([]any)
	if !ok || len(list) == 0 {
		return nil, activities.Fail(plan.ErrInvalid, "%s: input configs must be a non-empty list of {type, tag}", call.Action)
	}
	for i, x := range list {
		m, ok := x.(map[string]any)
		if !ok || str(m, "type") == "" || str(m, "tag") == "" {
			return nil, activities.Fail(plan.ErrInvalid, "%s: configs[%d] must be {type, tag}", call.Action, i)
		}
		todo = append(todo, restore{str(m, "type"), str(m, "tag")})
	}
	svc, comp := str(call.Inputs, "service"), str(call.Inputs, "component")
	if svc == "" {
		svc = "KAFKA"
	}
	if comp == "" {
		comp = "KAFKA_BROKER"
	}
	note := str(call.Inputs, "note")
	if note == "" {
		note = "topoflow rollback"
	}
	every := 2 * time.Second
	if s := str(call.Inputs, "pollInterval"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return nil, activities.Fail(plan.ErrInvalid, "%s: pollInterval %q is not a positive duration", call.Action, s)
		}
		every = d
	}
	c, err := a.client(ctx, call)
	if err != nil {
		return nil, err
	}
	var restored []any
	for _, r := range todo {
		out, err := a.applyConfig(ctx, c, r.typ, nil, "", r.tag, note, tagMarker(call.IdempotencyKey+"/"+r.typ))
		if err != nil {
			return nil, classify(call.Action, err)
		}
		restored = append(restored, map[string]any{"type": r.typ, "tag": out["tag"], "restoredTag": r.tag, "changed": out["changed"]})
	}
	id, _, _, err := restart(ctx, c, svc, comp, nil, call.IdempotencyKey+"/restart")
	if err != nil {
		return nil, classify(call.Action, err)
	}
	if id == 0 { // nothing stale: no restart needed
		return plan.Outputs{"restored": restored, "requestId": 0, "status": statusNothingToRestart}, nil
	}
	for {
		req, err := c.Request(ctx, id)
		if err != nil {
			return nil, classify(call.Action, err)
		}
		if activity.IsActivity(ctx) {
			activity.RecordHeartbeat(ctx, req.Status)
		}
		if req.Status == "COMPLETED" {
			return plan.Outputs{"restored": restored, "requestId": id, "status": req.Status}, nil
		}
		if failedStatuses[req.Status] {
			return nil, activities.Fail(plan.ErrWaitFailed, "%s: restart request %d ended %s: %s", call.Action, id, req.Status, req.AbortReason)
		}
		select {
		case <-ctx.Done():
			return nil, classify(call.Action, ctx.Err())
		case <-time.After(every):
		}
	}
}
