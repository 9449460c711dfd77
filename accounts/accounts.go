// Package accounts is the worker-side account registry: the clouds and
// accounts Topoflow may act as, their regions, service endpoints and where
// their credentials come from.
//
// The registry never holds a secret. An account names credential sources
// (environment variables and/or files); [Account.Resolve] reads them when an
// activity needs them, so secrets never enter specs, plans, workflow history,
// logs or errors.
//
// Registry file format (YAML):
//
//	accounts:
//	  hw-kafka-owner:
//	    provider: huawei            # huawei | aws | azure | ambari | alibaba | tencent | emqx | external (probes only)
//	    region: cn-north-4
//	    huawei: {projectId: ..., domainId: ..., cloud: huaweicloud}   # or cloud: otc
//	    endpoints:                  # service -> base URL (vpcep, dms, vpc, iam, ec2, kafka, sts, arm, ambari)
//	      vpcep: ${CLOUDSIM_URL:-http://127.0.0.1:8700}
//	    credentials:                # optional; default env names are TOPOFLOW_<NAME>_<KEY>
//	      ak: {env: TOPOFLOW_HW_KAFKA_OWNER_AK}
//	      sk: {env: TOPOFLOW_HW_KAFKA_OWNER_SK, file: /run/secrets/hw-owner-sk}
//	    probes:                     # optional; probe workers inside this account's networks
//	      - network: vpc-0123       # omit for the account's default probe
//	        taskQueue: topoflow-probe-hw-client-b
//	        startTimeout: 2m        # how long a step waits for the probe to pick it up (default 2m)
//
// Endpoint URLs may use ${VAR} and ${VAR:-default}; they are expanded from the
// process environment when the file is parsed, so tests can point the
// registry at a cloudsim listening on a random port (CLOUDSIM_URL).
package accounts

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Providers.
const (
	ProviderHuawei = "huawei"
	ProviderAWS    = "aws"
	ProviderAzure  = "azure"
	ProviderAmbari = "ambari"
	// ProviderAlibaba is Alibaba Cloud (VPC, VPC peering, ECS security groups).
	ProviderAlibaba = "alibaba"
	// ProviderTencent is Tencent Cloud (VPC, CCN, security groups).
	ProviderTencent = "tencent"
	// ProviderEMQX is an EMQX Platform deployment's REST API (endpoint
	// emqx: the deployment API address, e.g. https://<host>:8443/api/v5;
	// credentials appId and appSecret, a deployment API key:
	// https://docs.emqx.com/en/cloud/latest/api/api_deployment.html).
	ProviderEMQX = "emqx"
	// ProviderExternal is a network outside the clouds Topoflow calls (an
	// on-premises site, a SaaS deployment's VPC, a cloud without an SDK here
	// such as Alibaba Cloud): no endpoints or credentials, only probes, so
	// steps can run from it (a Workflow step's from:).
	ProviderExternal = "external"
)

// Huawei cloud flavours.
const (
	CloudHuawei = "huaweicloud"
	CloudOTC    = "otc"
)

// Service names usable as endpoint keys.
var knownServices = map[string]bool{
	"vpcep": true, "dms": true, "vpc": true, "iam": true, "ec2": true, "kafka": true,
	"sts": true, "arm": true, "ambari": true, "login": true, "msk": true, "elasticloadbalancing": true, "route53": true,
	"vpcpeer": true, "ecs": true, "emqx": true,
}

