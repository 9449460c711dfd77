package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/policy"
	"github.com/topoflow/topoflow/trust"
)

// trustChange guards everything issue 13 added to a run: the trust snapshot
// loaded by TrustActivity before any step, the plan check (planSha256
// required, the plan signature in strict mode), verified decisions with
// gate and operator policies, M-of-N gates and the size limits of signals.
// Workflows started before it replay as they ran (names checked as given).
const trustChange = "topoflow-trust"

// planPolicyChange: the worker runs a plan only when it passes the gate
// policy that `topoflow validate` applies (package policy: no broad grant,
// no ungated mutating Workflow step, unless the plan records the opt-in),
// so a plan built or edited by hand cannot skip it. Workflows started before
// it replay as they ran.
const planPolicyChange = "topoflow-plan-policy"

// PlatformGroup is the group that may always operate a request whose plan
// names no operators.
const PlatformGroup = trust.GroupPrefix + "platform-oncall"

// Input limits of decisions and operator actions (bytes).
const (
	MaxPayload  = 64 << 10 // a whole Update or Signal payload
	MaxData     = 16 << 10 // complete's data, retry's inputs (JSON)
	MaxAuditLen = 100      // audit entries kept; older ones are summarized
	// trustRefreshEvery bounds how often a refresh-trust signal fetches keys.
	trustRefreshEvery = 5 * time.Second
)

// trustActivityOptions: the trust file is local and JWKS fetches are quick;
// a worker that cannot load its trust fails the request before any step.
var trustActivityOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval: time.Second, BackoffCoefficient: 2, MaximumAttempts: 3,
	},
	Summary: "load the worker's trust (identities, groups, OIDC keys)",
}

// gateApproval is one approval counted by an M-of-N gate.
type gateApproval struct {
	p      trust.Principal
	policy string
}

// verdict is an authorized decision: who, and which policy admitted it.
type verdict struct {
	p      trust.Principal
	policy string
}

// loadTrust fetches the trust snapshot through TrustActivity.
func (r *interp) loadTrust(ctx workflow.Context) error {
	var s trust.Snapshot
	err := trustCall(ctx).Get(ctx, &s) // hotpath.go
	if err != nil {
		return err
	}
	if s.Mode == "" {
		s.Mode = trust.ModeDev
	}
	r.snap = &s
	r.trustAt = workflow.Now(ctx)
	return nil
}

// trustLoop refreshes the snapshot when asked (a gate opens, a step parks,
// a refresh-trust signal after a refusal for an unknown key). A failed
// refresh keeps the last snapshot.
func (r *interp) trustLoop(ctx workflow.Context) {
	for {
		if err := workflow.Await(ctx, func() bool { return r.trustWanted }); err != nil {
			return
		}
		r.trustWanted = false
		if err := r.loadTrust(ctx); err != nil {
			workflow.GetLogger(ctx).Warn("trust refresh failed; keeping the last snapshot", "error", errText(err))
		}
	}
}

// wantTrust asks trustLoop for a refresh (at most one per trustRefreshEvery for signals).
func (r *interp) wantTrust(rateLimited bool) {
	if r.trustV < 1 || r.snap == nil {
		return
	}
	if rateLimited && workflow.Now(r.root).Sub(r.trustAt) < trustRefreshEvery {
		return
	}
	r.trustWanted = true
	r.loadTrustLazily() // hotpath.go
}

// checkPlan refuses a request the worker cannot trust, before any step:
// without a planSha256 always, and in strict mode without a plan signature
// by an identity allowed to sign plans.
func (r *interp) checkPlan() error {
	if r.req.PlanSHA256 == "" {
		return temporal.NewNonRetryableApplicationError(
			"request has no planSha256: start requests with `topoflow apply`, which sends the plan with its hash", ErrPlanMismatch, nil)
	}
	if changeVersion(r.root, planPolicyChange, 1) >= 1 {
		if err := policy.Check(r.p); err != nil {
			return temporal.NewNonRetryableApplicationError(
				"plan refused by the gate policy (the worker applies the same policy as `topoflow validate`): "+err.Error(), ErrUntrustedPlan, nil)
		}
	}
	if len(r.req.RequestedBy) > trust.MaxIdentity {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("requestedBy of %d bytes is longer than %d", len(r.req.RequestedBy), trust.MaxIdentity), ErrUntrustedPlan, nil)
	}
	pt := PlanTrust{RequestedBy: r.req.RequestedBy, Mode: r.snap.Mode, Method: trust.MethodUnverified}
	if err := r.checkSpec(&pt); err != nil {
		return err
	}
	sig := r.req.Signature
	if sig == nil {
		if r.snap.Strict() {
			return temporal.NewNonRetryableApplicationError(
				"unsigned plan refused: this worker runs in strict mode and runs only plans signed by a plan signer "+
					"(topoflow apply --ssh-key ... or --oidc-token-cmd ...); a plan started by hand is never run", ErrUntrustedPlan, nil)
		}
		r.planTrust = pt
		return nil
	}
	if !r.snap.Configured {
		pt.Detail = "signature not checked: no trust file"
		r.planTrust = pt
		return nil
	}
	want := trust.Statement{Kind: trust.KindApply, WorkflowID: r.wfID, PlanSHA256: r.sha, Identity: r.req.RequestedBy}
	fail := func(err error) error {
		return temporal.NewNonRetryableApplicationError("plan signature refused: "+err.Error(), ErrUntrustedPlan, nil)
	}
	if err := sig.Statement.Match(want); err != nil {
		return fail(err)
	}
	// The plan was signed when it was applied: its clock limits count from
	// the workflow's start, so a request that waited for a worker still runs.
	at := workflow.GetInfo(r.root).WorkflowStartTime
	if !r.verifyAt.IsZero() {
		at = r.verifyAt // a grant's change, signed when it was applied (change.go)
	}
	p, err := r.snap.Verify(sig, at)
	if err != nil {
		return fail(err)
	}
	by, ok := r.snap.Allowed(p.Name, r.snap.PlanSigners)
	if !ok {
		return fail(fmt.Errorf("%s may not sign plans (planSigners: %v)", p.Name, r.snap.PlanSigners))
	}
	pt.Method, pt.Detail, pt.Policy = p.Method, p.Detail, "planSigners "+by
	r.planTrust = pt
	return nil
}

