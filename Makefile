# Patchwork: `make run` serves the demo town; `make test` runs every test.
# Both find or start PostgreSQL (see scripts/postgres.sh) and can be run again at any time.

SHELL := /bin/bash
CARGO ?= cargo
PROFILE ?= dev
BIN_DIR := $(if $(filter release,$(PROFILE)),target/release,target/debug)
DEV_DB ?= patchwork_dev
RUN_DIR := var

.PHONY: run reset test audit fuzz bench scale-test build schema fmt lint ci toolchain screenshots

toolchain:
	@command -v $(CARGO) >/dev/null || { echo "cargo not found: install Rust from https://rustup.rs"; exit 1; }
	@command -v pg_config >/dev/null || [ -e /usr/include/postgresql/libpq-fe.h ] || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpq-dev; \
	  else echo "libpq (libpq-dev) is needed to build"; exit 1; fi; }

build: toolchain
	$(CARGO) build --profile $(PROFILE) --bin patchwork

## The demo town on http://127.0.0.1:8080/graphql (GraphiQL in the browser).
run: build
	@set -euo pipefail; \
	admin=$$(scripts/postgres.sh); \
	if [ -n "$${DATABASE_URL:-}" ]; then url="$$DATABASE_URL"; else \
	  url=$$(echo "$$admin" | sed -E 's#/[^/?]*(\?.*)?$$#/$(DEV_DB)\1#'); \
	  psql "$$admin" -Atqc "SELECT 1 FROM pg_database WHERE datname = '$(DEV_DB)'" | grep -q 1 \
	    || psql "$$admin" -qc 'CREATE DATABASE $(DEV_DB)'; \
	fi; \
	mkdir -p $(RUN_DIR); \
	[ -s $(RUN_DIR)/dev-jwt-secret ] || head -c 48 /dev/urandom | base64 | tr -d '\n' > $(RUN_DIR)/dev-jwt-secret; \
	export DATABASE_URL="$$url"; \
	export JWT_SECRET="$${JWT_SECRET:-$$(cat $(RUN_DIR)/dev-jwt-secret)}"; \
	export PATCHWORK_ENV="$${PATCHWORK_ENV:-development}"; \
	$(BIN_DIR)/patchwork seed --fixtures fixtures; \
	echo "Patchwork: http://$${BIND_ADDR:-127.0.0.1:8080}/graphql (demo logins in README.md)"; \
	exec $(BIN_DIR)/patchwork serve

## Back to the demo town as shipped: drops the development database, creates it again and seeds
## it (the next `make run` serves it). Refuses when DATABASE_URL is set: that database is yours.
reset: build
	@set -euo pipefail; \
	if [ -n "$${DATABASE_URL:-}" ]; then \
	  echo "make reset drops the development database; DATABASE_URL is set, so reset that one yourself"; exit 1; \
	fi; \
	admin=$$(scripts/postgres.sh); \
	url=$$(echo "$$admin" | sed -E 's#/[^/?]*(\?.*)?$$#/$(DEV_DB)\1#'); \
	psql "$$admin" -qc 'DROP DATABASE IF EXISTS $(DEV_DB) WITH (FORCE)'; \
	psql "$$admin" -qc 'CREATE DATABASE $(DEV_DB)'; \
	DATABASE_URL="$$url" $(BIN_DIR)/patchwork seed --fixtures fixtures; \
	echo "Patchwork: the demo town is as shipped again; make run serves it"

## Every test: unit tests, and the API tests against a real server and database, some through
## headless Chromium (scripts/browser.sh installs Debian's chromium and chromium-driver, and axe-core).
test: toolchain
	@set -euo pipefail; \
	admin=$$(scripts/postgres.sh); \
	scripts/browser.sh >/dev/null; \
	$(CARGO) build --bin patchwork; \
	TEST_DATABASE_URL="$$admin" $(CARGO) test --workspace --no-fail-fast

## Screenshots of the web client's screens, as the browser tests take them, into
## docs/screenshots/ (the README links them).
screenshots: toolchain
	@set -euo pipefail; \
	admin=$$(scripts/postgres.sh); \
	scripts/browser.sh >/dev/null; \
	PATCHWORK_SCREENSHOTS="$(CURDIR)/docs/screenshots" TEST_DATABASE_URL="$$admin" \
	  $(CARGO) test -p patchwork-tests --test api browser::