// Credential keys each provider accepts; the first ones listed in
// requiredKeys must resolve to a non-empty value.
var (
	providerKeys = map[string][]string{
		ProviderHuawei:   {"ak", "sk", "securityToken"},
		ProviderAWS:      {"accessKeyId", "secretAccessKey", "sessionToken"},
		ProviderAzure:    {"clientSecret"},
		ProviderAmbari:   {"username", "password"},
		ProviderAlibaba:  {"accessKeyId", "accessKeySecret", "securityToken"},
		ProviderTencent:  {"secretId", "secretKey", "token"},
		ProviderEMQX:     {"appId", "appSecret"},
		ProviderExternal: {},
	}
	requiredKeys = map[string][]string{
		ProviderHuawei:  {"ak", "sk"},
		ProviderAWS:     {"accessKeyId", "secretAccessKey"},
		ProviderAzure:   {"clientSecret"},
		ProviderAmbari:  {"username", "password"},
		ProviderAlibaba: {"accessKeyId", "accessKeySecret"},
		ProviderTencent: {"secretId", "secretKey"},
		ProviderEMQX:    {"appId", "appSecret"},
	}
)

// Registry is a loaded set of accounts, keyed by name.
type Registry struct {
	accounts map[string]*Account
}

// Account is one cloud account (or Ambari cluster) Topoflow may act as.
type Account struct {
	// Name is the registry key, used by specs and plan steps.
	Name string
	// Provider is huawei, aws, azure or ambari.
	Provider string
	// Region is the cloud region (e.g. cn-north-4, eu-de, eu-west-1, westeurope).
	Region string
	// Huawei holds Huawei Cloud / Open Telekom Cloud identity, for provider huawei.
	Huawei *Huawei
	// AWS holds the AWS identity, for provider aws.
	AWS *AWS
	// Azure holds the Azure identity, for provider azure.
	Azure *Azure
	// Ambari holds the Ambari cluster address, for provider ambari.
	Ambari *Ambari
	// Alibaba holds the Alibaba Cloud identity, for provider alibaba.
	Alibaba *Alibaba
	// Tencent holds the Tencent Cloud identity, for provider tencent.
	Tencent *Tencent
	// Endpoints maps a service (vpcep, dms, vpc, iam, ec2, kafka, sts, arm, ambari) to its base URL.
	Endpoints map[string]string
	// Credentials says where the secrets come from (never the secrets).
	Credentials CredentialSources
	// Probes are the probe workers inside the account's networks that run
	// verification steps from the client's side (see [Account.ProbeFor]).
	Probes []Probe
	// Pos is "FILE:LINE:COL" of the account's definition.
	Pos string

	credKeys []credKey
}

// Huawei is the identity of a Huawei Cloud or Open Telekom Cloud account.
type Huawei struct {
	// ProjectID is the project of Region (sent as X-Project-Id and in paths).
	ProjectID string
	// DomainID is the account (domain) ID, used in VPCEP whitelists as iam:domain::<DomainID>.
	DomainID string
	// Cloud is "huaweicloud" (default) or "otc" (Open Telekom Cloud).
	Cloud string
}

// AWS is the identity of an AWS account.
type AWS struct {
	// AccountID is the 12-digit account ID.
	AccountID string
	// RoleARN, if set, is assumed (STS AssumeRole) with the base credentials.
	RoleARN string
}

// Azure is the identity of an Azure subscription and service principal.
type Azure struct {
	SubscriptionID string
	TenantID       string
	ClientID       string
}

// Alibaba is the identity of an Alibaba Cloud account.
type Alibaba struct {
	// AccountID is the account's UID (a 16-digit number; AcceptingAliUid of a
	// peering it receives).
	AccountID string
}

// Tencent is the identity of a Tencent Cloud account.
type Tencent struct {
	// AccountID is the account's UIN (the owner uin of a CCN it attaches to).
	AccountID string
}

// Ambari is the address of an Ambari-managed cluster (e.g. HDInsight).
type Ambari struct {
	// URL is the Ambari base URL (without /api/v1).
	URL string
	// Cluster is the cluster name as in /api/v1/clusters/{Cluster}.
	Cluster string
}

// DefaultProbeStartTimeout is how long a step waits for a probe worker to
// pick it up when the registry does not say.
const DefaultProbeStartTimeout = 2 * time.Minute

