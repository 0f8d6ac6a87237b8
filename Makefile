# The two commands that work on a fresh machine (see README.md):
#   make demo        the whole story on local stand-ins for AWS, narrated and timed
#   make test        install pinned tools, then run every check; fails on the first that fails
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
GO      ?= go
PYTHON  ?= python3
TEMPLATES := templates/management-role.yaml templates/support-gateway.json stacksets/support-gateway-stackset.yaml

# One step at a time, even under make -j: make test's burst must not run beside unit.
.NOTPARALLEL:

.PHONY: burst help tools deps browser-deps demo-deps templates build test fmt-check vet unit fuzz lint-templates iam-suite bench fault-matrix demo up screenshots

help:
	@echo "make templates  synthesize the customer templates (go run ./cdk -export .)"
	@echo "make test       install pinned dependencies and run every check"
	@echo "make demo       the whole story on this machine, each step narrated and timed (Go and moto only)"
	@echo "make up         the backend (moto, sign-in, API, a registered account) until Ctrl-C; prints how to use it"
	@echo "make build      build the Lambdas as they deploy (bin/{hook,api}/bootstrap, bin/{hook,api}.zip)"
	@echo "                and the commands for this machine (bin/supportctl, bin/supportd, bin/localop)"
	@echo "make bench      run the benchmarks"
	@echo "make burst      the StackSet burst's tests alone (200 accounts under AWS's quotas; make test runs them too)"
	@echo "make fault-matrix  print the fault-injection matrix"
	@echo "make screenshots   run the console's browser suite and copy its screenshots into docs/console/"

# Every tool a check needs must be here; a missing one fails the run and says which.
tools:
	@missing=""; for t in $(GO) node npm $(PYTHON) git; do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then echo "make: missing required tools:$$missing (see README.md, 'Requirements')" >&2; exit 1; fi

# checkov gets a virtualenv of its own: its ~90 pinned dependencies (requirements-checkov.txt, every
# one pinned) must not move the versions moto and cfn-lint run with.
CHECKOV_VENV := .venv/checkov

deps: tools browser-deps
	$(GO) mod download
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	cd test/iam && npm ci --no-audit --no-fund --loglevel=error

