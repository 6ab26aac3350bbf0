# CityGate: `make run` starts the gateway, `make test` runs every test. Both install the Debian
# packages they need first (as root, only when missing).
SHELL := /bin/bash
SWIFT ?= swift
FUZZ_SECONDS ?= 600
LISTEN ?= 127.0.0.1:8080
OPS ?= 127.0.0.1:9090
# TLS=1: `make run` serves the public listener over TLS with a throwaway CA (scripts/tls-demo.sh).
TLS ?= 0

venv: deps
	@scripts/venv.sh

.PHONY: venv deps build build-release run run-cluster test test-sanitizers sanitize-all lint format fuzz bench clean

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

build-release: deps
	$(SWIFT) build -c release --product citygate

run: deps
	@LISTEN=$(LISTEN) OPS=$(OPS) TLS=$(TLS) scripts/run.sh

# Three instances sharing Redis and PostgreSQL behind nginx on 127.0.0.1:8080 (docs/scaling.md).
run-cluster: deps
	@scripts/install-deps.sh redis-server postgresql postgresql-client nginx
	@scripts/cluster.sh

lint:
	$(SWIFT) format lint --strict --recursive Sources Tests bench/ClientBench mocks Package.swift

format:
	$(SWIFT) format format --in-place --recursive Sources Tests bench/ClientBench mocks Package.swift

test: deps lint
	@scripts/venv.sh
	# Headless Chromium (and a CJK font) render the ops status page in the tests; redis-server
	# and PostgreSQL are started by the shared-state tests (psql checks from outside).
	@scripts/install-deps.sh chromium fonts-wqy-zenhei redis-server postgresql postgresql-client
	# The release build that `make run` and `make bench` use must compile too: Swift's optimizer
	# has crashed on code the debug build accepted.
	$(SWIFT) build -c release
	$(SWIFT) build --build-tests
	# Serial: many tests assert deadlines and timeouts, and in parallel other tests' blocking
	# socket reads can starve the 2-core cooperative pool (about 25 s in all this way).
	# A hung test must not eat CI's 90 minutes: TERM after 20 minutes, KILL 10 s later.
	timeout -k 10 1200 $(SWIFT) test --skip-build --no-parallel
	@$(MAKE) --no-print-directory test-sanitizers

# AddressSanitizer over the code that hands memory to C libraries at load time: the
# Cryptography tests, the TLS listener (OpenSSL sessions on the loops, in process), and the
# manifest, partner, token and TLS configuration loading tests (a PEM buffer freed
# under OpenSSL failed about one start-up in forty). Optimized, because the optimizer's shorter
# lifetimes are what free such a buffer early: a debug build keeps it alive to the end of the
# scope and ASan sees nothing. About three minutes on 2 cores.
ASAN_TESTS := CryptographyTests\.|HTTPServerTests\.(TLSListenerTests|TLSSlowClientTests)|CityGateTests\.(ManifestSetTests|PartnerConfigurationTests|TokenConfigurationTests|PartnerSchemeTests|PartnerSchemeRegistryTests|HotReloadTests|AuditChainTests|SM2TokenTests|EdgeTLSTests|SharedStateTests|SharedInboxTests|SharedAuditLogTests)
ASAN_BUILD := -c release --scratch-path .build-asan -Xswiftc -sanitize=address -Xswiftc -enable-testing
test-sanitizers: deps
	$(SWIFT) build --build-tests $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 timeout -k 10 300 \
		$(SWIFT) test --skip-build $(ASAN_BUILD) --no-parallel --filter '$(ASAN_TESTS)'

# The whole suite under ASan, then under TSan (by hand, when C calls or threading change; see
# docs/architecture.md, "Sanitizers", for why TSan's reports about Mutex are not races).
sanitize-all: deps
	$(SWIFT) build --build-tests $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=0 $(SWIFT) test --skip-build $(ASAN_BUILD) --no-parallel
	$(SWIFT) build --build-tests -Xswiftc -sanitize=thread --scratch-path .build-tsan
	-TSAN_OPTIONS=halt_on_error=0 $(SWIFT) test --skip-build --scratch-path .build-tsan --no-parallel 2>&1 | tee .build-tsan/report.txt

fuzz: deps
	@scripts/fuzz.sh $(FUZZ_SECONDS)

bench: deps
	@scripts/install-deps.sh nginx wrk gcc redis-server postgresql postgresql-client linux-perf
	@bench/run.sh

clean:
	rm -rf .build Tests/Fuzz/work
