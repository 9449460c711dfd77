# Topoflow — build, test and run targets. See README.md.
#
#   make run    the demo: local Temporal + Web UI + cloudsim + worker, applies
#               specs/huawei-vpcep-cross-account.yaml, approves it, shows the result
#   make test   every test (unit, fuzz seed corpora, end-to-end on a real Temporal server)
#   make dev    the local stack in the foreground (Ctrl-C stops it)
#   make bench  the benchmarks

SHELL := /bin/bash
GO ?= go

# The pinned Temporal CLI (dev server with the embedded Web UI), built from the
# Go module proxy into .tools/bin (git-ignored, kept between runs).
TEMPORAL_CLI_VERSION ?= 1.5.1
TOOLS_BIN ?= $(CURDIR)/.tools/bin
export TEMPORAL_CLI_VERSION TOOLS_BIN
# The test harness (internal/stack) and the scripts find the binary here.
export TOPOFLOW_TEMPORAL_BIN ?= $(TOOLS_BIN)/temporal

TEST_TIMEOUT ?= 30m
TEST_FLAGS ?=
# TEST_PARALLEL: how many tests of a package run at once (t.Parallel). The
# end-to-end tests mostly wait (on the twin's state machines, poll intervals,
# timeouts of dropped connections), not compute. 4 at once took e2e from
# 1,682 s to about 720 s on 2 cores, but each rehearsal then had one or two
# timeouts of load (queries and Updates of 10 s); 2 is the default until those
# waits are made load-proof.
TEST_PARALLEL ?= 2
BENCH ?= .
BENCH_FLAGS ?= -benchmem -benchtime=1s

.PHONY: all build tools deps test fuzz vet lint lint-tools docs fmt-check bench dev run clean help

all: build

help:
	@sed -n '1,8p' Makefile

## build: compile the CLI, the worker, cloudsim and the dev helper into bin/
build:
	@mkdir -p bin
	$(GO) build -o bin/topoflow ./starter
	$(GO) build -o bin/topoflow-worker ./worker
	$(GO) build -o bin/cloudsim ./cmd/cloudsim
	$(GO) build -o bin/topoflow-devenv ./scripts/devenv

## tools: build the pinned Temporal CLI into .tools/bin (no-op when present)
tools:
	@bash scripts/tools.sh

## deps: install the Debian packages in deps/apt.txt that are missing
deps:
	@bash deps/install.sh

## vet: go vet every package
vet:
	$(GO) vet ./...

## docs: regenerate what the catalog and package spec generate: docs/actions.md
## and schema/topoflow.schema.json (tests fail when either is stale)
docs:
	$(GO) test -count=1 ./catalog -run '^TestActionsDocInSync$$' -update
	$(GO) test -count=1 ./schema -run '^TestCommittedSchemaInSync$$' -update

## lint-tools: install the pinned staticcheck and workflowcheck into .tools/bin
lint-tools:
	@bash scripts/lint-tools.sh

## lint: staticcheck over every package (with the build tags of the long suites, so
## their helpers count as used), workflowcheck over the workflows
LINT_TAGS ?= faults,devwalk
lint: lint-tools
	$(TOOLS_BIN)/staticcheck -tags $(LINT_TAGS) ./...
	$(TOOLS_BIN)/workflowcheck -config workflowcheck.config.yaml ./workflows/...

## fmt-check: fail when a file is not gofmt-formatted
fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [[ -n $$out ]]; then echo "not gofmt-formatted:"; echo "$$out"; exit 1; fi

## test: every test. `go test` runs each Fuzz target's seed corpus (f.Add and
## testdata/fuzz) as a normal test; end-to-end tests start the real Temporal dev
## server from .tools/bin, hence the dependency on tools and deps.
test: tools deps vet lint
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) -parallel $(TEST_PARALLEL) $(TEST_FLAGS) ./...
	$(MAKE) fuzz

## fuzz: a short coverage-guided run of each spec fuzz target (FUZZ_TIME each;
## `make fuzz FUZZ_TIME=10m` for a long one). New crashers land in testdata/fuzz.
FUZZ_TIME ?= 15s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzValidate$$' -fuzztime $(FUZZ_TIME) ./spec
	$(GO) test -run '^$$' -fuzz '^FuzzCompile$$' -fuzztime $(FUZZ_TIME) ./compiler

## bench: run the benchmarks (no tests)
bench: tools
	$(GO) test -run '^$$' -bench '$(BENCH)' $(BENCH_FLAGS) ./...

## dev: Temporal + Web UI + cloudsim + worker in the foreground; Ctrl-C stops all
dev: tools build
	@bash scripts/dev.sh