// Probe is a probe worker (topoflow-worker probe) inside one of an
// account's networks, polling its own task queue.
type Probe struct {
	// Network is the VPC/VNet the probe sits in; empty: the account's default.
	Network string
	// TaskQueue is the probe's task queue.
	TaskQueue string
	// StartTimeout bounds how long a step waits for the probe to pick it up.
	StartTimeout time.Duration
	// Pos is "FILE:LINE:COL" of the probe's definition.
	Pos string
}

// ProbeFor returns the probe registered for network: the one naming it,
// else the account's default probe (no network).
func (a *Account) ProbeFor(network string) (Probe, bool) {
	var def *Probe
	for i := range a.Probes {
		p := &a.Probes[i]
		if network != "" && p.Network == network {
			return *p, true
		}
		if p.Network == "" && def == nil {
			def = p
		}
	}
	if def != nil {
		return *def, true
	}
	return Probe{}, false
}

// Source says where one credential value is read from: the environment
// variable Env if set and non-empty, else the file File (trimmed).
type Source struct {
	Env  string
	File string
}

// CredentialSources maps a credential key (ak, sk, securityToken,
// accessKeyId, secretAccessKey, sessionToken, clientSecret, username,
// password) to its source.
type CredentialSources map[string]Source

// Credentials are resolved secrets. They format as a redacted string so a
// stray %v never leaks them.
type Credentials struct {
	// Huawei
	AK, SK, SecurityToken string
	// AWS
	AccessKeyID, SecretAccessKey, SessionToken string
	// Azure
	ClientSecret string
	// Ambari
	Username, Password string
	// Alibaba: AccessKeyID, SecurityToken (above) and AccessKeySecret
	AccessKeySecret string
	// Tencent
	SecretID, SecretKey, Token string
	// EMQX Platform deployment API key
	AppID, AppSecret string
}

// String redacts every value.
func (Credentials) String() string { return "accounts.Credentials{redacted}" }

// GoString redacts every value.
func (Credentials) GoString() string { return "accounts.Credentials{redacted}" }

// Get returns the account with that name.
func (r *Registry) Get(name string) (*Account, bool) {
	if r == nil {
		return nil, false
	}
	a, ok := r.accounts[name]
	return a, ok
}