# The console's browser suite (cmd/demo's TestConsoleInABrowser runs test/browser/console.mjs):
# Debian's chromium, installed with apt-get when it is missing (this needs root, or sudo), and the
# suite's pinned node modules (playwright-core, which downloads no browser of its own, and axe-core).
# CHROMIUM=<path> uses another chromium.
CHROMIUM ?= /usr/bin/chromium
browser-deps: tools
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$(CHROMIUM)" != /usr/bin/chromium ] || ! command -v apt-get >/dev/null; then \
	    echo "make: $(CHROMIUM) is missing: install chromium (Debian: apt-get install chromium), or set CHROMIUM=<its path>" >&2; exit 1; \
	  fi; \
	  sudo=; if [ "$$(id -u)" != 0 ]; then sudo=sudo; fi; \
	  echo "make: installing chromium with apt-get (the console's browser suite)"; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium >/dev/null; \
	fi
	cd test/browser && npm ci --no-audit --no-fund --loglevel=error

# What make demo and make up need, and nothing more: Go modules and the Python requirements (moto).
demo-deps:
	@missing=""; for t in $(GO) $(PYTHON); do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then echo "make: missing required tools:$$missing (see README.md, 'Requirements')" >&2; exit 1; fi
	$(GO) mod download
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements.txt

# The story end to end through the product's code (cmd/demo, AWS played by test/sim); exits non-zero
# naming the step that failed. make up serves the same backend until interrupted, the API on
# 127.0.0.1:8080 and sign-in on 127.0.0.1:9998 (DEMO_FLAGS="-api-addr … -op-addr …" moves them;
# go run ./cmd/demo -h lists the flags).
DEMO_FLAGS ?=
# Built, then exec'd rather than go run: make passes SIGTERM on to its child, and go run would die
# of it without passing it on, leaving the demo, moto and the hook running.
demo: demo-deps
	@mkdir -p .cache && $(GO) build -o .cache/demo ./cmd/demo
	exec .cache/demo $(DEMO_FLAGS)

up: demo-deps
	@mkdir -p .cache && $(GO) build -o .cache/demo ./cmd/demo
	exec .cache/demo -up $(DEMO_FLAGS)

templates: tools
	$(GO) run ./cdk -export .

# The Lambdas as they deploy: provided.al2023 on arm64, no RPC shim, stripped. The backend stack's
# assets are bin/<name>/ (bootstrap); the zip is for deploying by hand. The commands are built for
# this machine into bin/ (put it on PATH, or go install ./cmd/... into $(go env GOPATH)/bin).
LAMBDAS := hook api
COMMANDS := supportctl supportd localop
build: tools
	@mkdir -p bin && for c in $(COMMANDS); do $(GO) build -trimpath -o bin/$$c ./cmd/$$c || exit 1; done; \
	  ls -l $(addprefix bin/,$(COMMANDS))
	@for l in $(LAMBDAS); do \
	  mkdir -p bin/$$l && \
	  GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags "-s -w" -o bin/$$l/bootstrap ./lambdas/$$l && \
	  (cd bin/$$l && $(PYTHON) -m zipfile -c ../$$l.zip bootstrap) && \
	  ls -l bin/$$l/bootstrap bin/$$l.zip || exit 1; \
	done

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go') ); if [ -n "$$out" ]; then echo "gofmt would change:" $$out >&2; exit 1; fi

vet:
	$(GO) vet ./...

# Go tests include the drift check (the committed templates must equal a fresh synth) and the
# end-to-end suite (moto server + the real hook binary behind the Lambda Runtime API harness). The
# e2e tests run in parallel, each on its own moto server; the longest (the fault matrix) takes about
# five minutes on a 2-core machine. The explicit timeout leaves room for a loaded machine without
# letting a hung test run for ever (go test's default is 10 minutes per package).
GO_TEST_TIMEOUT ?= 25m
# The browser suite skips itself where chromium or its node modules are missing, unless
# SUPPORT_BROWSER_REQUIRED is set: here it is, so a missing one fails the run (make deps installs them).
unit: export SUPPORT_BROWSER_REQUIRED := 1
unit: export CHROMIUM := $(CHROMIUM)
# test/burst is left to make burst, which make test runs next, alone.
unit:
	$(GO) test -count=1 -race -timeout $(GO_TEST_TIMEOUT) $$($(GO) list ./... | grep -v '/test/burst$$')

# A short fuzz run of each decoder, of the session-name encoding and of the bearer-header parser, on top of its seed corpus
# (testdata/fuzz in each package, or f.Add).
# A count of executions, not a duration: a duration's deadline races the workers still running
# when it passes, and Go reports the race as a failure ("context deadline exceeded", no input
# written; golang/go#75804), most often on a loaded machine. A count has no deadline to race.
FUZZTIME ?= 50000x
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./internal/cfnresource
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeProperties$$' -fuzztime $(FUZZTIME) ./internal/cfnresource
	$(GO) test -run '^$$' -fuzz '^FuzzDERToRS$$' -fuzztime $(FUZZTIME) ./internal/issuer
	$(GO) test -run '^$$' -fuzz '^FuzzSessionName$$' -fuzztime $(FUZZTIME) ./internal/broker
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeObject$$' -fuzztime $(FUZZTIME) ./internal/broker
	$(GO) test -run '^$$' -fuzz '^FuzzBearerToken$$' -fuzztime $(FUZZTIME) ./internal/auth

# The customer templates as committed, and the backend stack synthesized into .cache (it has Lambda
# assets, so it is never committed): with make build's bootstraps, or a stand-in for one not built
# yet (only the asset's hash differs in the template).
BACKEND_TEMPLATE := .cache/backend.template.json
lint-templates:
	@command -v cfn-lint >/dev/null || { echo "make: cfn-lint is missing: pip install -r requirements.txt" >&2; exit 1; }
	@mkdir -p .cache
	$(GO) run ./cdk -backend-template $(BACKEND_TEMPLATE) -stand-in-missing-assets
	cfn-lint --non-zero-exit-code none --format json -- $(TEMPLATES) $(BACKEND_TEMPLATE) > .cache/cfn-lint.json
	cd test/iam && node cfnlint.mjs ../../.cache/cfn-lint.json
	@test -x $(CHECKOV_VENV)/bin/checkov || { echo "make: checkov is missing: make deps" >&2; exit 1; }
	$(CHECKOV_VENV)/bin/python test/checkov/check.py $(TEMPLATES) $(BACKEND_TEMPLATE)

iam-suite:
	cd test/iam && node --test

test: deps fmt-check vet unit burst fuzz build lint-templates iam-suite demo
	@echo "make test: all checks passed"

# The fault matrix alone, printed as a table (it also runs in make test, quietly).
fault-matrix:
	$(GO) test -count=1 -run '^TestFaultMatrix$$' -v ./test/e2e | grep '^ *|' | sed 's/^ *//'

# The console's screenshots in docs/console/ (docs/console.md shows them): the browser suite's, from
# a run of its own; they are replaced only when every check passed.
BROWSER_ARTIFACTS ?= $(CURDIR)/.cache/browser
screenshots: browser-deps
	SUPPORT_BROWSER_REQUIRED=1 CHROMIUM=$(CHROMIUM) BROWSER_ARTIFACTS=$(BROWSER_ARTIFACTS) \
	  $(GO) test -count=1 -timeout 10m -run '^TestConsoleInABrowser$$' ./cmd/demo
	mkdir -p docs/console && rm -f docs/console/*.png && cp $(BROWSER_ARTIFACTS)/*.png docs/console/
	@ls docs/console

# Every benchmark 5 times, then one table of medians with each metric's smallest and largest run
# (cmd/benchreport); bench.json holds the same table for comparing runs. The explicit timeout
# leaves room for the 1,000-account StackSet burst on a 2-core machine.
# The StackSet burst's tests (200 accounts under the vendor account's AWS quotas, and every
# notification twice), alone: beside the other packages' tests a 2-core machine ran their proofs
# and scans out of time (test/burst's SUPPORT_BURST comment). make test runs it after unit (make
# runs this file's prerequisites one at a time: .NOTPARALLEL): about 3 minutes for both tests on a
# quiet 2-core machine, bounded at 15.
burst: demo-deps
	SUPPORT_BURST=1 $(GO) test -count=1 -race -timeout 15m -v -run . ./test/burst

# The StackSet burst (test/burst) runs BURST_ACCOUNTS accounts BURST_COUNT times, with its own flags.
BENCH_TIMEOUT ?= 90m
BURST_ACCOUNTS ?= 1000
BURST_COUNT ?= 3
bench: deps
	$(GO) test -run '^$$' -bench . -benchmem -count 5 -timeout $(BENCH_TIMEOUT) $$($(GO) list ./... | grep -v '/test/burst$$') | tee bench.out
	$(GO) test -run '^$$' -bench StackSetBurst -count $(BURST_COUNT) -timeout $(BENCH_TIMEOUT) ./test/burst -args -burst $(BURST_ACCOUNTS) | tee -a bench.out
	$(GO) run ./cmd/benchreport -json bench.json bench.out