## dev-walk-saas: the four SaaSPeering examples (runbook 003) walked on a live make dev,
## the one running or else one started for the walk (run directory .run/dev-walk):
## applied with bin/topoflow, the approval and the EMQX console (cloudsim's stand-in)
## answered, Done and verified, revoked; the inventory is the seed world again.
## About a minute or two; not in `make test` (e2e/devwalk_saas_test.go, tag devwalk).
.PHONY: dev-walk-saas
dev-walk-saas: tools build
	$(GO) test -tags devwalk -count=1 -timeout 15m -run 'TestDevWalkSaaS$$' -v ./e2e

## run: the demo (see README.md); Ctrl-C stops everything it started
run: tools deps build
	@bash scripts/run.sh

clean:
	rm -rf bin .run

## faults: issue 15's fault matrix (30% 5xx, 50% throttling with Retry-After 2s on
## every operation) and recovery measurement (worker SIGKILLed every 30s) on the
## real Temporal server and the twin; FAULTS_N requests per scenario (default 10),
## FAULTS_RUN selects tests (e.g. FaultMatrix or Recovery). Minutes; not in `make test`.
FAULTS_N ?= 10
FAULTS_RUN ?= TestFaultMatrix|TestRecoveryUnderWorkerKills
.PHONY: faults
faults: tools
	set -o pipefail; FAULTS_N=$(FAULTS_N) $(GO) test -tags faults -count=1 -timeout 120m -run '$(FAULTS_RUN)' -v ./e2e \
		| grep -E --line-buffered 'FAULTS|RECOVERY|request [0-9]+:|^\s*--- |^(ok|FAIL|panic)|_test.go:[0-9]+'

## prod-tools: build the pinned Temporal server, temporal-sql-tool and the Web UI
## server into .tools/bin (no-op when present; minutes the first time)
TEMPORAL_SERVER_VERSION ?= 1.32.1
TEMPORAL_UI_SERVER_VERSION ?= 2.55.0
export TEMPORAL_SERVER_VERSION TEMPORAL_UI_SERVER_VERSION
.PHONY: prod-tools prod-local chaos
prod-tools:
	@bash scripts/prod-tools.sh

## prod-local: the production shape in the foreground (PostgreSQL, Temporal as four
## services, Web UI, cloudsim, 2 workers, probes; every process restarted when it
## dies); Ctrl-C stops all. See README.md.
prod-local: tools prod-tools build
	@bash deps/install.sh deps/prod-apt.txt
	@bash scripts/prod-local.sh

## chaos: the chaos suite on the production stack and the twin (SIGKILLs of workers,
## Temporal services, PostgreSQL and the twin; the twin's faults; 2 requests in 3 run
## to Done and are revoked, the third rolled back), then the inventory check and the
## secrets grep. CHAOS_WAVES copies of every example (default 3),
## CHAOS_WORKER_KILLS (default 24). Minutes; not in `make test`.
CHAOS_WAVES ?= 3
CHAOS_WORKER_KILLS ?= 24
chaos: tools prod-tools build
	@bash deps/install.sh deps/prod-apt.txt
	set -o pipefail; CHAOS_WAVES=$(CHAOS_WAVES) CHAOS_WORKER_KILLS=$(CHAOS_WORKER_KILLS) TOOLS_BIN=$(TOOLS_BIN) \
		$(GO) test -tags chaos -count=1 -timeout 90m -run 'TestChaos$$' -v ./e2e \
		| grep -E --line-buffered 'CHAOS|^\s*--- |^(ok|FAIL|panic)|_test.go:[0-9]+'

## scale: issue 14's scale run: runbook 000 across accounts (specs/huawei-vpcep-cross-account.yaml,
## verification off) against a generated Huawei DMS instance of SCALE_BROKERS brokers (default
## 1000) on the real Temporal dev server and the twin, to Done and revoked back to the seed world;
## reports history events/bytes/runs, wall time, CPU and peak RSS. SCALE_PROFILE=dir writes a CPU
## profile. Minutes; not in `make test`.
SCALE_BROKERS ?= 1000
.PHONY: scale
scale: tools
	set -o pipefail; SCALE_BROKERS=$(SCALE_BROKERS) $(GO) test -tags scale -count=1 -timeout 75m -run 'TestScaleHuaweiCrossAccount$$' -v ./e2e \
		| grep -E --line-buffered 'SCALE|^\s*--- |^(ok|FAIL|panic)|_test.go:[0-9]+'

## scale-rollback: the request of `make scale` fails at its last step (the twin refuses the
## security-group rule) and rolls itself back, continuing as new during the rollback; the twin
## must be the seed world after. Reports events/bytes/runs, wall time, CPU and peak RSS.
.PHONY: scale-rollback
scale-rollback: tools
	set -o pipefail; SCALE_BROKERS=$(SCALE_BROKERS) $(GO) test -tags scale -count=1 -timeout 75m -run 'TestScaleHuaweiCrossAccountRollsBack$$' -v ./e2e \
		| grep -E --line-buffered 'SCALE|^\s*--- |^(ok|FAIL|panic)|_test.go:[0-9]+'