// checkSpec compiles the request's spec again on the worker and refuses a
// plan that is not what its spec compiles to; without a spec it refuses
// when the trust file requires one.
func (r *interp) checkSpec(pt *PlanTrust) error {
	src := r.req.Spec
	if src == nil {
		if r.snap.RequireSpec {
			return temporal.NewNonRetryableApplicationError(
				"request without its spec refused: this worker runs only plans it compiles again from their spec "+
					"(requireSpec); start requests with `topoflow apply`", ErrUntrustedPlan, nil)
		}
		pt.Source = "plan only"
		return nil
	}
	if len(src.YAML) > MaxSpecSource {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("spec source of %d bytes is larger than %d", len(src.YAML), MaxSpecSource), ErrUntrustedPlan, nil)
	}
	var sha string
	opts := trustActivityOptions
	opts.Summary = "compile the spec again on the worker"
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(r.work, opts), CompileActivity, *src).Get(r.work, &sha); err != nil {
		return temporal.NewNonRetryableApplicationError("the request's spec does not compile on the worker: "+errText(err), ErrUntrustedPlan, nil)
	}
	if sha != r.sha {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"the plan is not what its spec %s compiles to on the worker (plan %.12s, spec compiles to %.12s): a built or edited plan is never run",
			cut(src.File, 200), r.sha, sha), ErrUntrustedPlan, nil)
	}
	pt.Source = "recompiled from " + cut(src.File, 200)
	return nil
}

// errRetry marks refusals that may pass after a trust refresh.
func isUnknownKey(err error) bool { return errors.Is(err, trust.ErrUnknownKey) }

// authenticate returns who made a decision: the verified signer of sig, or
// in dev mode the claimed identity ("unverified"). want is the statement the
// decision must have signed (At and Nonce aside).
func (r *interp) authenticate(identity string, sig *trust.Signature, want trust.Statement) (trust.Principal, error) {
	if r.trustV < 1 {
		if identity == "" {
			return trust.Principal{}, fmt.Errorf("%s needs an identity", want.Kind)
		}
		return trust.Principal{Name: identity, Method: trust.MethodUnverified}, nil
	}
	if r.snap == nil {
		return trust.Principal{}, errors.New("the request is still loading its trust configuration: retry in a few seconds")
	}
	if len(identity) > trust.MaxIdentity {
		return trust.Principal{}, fmt.Errorf("identity of %d bytes is longer than %d", len(identity), trust.MaxIdentity)
	}
	if len(want.Comment) > trust.MaxComment {
		return trust.Principal{}, fmt.Errorf("comment of %d bytes is longer than %d", len(want.Comment), trust.MaxComment)
	}
	if sig == nil {
		if r.snap.Strict() {
			return trust.Principal{}, fmt.Errorf("unsigned %s refused: this worker runs in strict mode and accepts only signed decisions "+
				"(topoflow %s --ssh-key ... or --oidc-token-cmd ...); the Web UI cannot sign", want.Kind, want.Kind)
		}
		if identity == "" {
			return trust.Principal{}, fmt.Errorf("%s needs an identity", want.Kind)
		}
		return trust.Principal{Name: identity, Method: trust.MethodUnverified}, nil
	}
	if identity == "" {
		identity = sig.Statement.Identity
	}
	if !r.snap.Configured {
		// Dev mode without a trust file knows no keys: a signature is taken
		// like an unsigned decision, and the audit says it was not checked.
		if identity == "" {
			return trust.Principal{}, fmt.Errorf("%s needs an identity", want.Kind)
		}
		return trust.Principal{Name: identity, Method: trust.MethodUnverified, Detail: "signature not checked: no trust file"}, nil
	}
	want.Version, want.WorkflowID, want.RunID, want.PlanSHA256, want.Identity = trust.StatementVersion, r.wfID, r.signedRun(sig.Statement.RunID), r.sha, identity
	if err := sig.Statement.Match(want); err != nil {
		return trust.Principal{}, err
	}
	if r.used[sig.Statement.Hash()] {
		return trust.Principal{}, errors.New("this signed statement was already used: sign each decision anew")
	}
	return r.snap.Verify(sig, workflow.Now(r.root))
}

