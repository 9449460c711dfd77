package spec

import (
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/policy"
)

var (
	namePattern    = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	accountPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$`)
	regionPattern  = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$`)
	identPattern   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)
	actionPattern  = regexp.MustCompile(`^[a-z][A-Za-z0-9]*(\.[a-z][A-Za-z0-9]*){0,4}$`)
)

// reservedRoots are expression roots a fan-out item may not be named.
var reservedRoots = map[string]bool{plan.RootSpec: true, plan.RootSteps: true, plan.RootIndex: true,
	plan.RootInput: true, plan.RootOutput: true, plan.RootMeta: true}

// checkString applies the field's enum and format to a decoded string.
func (d *decoder) checkString(n *yaml.Node, path string, fi *fieldInfo) {
	d.checkSecretValue(n)
	if fi == nil {
		return
	}
	s := n.Value
	key := lastKey(strings.TrimRight(path, "]0123456789["))
	if len(fi.enum) > 0 {
		ok := false
		for _, e := range fi.enum {
			if s == e {
				ok = true
			}
		}
		if !ok {
			msg := fmt.Sprintf("%s %q is not one of %s", key, s, strings.Join(quoteAll(fi.enum), ", "))
			if best := nearest(s, fi.enum); best != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", best)
			}
			d.errorf(n, "%s", msg)
		}
	}
	switch fi.format {
	case "name":
		if !namePattern.MatchString(s) {
			d.errorf(n, "%s %q is not a valid name: use lowercase letters, digits and '-', start and end with a letter or digit, at most 63 characters", key, s)
		}
	case "stepId":
		if !plan.ValidStepID(s) {
			d.errorf(n, "step id %q is not valid: use lowercase letters, digits and '-', start and end with a letter or digit, at most 63 characters", s)
		}
	case "account":
		if !accountPattern.MatchString(s) {
			d.errorf(n, "%s %q is not a valid account name: use lowercase letters, digits, '.', '_' and '-'", key, s)
			return
		}
		if d.opts.Accounts != nil {
			if _, ok := d.opts.Accounts(s); !ok {
				msg := fmt.Sprintf("unknown account %q: it is not in the account registry", s)
				if d.opts.AccountNames != nil {
					if best := nearest(s, d.opts.AccountNames()); best != "" {
						msg += fmt.Sprintf(" (did you mean %q?)", best)
					}
				}
				d.errorf(n, "%s", msg)
			}
		}
	case "region":
		if !regionPattern.MatchString(s) {
			d.errorf(n, "%s %q is not a valid region name (e.g. cn-north-4, eu-de, us-east-1, westeurope)", key, s)
		}
	case "cidr":
		p, err := netip.ParsePrefix(s)
		if err != nil {
			d.errorf(n, "%s %q is not a valid CIDR (e.g. 10.0.0.0/16)", key, s)
			return
		}
		if p.Masked() != p {
			d.errorf(n, "%s %q has host bits set (did you mean %q?)", key, s, p.Masked().String())
		}
	case "duration":
		dur, err := time.ParseDuration(s)
		if err != nil {
			d.errorf(n, "%s %q is not a valid duration (use e.g. 30s, 10m, 72h)", key, s)
			return
		}
		if dur <= 0 {
			d.errorf(n, "%s %q must be positive", key, s)
		}
	case "expr":
		if _, err := plan.ParseRefs(StripExpr(s)); err != nil {
			d.errorf(n, "%s: %v", key, err)
		}
	case "ident":
		if !identPattern.MatchString(s) {
			d.errorf(n, "%s %q is not a valid name (letters, digits and '_', not starting with a digit)", key, s)
		} else if reservedRoots[s] {
			d.errorf(n, "%s %q is reserved in expressions; choose another name", key, s)
		}
	case "principal":
		if err := policy.CheckPrincipal(s); err != nil {
			d.errorf(n, "%s: %v", key, err)
		}
	case "action":
		if !actionPattern.MatchString(s) {
			d.errorf(n, "%s %q is not a valid action name (e.g. huawei.vpcep.createEndpoint)", key, s)
		}
	}
}

// checkInt applies the field's format to a decoded integer.
func (d *decoder) checkInt(n *yaml.Node, path string, fi *fieldInfo, v int) {
	if fi == nil {
		return
	}
	switch fi.format {
	case "port":
		if v < 1 || v > 65535 {
			d.errorf(n, "%s %d is outside 1-65535", lastKey(path), v)
		}
	case "count":
		if v < 1 {
			d.errorf(n, "%s must be at least 1 (leave it out for the default, 1)", lastKey(path))
		}
	default:
		if v < 0 {
			d.errorf(n, "%s must not be negative", lastKey(path))
		}
	}
}