// Names returns the account names, sorted.
func (r *Registry) Names() []string {
	if r == nil {
		return nil
	}
	out := make([]string, 0, len(r.accounts))
	for n := range r.accounts {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Endpoint returns the base URL of service, or an error naming the account
// and service when none is configured.
func (a *Account) Endpoint(service string) (string, error) {
	if u := a.Endpoints[service]; u != "" {
		return u, nil
	}
	return "", fmt.Errorf("account %q has no endpoint for service %q", a.Name, service)
}

// DefaultEnv returns the default environment variable of a credential key:
// TOPOFLOW_<NAME>_<KEY>, with the name upper-cased and '-' or '.' as '_',
// and the key in SCREAMING_SNAKE_CASE (e.g. hw-kafka-owner, ak →
// TOPOFLOW_HW_KAFKA_OWNER_AK; aws-msk, secretAccessKey →
// TOPOFLOW_AWS_MSK_SECRET_ACCESS_KEY).
func DefaultEnv(account, key string) string {
	n := strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(account))
	var k strings.Builder
	for i, c := range key {
		if c >= 'A' && c <= 'Z' && i > 0 {
			k.WriteByte('_')
		}
		k.WriteRune(c)
	}
	return "TOPOFLOW_" + n + "_" + strings.ToUpper(k.String())
}

// Resolve reads the account's credentials from their sources now. Errors
// name the missing variable or file, never a value.
func (a *Account) Resolve(ctx context.Context) (Credentials, error) {
	if err := ctx.Err(); err != nil {
		return Credentials{}, err
	}
	var c Credentials
	vals := map[string]string{}
	for _, key := range providerKeys[a.Provider] {
		src, ok := a.Credentials[key]
		if !ok {
			src = Source{Env: DefaultEnv(a.Name, key)}
		}
		v, err := src.read()
		if err != nil {
			return Credentials{}, fmt.Errorf("account %q credential %q: %w", a.Name, key, err)
		}
		vals[key] = v
	}
	for _, key := range requiredKeys[a.Provider] {
		if vals[key] == "" {
			src, ok := a.Credentials[key]
			if !ok {
				src = Source{Env: DefaultEnv(a.Name, key)}
			}
			return Credentials{}, fmt.Errorf("account %q credential %q is not set (%s)", a.Name, key, src.describe())
		}
	}
	c.AK, c.SK, c.SecurityToken = vals["ak"], vals["sk"], vals["securityToken"]
	c.AccessKeyID, c.SecretAccessKey, c.SessionToken = vals["accessKeyId"], vals["secretAccessKey"], vals["sessionToken"]
	c.ClientSecret = vals["clientSecret"]
	c.Username, c.Password = vals["username"], vals["password"]
	c.AccessKeySecret = vals["accessKeySecret"]
	c.SecretID, c.SecretKey, c.Token = vals["secretId"], vals["secretKey"], vals["token"]
	c.AppID, c.AppSecret = vals["appId"], vals["appSecret"]
	return c, nil
}

func (s Source) read() (string, error) {
	if s.Env != "" {
		if v := os.Getenv(s.Env); v != "" {
			return v, nil
		}
	}
	if s.File != "" {
		b, err := os.ReadFile(s.File)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				return "", fmt.Errorf("read file %s: %w", s.File, pe.Err)
			}
			return "", fmt.Errorf("read file %s: failed", s.File)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return "", nil
}

func (s Source) describe() string {
	var parts []string
	if s.Env != "" {
		parts = append(parts, "env "+s.Env)
	}
	if s.File != "" {
		parts = append(parts, "file "+s.File)
	}
	if len(parts) == 0 {
		return "no source"
	}
	return strings.Join(parts, ", ")
}

// Load reads and parses a registry file.
func Load(path string) (*Registry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load account registry: %w", err)
	}
	return Parse(path, b)
}

// parser collects errors with positions.
type parser struct {
	file string
	errs []string
}

func (p *parser) errf(n *yaml.Node, format string, args ...any) {
	p.errs = append(p.errs, fmt.Sprintf("%s:%d:%d: %s", p.file, n.Line, n.Column, fmt.Sprintf(format, args...)))
}

func (p *parser) pos(n *yaml.Node) string { return fmt.Sprintf("%s:%d:%d", p.file, n.Line, n.Column) }

// mapping iterates a mapping node's keys, refusing keys not in allowed (nil
// allows any) and duplicates.
func (p *parser) mapping(n *yaml.Node, what string, allowed []string, fn func(key string, k, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		p.errf(n, "%s must be a mapping", what)
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errf(k, "%s: key must be a string", what)
			continue
		}
		if seen[k.Value] {
			p.errf(k, "%s: duplicate key %q", what, k.Value)
			continue
		}
		seen[k.Value] = true
		if allowed != nil && !contains(allowed, k.Value) {
			p.errf(k, "%s: unknown key %q (allowed: %s)", what, k.Value, strings.Join(allowed, ", "))
			continue
		}
		fn(k.Value, k, v)
	}
}

func (p *parser) str(n *yaml.Node, what string) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errf(n, "%s must be a string", what)
		return ""
	}
	return n.Value
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var digits = regexp.MustCompile(`^[0-9]{1,20}$`)

