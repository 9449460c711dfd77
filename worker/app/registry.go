package app

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"go.temporal.io/sdk/worker"

	"github.com/topoflow/topoflow/accounts"
	"github.com/topoflow/topoflow/activities"
	"github.com/topoflow/topoflow/activities/alibaba"
	"github.com/topoflow/topoflow/activities/ambari"
	"github.com/topoflow/topoflow/activities/aws"
	"github.com/topoflow/topoflow/activities/azure"
	"github.com/topoflow/topoflow/activities/core"
	"github.com/topoflow/topoflow/activities/emqx"
	"github.com/topoflow/topoflow/activities/huawei"
	"github.com/topoflow/topoflow/activities/kafka"
	"github.com/topoflow/topoflow/activities/mqtt"
	"github.com/topoflow/topoflow/activities/tencent"
	"github.com/topoflow/topoflow/catalog"
	"github.com/topoflow/topoflow/plan"
	"github.com/topoflow/topoflow/workflows"
)

// BuildActivities returns one registry holding every provider's actions,
// acting as the accounts of accts (nil: no cloud accounts; actions then
// fail with an error naming the missing account when called).
func BuildActivities(accts *accounts.Registry, opts Options) (reg *activities.Registry, err error) {
	return buildActivities(accts, Config{}, opts)
}

// buildActivities is BuildActivities with the worker's configuration (the
// CAs kafka.verify trusts).
func buildActivities(accts *accounts.Registry, cfg Config, opts Options) (reg *activities.Registry, err error) {
	defer func() {
		// Registries panic on duplicate names, a programming error we
		// report as a start-up failure rather than a crash.
		if r := recover(); r != nil {
			err = fmt.Errorf("build activity registry: %v", r)
		}
	}()
	reg = activities.NewRegistry()
	for _, p := range providers {
		p.register(reg, accts, cfg, opts)
	}
	return reg, nil
}

// provider is one package of actions.
type provider struct {
	name     string
	register func(reg *activities.Registry, accts *accounts.Registry, cfg Config, opts Options)
}

// providers lists every provider package wired into the worker.
var providers = []provider{
	{"huawei", func(reg *activities.Registry, accts *accounts.Registry, _ Config, _ Options) {
		huawei.Register(reg, accts)
	}},
	{"alibaba", func(reg *activities.Registry, accts *accounts.Registry, _ Config, _ Options) {
		alibaba.Register(reg, accts)
	}},
	{"tencent", func(reg *activities.Registry, accts *accounts.Registry, _ Config, _ Options) {
		tencent.Register(reg, accts)
	}},
	{"aws", func(reg *activities.Registry, accts *accounts.Registry, _ Config, _ Options) {
		aws.Register(reg, accts)
	}},
	{"azure", func(reg *activities.Registry, accts *accounts.Registry, _ Config, _ Options) {
		azure.Register(reg, accts)
	}},
	{"ambari", func(reg *activities.Registry, accts *accounts.Registry, _ Config, _ Options) {
		ambari.Register(reg, accts)
	}},
	{"kafka", func(reg *activities.Registry, accts *accounts.Registry, cfg Config, _ Options) {
		kafka.Register(reg, kafka.Options{Credentials: saslCredentials(accts), AWSCredentials: aws.New(accts).Credentials,
			ExtraRootCAs: kafkaRootCAs(cfg)})
	}},
	{"emqx", func(reg *activities.Registry, accts *accounts.Registry, _ Config, _ Options) {
		emqx.Register(reg, accts)
	}},
	{"mqtt", func(reg *activities.Registry, _ *accounts.Registry, _ Config, _ Options) {
		mqtt.Register(reg, mqtt.Options{})
	}},
	{"topoflow", func(reg *activities.Registry, accts *accounts.Registry, _ Config, _ Options) {
		reg.Add(plan.ActionProbeRoute, probeRoute(accts))
	}},
}

// saslCredentials resolves a Kafka SASL user and password from the account
// registry (the account's username/password credentials), inside the worker.
func saslCredentials(accts *accounts.Registry) kafka.CredentialsFunc {
	return func(ctx context.Context, name string) (string, string, error) {
		a, ok := accts.Get(name)
		if !ok {
			return "", "", fmt.Errorf("kafka SASL: no account %q in the worker's account registry", name)
		}
		c, err := a.Resolve(ctx)
		if err != nil {
			return "", "", fmt.Errorf("kafka SASL: %w", err)
		}
		if c.Username == "" || c.Password == "" {
			return "", "", fmt.Errorf("kafka SASL: account %q has no username/password credentials", name)
		}
		return c.Username, c.Password, nil
	}
}

// RegisterAll registers the interpreter workflows, the generic wait (which
// polls reg's read actions in-process) and every action of reg on w. It is
// what the worker does at start-up; tests that run their own worker call it
// too. Call it after every action was added to reg.
func RegisterAll(w worker.Registry, reg *activities.Registry) {
	workflows.Register(w)
	core.RegisterWith(w, reg)
	reg.RegisterWith(w)
}

// MissingActions returns the catalog actions that reg does not implement
// (the built-in generic wait is registered separately and not counted).
func MissingActions(reg *activities.Registry) []string {
	var missing []string
	for _, name := range catalog.Names() {
		if name == plan.ActionWait {
			continue
		}
		if _, ok := reg.Get(name); !ok {
			missing = append(missing, name)
		}
	}
	return missing
}

// kafkaRootCAs returns what kafka.verify trusts besides the system roots:
// the --kafka-ca file and, against the twin (--cloudsim-url), the twin's CA,
// read on every verification (a restarted twin may have a new one); nil when
// neither is configured.
func kafkaRootCAs(cfg Config) func(context.Context) ([]byte, error) {
	if cfg.KafkaCA == "" && cfg.CloudsimURL == "" {
		return nil
	}
	return func(ctx context.Context) ([]byte, error) {
		var pem []byte
		if cfg.KafkaCA != "" {
			b, err := os.ReadFile(cfg.KafkaCA)
			if err != nil {
				return nil, fmt.Errorf("--kafka-ca: %w", err)
			}
			pem = append(pem, b...)
		}
		if cfg.CloudsimURL != "" {
			u := strings.TrimSuffix(cfg.CloudsimURL, "/") + "/_cloudsim/ca.pem"
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			if err != nil {
				return nil, err
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return nil, fmt.Errorf("the twin's CA: %w", err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			if err != nil || resp.StatusCode != http.StatusOK {
				return nil, fmt.Errorf("the twin's CA: GET %s: %s %v", u, resp.Status, err)
			}
			pem = append(pem, '\n')
			pem = append(pem, b...)
		}
		return pem, nil
	}
}