// StripExpr returns the expression inside "${{ ... }}", or s itself when it
// is not wrapped.
func StripExpr(s string) string {
	if e, ok := ExprOf(s); ok {
		return e
	}
	return strings.TrimSpace(s)
}

// ExprOf reports whether s is exactly "${{ expression }}" and returns the expression.
func ExprOf(s string) (string, bool) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "${{") && strings.HasSuffix(t, "}}") && len(t) >= 5 {
		return strings.TrimSpace(t[3 : len(t)-2]), true
	}
	return "", false
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = fmt.Sprintf("%q", v)
	}
	return out
}

// nearest returns the candidate closest to got if it is close enough.
func nearest(got string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		dist := levenshtein(strings.ToLower(got), strings.ToLower(c))
		if dist < bestD || (dist == bestD && c < best) {
			best, bestD = c, dist
		}
	}
	limit := max(len(got)/3, 2)
	if best != "" && bestD <= limit {
		return best
	}
	return ""
}

// secretKeys are keys (lowercased, without '-' and '_') that name secrets.
var secretKeys = map[string]bool{
	"password": true, "passwd": true, "pwd": true, "secret": true, "secretkey": true, "secretaccesskey": true,
	"sk": true, "accesskeysecret": true, "clientsecret": true, "privatekey": true, "token": true,
	"apikey": true, "accesstoken": true, "sessiontoken": true, "credentials": true, "credential": true,
	"saslpassword": true, "keystorepassword": true, "truststorepassword": true, "connectionstring": true,
}

var keyNormalizer = strings.NewReplacer("-", "", "_", "")

func (d *decoder) checkSecretKey(k *yaml.Node) {
	norm := strings.ToLower(keyNormalizer.Replace(k.Value))
	if secretKeys[norm] {
		d.errorf(k, "key %q looks like a secret: a spec never carries secrets; name an account and put its credential source (environment variable or file) in the account registry", k.Value)
	}
}

var (
	awsAccessKey    = regexp.MustCompile(`\b(AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{16}\b`)
	huaweiAccessKey = regexp.MustCompile(`^[A-Z0-9]{20}$`)
	secretAssign    = regexp.MustCompile(`(?i)(password|passwd|secret[_-]?key|secret|sk|token)\s*[:=]\s*\S`)
)

// SecretReason returns why s looks like a secret, or "" if it does not.
func SecretReason(s string) string {
	switch {
	case strings.Contains(s, "-----BEGIN"):
		return "a PEM block"
	case awsAccessKey.MatchString(s):
		return "an AWS access key ID"
	case huaweiAccessKey.MatchString(s) && countClass(s, isDigit) >= 3 && countClass(s, isUpper) >= 3:
		return "an access key ID"
	case secretAssign.MatchString(s):
		return "a secret assignment"
	case looksRandom(s):
		return "a long random string (secret key or token)"
	}
	return ""
}

func (d *decoder) checkSecretValue(n *yaml.Node) {
	if _, isExpr := ExprOf(n.Value); isExpr {
		return
	}
	if why := SecretReason(n.Value); why != "" {
		d.errorf(n, "value looks like %s: a spec never carries secrets; name an account and put its credential source (environment variable or file) in the account registry", why)
	}
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }
func isUpper(r rune) bool { return r >= 'A' && r <= 'Z' }
func isLower(r rune) bool { return r >= 'a' && r <= 'z' }

func countClass(s string, f func(rune) bool) int {
	n := 0
	for _, r := range s {
		if f(r) {
			n++
		}
	}
	return n
}

// looksRandom reports a long token mixing upper case, lower case and digits
// with high entropy (secret keys, tokens). IDs, ARNs, UUIDs and paths do not
// match: they are lower case or contain separators.
func looksRandom(s string) bool {
	if len(s) < 32 || len(s) > 4096 || strings.ContainsAny(s, " \t\n:/.,") {
		return false
	}
	if countClass(s, isUpper) < 2 || countClass(s, isLower) < 2 || countClass(s, isDigit) < 2 {
		return false
	}
	return entropy(s) >= 4.0
}

func entropy(s string) float64 {
	counts := map[rune]int{}
	n := 0
	for _, r := range s {
		counts[r]++
		n++
	}
	h := 0.0
	for _, c := range counts {
		p := float64(c) / float64(n)
		h -= p * math.Log2(p)
	}
	return h
}