var accountName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// Parse parses a registry document; filename is used in error positions.
// Every error is reported as FILE:LINE:COL: message, all at once.
func Parse(filename string, data []byte) (*Registry, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", filename, err)
	}
	p := &parser{file: filename}
	reg := &Registry{accounts: map[string]*Account{}}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s:1:1: empty account registry", filename)
	}
	root := doc.Content[0]
	found := false
	p.mapping(root, "registry", []string{"accounts"}, func(_ string, _, v *yaml.Node) {
		found = true
		p.mapping(v, "accounts", nil, func(name string, k, av *yaml.Node) {
			if !accountName.MatchString(name) {
				p.errf(k, "account name %q must be lower-case letters, digits and '-' (at most 63)", name)
				return
			}
			if a := p.account(name, av); a != nil {
				a.Pos = p.pos(k)
				reg.accounts[name] = a
			}
		})
	})
	if !found && len(p.errs) == 0 {
		p.errf(root, "registry: missing key \"accounts\"")
	}
	if len(p.errs) > 0 {
		return nil, errors.New(strings.Join(p.errs, "\n"))
	}
	return reg, nil
}

func (p *parser) account(name string, n *yaml.Node) *Account {
	a := &Account{Name: name, Endpoints: map[string]string{}, Credentials: CredentialSources{}}
	var provNode *yaml.Node
	blocks := map[string]*yaml.Node{}
	before := len(p.errs)
	p.mapping(n, "account "+name, []string{"provider", "region", "huawei", "aws", "azure", "ambari", "alibaba", "tencent", "endpoints", "credentials", "probes"}, func(key string, k, v *yaml.Node) {
		switch key {
		case "provider":
			provNode = v
			a.Provider = p.str(v, "provider")
		case "region":
			a.Region = p.str(v, "region")
		case "huawei":
			blocks[key] = k
			a.Huawei = &Huawei{Cloud: CloudHuawei}
			p.mapping(v, "huawei", []string{"projectId", "domainId", "cloud"}, func(key string, _, v *yaml.Node) {
				switch key {
				case "projectId":
					a.Huawei.ProjectID = p.str(v, "huawei.projectId")
				case "domainId":
					a.Huawei.DomainID = p.str(v, "huawei.domainId")
				case "cloud":
					a.Huawei.Cloud = p.str(v, "huawei.cloud")
					if a.Huawei.Cloud != CloudHuawei && a.Huawei.Cloud != CloudOTC {
						p.errf(v, "huawei.cloud must be %q or %q, not %q", CloudHuawei, CloudOTC, a.Huawei.Cloud)
					}
				}
			})
		case "aws":
			blocks[key] = k
			a.AWS = &AWS{}
			p.mapping(v, "aws", []string{"accountId", "roleArn"}, func(key string, _, v *yaml.Node) {
				switch key {
				case "accountId":
					a.AWS.AccountID = p.str(v, "aws.accountId")
				case "roleArn":
					a.AWS.RoleARN = p.str(v, "aws.roleArn")
				}
			})
		case "azure":
			blocks[key] = k
			a.Azure = &Azure{}
			p.mapping(v, "azure", []string{"subscriptionId", "tenantId", "clientId"}, func(key string, _, v *yaml.Node) {
				switch key {
				case "subscriptionId":
					a.Azure.SubscriptionID = p.str(v, "azure.subscriptionId")
				case "tenantId":
					a.Azure.TenantID = p.str(v, "azure.tenantId")
				case "clientId":
					a.Azure.ClientID = p.str(v, "azure.clientId")
				}
			})
		case "ambari":
			blocks[key] = k
			a.Ambari = &Ambari{}
			p.mapping(v, "ambari", []string{"url", "cluster"}, func(key string, _, v *yaml.Node) {
				switch key {
				case "url":
					a.Ambari.URL = p.url(v, "ambari.url")
				case "cluster":
					a.Ambari.Cluster = p.str(v, "ambari.cluster")
				}
			})
		case "alibaba":
			blocks[key] = k
			a.Alibaba = &Alibaba{}
			p.mapping(v, "alibaba", []string{"accountId"}, func(_ string, _, v *yaml.Node) {
				a.Alibaba.AccountID = p.str(v, "alibaba.accountId")
			})
		case "tencent":
			blocks[key] = k
			a.Tencent = &Tencent{}
			p.mapping(v, "tencent", []string{"accountId"}, func(_ string, _, v *yaml.Node) {
				a.Tencent.AccountID = p.str(v, "tencent.accountId")
			})
		case "endpoints":
			p.mapping(v, "endpoints", nil, func(svc string, k, v *yaml.Node) {
				if !knownServices[svc] {
					p.errf(k, "endpoints: unknown service %q", svc)
					return
				}
				a.Endpoints[svc] = p.url(v, "endpoints."+svc)
			})
		case "probes":
			a.Probes = p.probes(v)
		case "credentials":
			p.mapping(v, "credentials", nil, func(key string, k, v *yaml.Node) {
				var s Source
				p.mapping(v, "credentials."+key, []string{"env", "file"}, func(f string, _, v *yaml.Node) {
					if f == "env" {
						s.Env = p.str(v, "credentials."+key+".env")
					} else {
						s.File = p.str(v, "credentials."+key+".file")
					}
				})
				if s.Env == "" && s.File == "" {
					p.errf(v, "credentials.%s needs env and/or file", key)
				}
				a.Credentials[key] = s
				a.credKeys = append(a.credKeys, credKey{key, k})
			})
		}
	})
	if len(p.errs) > before {
		return nil
	}
	keys, ok := providerKeys[a.Provider]
	if !ok {
		at := n
		if provNode != nil {
			at = provNode
		}
		p.errf(at, "account %s: provider must be one of huawei, aws, azure, ambari, alibaba, tencent, emqx, external (got %q)", name, a.Provider)
		return nil
	}
	for blk, k := range blocks {
		if blk != a.Provider {
			p.errf(k, "account %s: block %q does not match provider %q", name, blk, a.Provider)
		}
	}
	for _, ck := range a.credKeys {
		if !contains(keys, ck.key) {
			p.errf(ck.node, "account %s: unknown credential %q for provider %s (allowed: %s)", name, ck.key, a.Provider, strings.Join(keys, ", "))
		}
	}
	switch a.Provider {
	case ProviderHuawei:
		if a.Huawei == nil || a.Huawei.ProjectID == "" || a.Huawei.DomainID == "" {
			p.errf(n, "account %s: provider huawei needs huawei.projectId and huawei.domainId", name)
		}
		if a.Region == "" {
			p.errf(n, "account %s: provider huawei needs region", name)
		}
	case ProviderAWS:
		if a.AWS == nil || a.AWS.AccountID == "" {
			p.errf(n, "account %s: provider aws needs aws.accountId", name)
		}
		if a.Region == "" {
			p.errf(n, "account %s: provider aws needs region", name)
		}
	case ProviderAzure:
		if a.Azure == nil || a.Azure.SubscriptionID == "" || a.Azure.TenantID == "" || a.Azure.ClientID == "" {
			p.errf(n, "account %s: provider azure needs azure.subscriptionId, tenantId and clientId", name)
		}
	case ProviderAlibaba:
		if a.Alibaba == nil || !digits.MatchString(a.Alibaba.AccountID) {
			p.errf(n, "account %s: provider alibaba needs alibaba.accountId (the account UID, digits)", name)
		}
		if a.Region == "" {
			p.errf(n, "account %s: provider alibaba needs region", name)
		}
	case ProviderTencent:
		if a.Tencent == nil || !digits.MatchString(a.Tencent.AccountID) {
			p.errf(n, "account %s: provider tencent needs tencent.accountId (the account UIN, digits)", name)
		}
		if a.Region == "" {
			p.errf(n, "account %s: provider tencent needs region", name)
		}
	case ProviderEMQX:
		if a.Endpoints["emqx"] == "" {
			p.errf(n, "account %s: provider emqx needs endpoints.emqx (the deployment API address, e.g. https://<host>:8443/api/v5)", name)
		}
	case ProviderAmbari:
		if a.Ambari == nil || a.Ambari.URL == "" || a.Ambari.Cluster == "" {
			p.errf(n, "account %s: provider ambari needs ambari.url and ambari.cluster", name)
		}
	}
	if len(p.errs) > before {
		return nil
	}
	a.credKeys = nil
	return a
}

