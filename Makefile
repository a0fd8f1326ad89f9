# kube-posture developer targets. `make test` is what CI runs (.ci/run).
CARGO ?= cargo
# nextest when installed (parallel, one process per test); plain cargo test otherwise.
TEST_RUNNER := $(shell $(CARGO) nextest --version >/dev/null 2>&1 && echo "nextest run" || echo test)
CONTROL_PLANE := e2e/scripts/control-plane.sh
# No retries: see .config/nextest.toml (a test retried there says why, and nextest prints it).

.PHONY: demo build install test unit e2e lint deny fmt crds docs bench bench-rbac fuzz clean help

help:
	@echo "make demo       local control plane + sample cluster + operator: see Findings (DEMO_KEEP=1 keeps it)"
	@echo "make build      release build of the kube-posture binary (target/release/kube-posture)"
	@echo "make install    build, copy to PREFIX/bin (default /usr/local) with the kubectl-posture symlink (kubectl posture)"
	@echo "make test       unit tests, then e2e tests against a local control plane"
	@echo "make unit       unit and CLI tests only (no cluster needed)"
	@echo "make e2e        e2e tests (starts etcd + kube-apiserver, or uses E2E_KUBECONFIG)"
	@echo "make lint       cargo fmt --check and clippy -D warnings"
	@echo "make deny       cargo-deny: licences, duplicate versions, sources (advisories with a local DB)"
	@echo "make crds       regenerate crds/ from the Rust types"
	@echo "make docs       regenerate docs/checks.md and docs/frameworks/ from the catalog"
	@echo "make bench      the figures of BENCHMARKS.md at S (BENCH_M=1 adds M); ~15 min"
	@echo "make bench-rbac RBAC audit at 50k RoleBindings (figures in BENCHMARKS.md)"
	@echo "make fuzz       libFuzzer on the snapshot loader and the flag parser, FUZZ_SECONDS each"

demo:
	e2e/scripts/demo.sh

build:
	$(CARGO) build --release -p kube-posture

# The binary answers as the kubectl plugin when invoked as kubectl-posture: kubectl finds it on
# PATH for `kubectl posture ...`.
PREFIX ?= /usr/local
install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 target/release/kube-posture $(DESTDIR)$(PREFIX)/bin/kube-posture
	ln -sf kube-posture $(DESTDIR)$(PREFIX)/bin/kubectl-posture

test: unit e2e

unit:
	$(CARGO) $(TEST_RUNNER) --workspace --exclude kube-posture-e2e

e2e:
	$(CARGO) build -p kube-posture -p kube-posture-e2e --tests
	$(CONTROL_PLANE) run -- $(CARGO) $(TEST_RUNNER) -p kube-posture-e2e

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

deny:
	.ci/deny

fmt:
	$(CARGO) fmt --all

docs:
	$(CARGO) run -q -p kube-posture -- checks -o markdown > docs/checks.md
	mkdir -p docs/frameworks
	for f in $$($(CARGO) run -q -p kube-posture -- frameworks | tail -n +2 | cut -d' ' -f1); do \
		$(CARGO) run -q -p kube-posture -- frameworks -o markdown $$f > docs/frameworks/$$f.md || exit 1; \
	done

crds:
	$(CARGO) run -q -p kube-posture -- crds > crds/crds.yaml

bench:
	bench/run.sh

bench-rbac:
	$(CARGO) run --release -q -p kube-posture-bench -- rbac

# Not part of `make test`. cargo-fuzz needs nightly flags (-Zsanitizer); RUSTC_BOOTSTRAP=1 lets
# the stable toolchain take them. New corpus entries go to operator/fuzz/corpus (ignored by git),
# crashes to operator/fuzz/artifacts; operator/fuzz/seeds is the committed seed corpus.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := snapshot_loader flag_parser

fuzz:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz
	cd operator/fuzz && for t in $(FUZZ_TARGETS); do \
		mkdir -p corpus/$$t && \
		RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run -O $$t corpus/$$t seeds/$$t -- \
			-max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=4096 || exit 1; \
	done

clean:
	$(CARGO) clean