## The external attack suite: schemathesis (from PyPI, into target/audit-venv) against the
## GraphQL API with a valid token (any INTERNAL or uncoded error fails) and against the vendor
## API's OpenAPI document; Relay's compiler over the schema with tests/relay's documents; then
## the README's checked examples, run as written.
audit: toolchain
	$(CARGO) build --bin patchwork
	scripts/audit.sh
	scripts/relay_check.sh
	python3 scripts/readme_examples.py

## The fuzz target (fuzz/): arbitrary bytes through the request path up to execution, for
## FUZZ_SECONDS (60). cargo-fuzz needs a nightly toolchain (FUZZ_TOOLCHAIN): without one this
## says so and succeeds. New inputs go to fuzz/target/corpus; crashes to fuzz/artifacts.
# No sanitizer: the code under test is safe Rust, so AddressSanitizer would find nothing but
# slow it down and grow its stack frames past a release build's (the stack is under test).
# Overflow checks and debug assertions stay on.
FUZZ_SECONDS ?= 60
FUZZ_TOOLCHAIN ?= nightly
FUZZ_TARGET ?= graphql_request
fuzz: toolchain
	@set -euo pipefail; \
	if ! command -v rustup >/dev/null || ! rustup run $(FUZZ_TOOLCHAIN) rustc --version >/dev/null 2>&1; then \
	  echo "make fuzz: skipped, fuzzing needs the $(FUZZ_TOOLCHAIN) toolchain (rustup toolchain install $(FUZZ_TOOLCHAIN))"; exit 0; \
	fi; \
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked; \
	mkdir -p fuzz/target/corpus/$(FUZZ_TARGET); \
	$(CARGO) +$(FUZZ_TOOLCHAIN) fuzz run --sanitizer none --debug-assertions $(FUZZ_TARGET) \
	  fuzz/target/corpus/$(FUZZ_TARGET) fuzz/corpus/$(FUZZ_TARGET) -- \
	  -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 \
	  -dict=fuzz/$(FUZZ_TARGET).dict -print_final_stats=1

## Benchmarks over a generated county (SCALE=1 by default; 0.1 and 5 too), with PostGraphile 5
## (Node 22 and postgraphile from the npm registry, under target/) as the peer: see README.
# bench needs wrk, and pgbench for the raw-SQL ceiling. /usr/bin/pgbench may be Debian's version
# wrapper with no pgbench behind it; Debian 12 ships pgbench in the server package
# (postgresql-15), not in postgresql-client-15: try the client package first, the server's after.
# The peer runs under Node.js 22, which scripts/node.sh installs into target/node22 from the npm
# registry when it is missing (a fresh machine needs no node or npm); only when `team` runs.
bench: toolchain
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq wrk >/dev/null; } || { echo "wrk is needed (apt-get install wrk)"; exit 1; }
	@has_pgbench() { ls /usr/lib/postgresql/*/bin/pgbench >/dev/null 2>&1 || pgbench --version >/dev/null 2>&1; }; \
	  has_pgbench || { [ "$$(id -u)" = 0 ] && { apt-get install -y -qq postgresql-client >/dev/null; has_pgbench || apt-get install -y -qq postgresql >/dev/null; } && has_pgbench; } || \
	  { echo "pgbench is needed (Debian: apt-get install postgresql-client, or postgresql where the client package lacks it)"; exit 1; }
	@if [ "$${BENCH_PEER:-on}" != off ] && { [ -z "$${BENCH_ONLY:-}" ] || \
	    echo ",$${BENCH_ONLY}," | grep -Eq ',(postgraphile_)?team,'; }; then scripts/node.sh >/dev/null; fi
	$(CARGO) build --release --bin patchwork
	python3 bench/run.py

## Scale-out proof: nginx in front of three servers and two workers over one database (see
## scripts/scale_test.py); installs Debian's nginx-light when missing and run as root.
scale-test: toolchain
	$(CARGO) build --release --bin patchwork
	python3 scripts/scale_test.py

## Regenerates api/db/src/schema.rs from the migrations (needs diesel_cli).
schema:
	@set -euo pipefail; \
	admin=$$(scripts/postgres.sh); \
	url=$$(echo "$$admin" | sed -E 's#/[^/?]*(\?.*)?$$#/patchwork_schema#'); \
	DATABASE_URL="$$url" diesel database reset >/dev/null; \
	DATABASE_URL="$$url" diesel print-schema > api/db/src/schema.rs; \
	$(CARGO) run -q --example print_schema > schema.graphql

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

ci: lint test audit fuzz