// probes parses an account's probes list.
func (p *parser) probes(n *yaml.Node) []Probe {
	if n.Kind != yaml.SequenceNode {
		p.errf(n, "probes must be a list of {network, taskQueue, startTimeout}")
		return nil
	}
	var out []Probe
	seen := map[string]bool{}
	for _, e := range n.Content {
		pr := Probe{StartTimeout: DefaultProbeStartTimeout, Pos: p.pos(e)}
		p.mapping(e, "probe", []string{"network", "taskQueue", "startTimeout"}, func(key string, _, v *yaml.Node) {
			switch key {
			case "network":
				pr.Network = p.str(v, "probe network")
			case "taskQueue":
				pr.TaskQueue = p.str(v, "probe taskQueue")
			case "startTimeout":
				d, err := time.ParseDuration(p.str(v, "probe startTimeout"))
				if err != nil || d <= 0 {
					p.errf(v, "probe startTimeout must be a positive duration such as 2m, not %q", v.Value)
				}
				pr.StartTimeout = d
			}
		})
		if e.Kind != yaml.MappingNode {
			continue
		}
		if pr.TaskQueue == "" {
			p.errf(e, "probe needs taskQueue (the task queue its topoflow-worker probe polls)")
		}
		if seen[pr.Network] {
			if pr.Network == "" {
				p.errf(e, "a second default probe (without network): give each probe its network")
			} else {
				p.errf(e, "a second probe for network %s", pr.Network)
			}
		}
		seen[pr.Network] = true
		out = append(out, pr)
	}
	return out
}