// allowed checks principal name against who (names and group:<name>).
func (r *interp) allowed(name string, who []string) (string, bool) {
	if r.snap == nil {
		if slices.Contains(who, name) {
			return name, true
		}
		return "", false
	}
	return r.snap.Allowed(name, who)
}

// operatorPolicy is who may retry, skip, roll back or abort: the plan's
// operators; else the trust file's operators of the accounts the plan acts
// as; else every gate's approvers and the platform group (on a worker
// without a trust file, which has no groups, the requester instead, who was
// the operator before decisions were authenticated).
func (r *interp) operatorPolicy() []string {
	if len(r.p.Operators) > 0 {
		return r.p.Operators
	}
	if r.snap != nil && len(r.snap.AccountOperators) > 0 {
		var who []string
		for _, a := range r.p.Accounts {
			who = append(who, r.snap.AccountOperators[a]...)
		}
		if len(who) > 0 {
			slices.Sort(who)
			return slices.Compact(who)
		}
	}
	var who []string
	for _, s := range r.p.Steps {
		if s.Gate != nil {
			who = append(who, s.Gate.Who...)
		}
	}
	if r.snap != nil && !r.snap.Configured {
		if r.req.RequestedBy != "" {
			who = append(who, r.req.RequestedBy)
		}
	} else {
		who = append(who, PlatformGroup)
	}
	slices.Sort(who)
	return slices.Compact(who)
}

// governingGate is the approval gate whose approvers must approve replaced
// inputs of step id: the closest preceding approval step among its
// (transitive) dependencies, in plan order; nil when there is none.
func (r *interp) governingGate(id string) *plan.Step {
	deps := map[string]bool{}
	var walk func(string)
	walk = func(s string) {
		for _, d := range r.byID[s].s.DependsOn {
			if !deps[d] {
				deps[d] = true
				walk(d)
			}
		}
	}
	walk(id)
	var best *plan.Step
	for i := range r.p.Steps {
		s := &r.p.Steps[i]
		if deps[s.ID] && s.Action == plan.ActionApproval {
			best = s
		}
	}
	return best
}

// expand lists the identity names of who for people ("awaiting").
func (r *interp) expand(who []string) []string {
	if r.snap == nil {
		return append([]string(nil), who...)
	}
	return r.snap.Expand(who)
}

// required is the number of distinct approvals a gate needs.
func required(g *plan.Gate) int {
	if g == nil || g.Required < 1 {
		return 1
	}
	return g.Required
}

// addAudit appends an entry, cutting its free-text fields, and keeps at most
// MaxAuditLen entries: older ones are folded into a summary entry first.
func (r *interp) addAudit(e AuditEntry, ignored bool) {
	limit := trust.MaxComment
	if ignored {
		limit = 512
	}
	e.Identity = cut(e.Identity, 128)
	e.Comment = cut(e.Comment, limit)
	e.Step = cut(e.Step, 128)
	r.audit = append(r.audit, e)
	for len(r.audit) > MaxAuditLen {
		r.foldAudit()
	}
}

// foldAudit folds the oldest entry into the summary entry (the first one).
func (r *interp) foldAudit() {
	start := 0
	if r.audit[0].Action == AuditSummary {
		start = 1
	}
	old := r.audit[start]
	if r.auditFolded == nil {
		r.auditFolded = map[string]int{}
	}
	r.auditFolded[old.Action]++
	r.auditFoldedN++
	var parts []string
	for _, k := range sortedKeys(r.auditFolded) {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, r.auditFolded[k]))
	}
	summary := AuditEntry{At: old.At, Action: AuditSummary, Identity: "topoflow",
		Comment: fmt.Sprintf("%d earlier entries summarized: %s", r.auditFoldedN, strings.Join(parts, ", "))}
	r.audit = append([]AuditEntry{summary}, r.audit[start+1:]...)
}

// cut shortens s to at most n bytes (on a rune boundary), marking the cut.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && (s[i]&0xC0) == 0x80 {
		i--
	}
	return s[:i] + fmt.Sprintf("… (%d bytes cut)", len(s)-i)
}