type credKey struct {
	key  string
	node *yaml.Node
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// url expands ${VAR} / ${VAR:-default} and checks the result is an absolute http(s) URL.
func (p *parser) url(n *yaml.Node, what string) string {
	raw := p.str(n, what)
	if raw == "" {
		return ""
	}
	var missing []string
	s := envRef.ReplaceAllStringFunc(raw, func(m string) string {
		g := envRef.FindStringSubmatch(m)
		if v, ok := os.LookupEnv(g[1]); ok && v != "" {
			return v
		}
		if g[2] != "" {
			return g[3]
		}
		missing = append(missing, g[1])
		return ""
	})
	if len(missing) > 0 {
		p.errf(n, "%s: environment variable %s is not set and has no default", what, strings.Join(missing, ", "))
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.errf(n, "%s: %q is not an absolute http(s) URL", what, s)
		return ""
	}
	return strings.TrimSuffix(s, "/")
}

// RegisteredProbe is one probe worker the registry names, with the
// accounts whose steps it serves.
type RegisteredProbe struct {
	TaskQueue string
	Network   string
	Accounts  []string
}

// Probes returns every probe the registry names, one per task queue,
// sorted by task queue. A task queue named for two different networks is an
// error: one probe sits in one network.
func (r *Registry) Probes() ([]RegisteredProbe, error) {
	byQueue := map[string]*RegisteredProbe{}
	var errs []string
	for _, name := range r.Names() {
		a := r.accounts[name]
		for _, p := range a.Probes {
			rp, ok := byQueue[p.TaskQueue]
			if !ok {
				rp = &RegisteredProbe{TaskQueue: p.TaskQueue, Network: p.Network}
				byQueue[p.TaskQueue] = rp
			} else if rp.Network != p.Network {
				errs = append(errs, fmt.Sprintf("%s: probe task queue %s is named for networks %q and %q: one probe sits in one network", p.Pos, p.TaskQueue, rp.Network, p.Network))
				continue
			}
			rp.Accounts = append(rp.Accounts, name)
		}
	}
	if len(errs) > 0 {
		return nil, errors.New(strings.Join(errs, "\n"))
	}
	out := make([]RegisteredProbe, 0, len(byQueue))
	for _, rp := range byQueue {
		out = append(out, *rp)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TaskQueue < out[j].TaskQueue })
	return out, nil
}
