# Targets as Kubewarden's policies/Makefile.rust, without kwctl: cip-host annotates and runs.
SOURCE_FILES := $(shell find src -type f -name '*.rs') Cargo.toml Cargo.lock
HOST_FILES := $(shell find host/src -type f -name '*.rs') host/Cargo.toml Cargo.lock $(shell find crates -name "*.rs" -o -name Cargo.toml)
TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
CIP_HOST := $(TARGET_DIR)/release/cip-host
WASM_OUT := $(TARGET_DIR)/wasm32-wasip1/wasm/cluster_image_policy.wasm

.PHONY: all demo test check e2e-tests e2e-kwctl e2e-kubewarden-ext bench-kubewarden fmt lint unit-tests cue-agreement rego-agreement bundle-agreement bench clean \
	check-artifacthub release

all: annotated-policy.wasm

policy.wasm: $(SOURCE_FILES)
	cargo build --locked --target wasm32-wasip1 --profile wasm -p cluster-image-policy
	cp $(WASM_OUT) policy.wasm

$(CIP_HOST): $(HOST_FILES)
	cargo build --locked --release -p cip-host
	touch $(CIP_HOST)

annotated-policy.wasm: policy.wasm metadata.yml README.md $(CIP_HOST)
	$(CIP_HOST) annotate -m metadata.yml -u README.md -o annotated-policy.wasm policy.wasm

# The README's first command: build, then evaluate the sample request against the seed's
# static policy with recorded registry answers.
demo: annotated-policy.wasm
	$(CIP_HOST) run --request-path test_data/requests/pod-netshoot.json \
		--settings-path test_data/settings/static-allow-list.yaml \
		--replay-host-capabilities-interactions test_data/sessions/pod-netshoot.yml \
		annotated-policy.wasm

fmt:
	cargo fmt --all -- --check

lint:
	cargo clippy --locked --workspace --all-targets --release -- -D warnings

unit-tests: annotated-policy.wasm
	POLICY_WASM=$(CURDIR)/annotated-policy.wasm cargo test --locked --workspace --release

e2e-tests: annotated-policy.wasm
	PATH="$(TARGET_DIR)/release:$$PATH" bats e2e.bats

# The same end-to-end suite under Kubewarden's own host, when this checkout sits beside it.
KWCTL_PATH := $(abspath ../shared/kubewarden/kwctl)
e2e-kwctl: annotated-policy.wasm
	@if [ -x "$(KWCTL_PATH)" ]; then \
		env -u RUST_BACKTRACE KWCTL="$(KWCTL_PATH)" PATH="$(TARGET_DIR)/release:$$PATH" bats e2e.bats; \
	else \
		echo "e2e under kwctl skipped: $(KWCTL_PATH) is absent (only the team's machines have ../shared)"; \
	fi

# And under kwctl built with kubewarden/*.patch (make kubewarden-kwctl): attestations included,
# so there they must run, never skip.
KWEXT_PATH := $(CURDIR)/target/kubewarden/kwctl
e2e-kubewarden-ext: annotated-policy.wasm
	kubewarden/build.sh
	@if [ -x "$(KWEXT_PATH)" ]; then \
		env -u RUST_BACKTRACE KWCTL="$(KWEXT_PATH)" REQUIRE_ATTESTATIONS=1 PATH="$(TARGET_DIR)/release:$$PATH" bats e2e.bats; \
	else \
		echo "e2e under the extended kwctl skipped: it was not built"; \
	fi

cue-agreement:
	cd tests/cue-real && npm ci --no-audit --no-fund && node agree.mjs

# Rego: every test_data/rego case through real OPA (PyPI's OPA bindings, fetched on the first run
# into tests/opa-real/.opa; skipped with one line when PyPI cannot be reached) and through ours.
rego-agreement: policy.wasm $(CIP_HOST)
	python3 tests/opa-real/agree.py --cip-host $(CIP_HOST) --wasm policy.wasm

# cip-host's cosign v3 bundle fixtures verified by sigstore-js; negative variants rejected.
bundle-agreement: $(CIP_HOST)
	cd tests/sigstore-js && npm ci --no-audit --no-fund && CIP_HOST=$(abspath $(CIP_HOST)) node agree.mjs

test: fmt lint unit-tests

# Everything CI runs.
check: check-artifacthub test cue-agreement rego-agreement bundle-agreement e2e-tests e2e-kwctl e2e-kubewarden-ext

# Artifact Hub's package file, generated (never edited by hand); createdAt is kept while the
# version is unchanged, so an up-to-date file regenerates to itself.
ARTIFACTHUB_INPUTS := metadata.yml questions-ui.yml README.md
artifacthub-pkg.yml: $(ARTIFACTHUB_INPUTS) $(CIP_HOST)
	$(CIP_HOST) scaffold artifacthub -m metadata.yml -q questions-ui.yml -u README.md -o $@

# CI: the committed artifacthub-pkg.yml is what its inputs generate.
check-artifacthub: $(CIP_HOST)
	$(CIP_HOST) scaffold artifacthub -m metadata.yml -q questions-ui.yml -u README.md \
		-o artifacthub-pkg.yml --check

# make release VERSION=x.y.z: the version written into metadata.yml, annotated-policy.wasm
# and artifacthub-pkg.yml rebuilt with it, and the command that publishes it.
SEMVER := ^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$$
OCI_URL = $(shell sed -n 's/^ *io\.kubewarden\.policy\.ociUrl: *//p' metadata.yml)
release:
	@printf '%s' "$(VERSION)" | grep -Eq '$(SEMVER)' || \
		{ echo "usage: make release VERSION=x.y.z (a semantic version, without a leading v)"; exit 1; }
	sed -i 's/^\(  io\.kubewarden\.policy\.version:\).*/\1 $(VERSION)/' metadata.yml
	$(MAKE) annotated-policy.wasm artifacthub-pkg.yml
	@echo
	@echo "annotated-policy.wasm and artifacthub-pkg.yml are at version $(VERSION)."
	@echo "Commit metadata.yml and artifacthub-pkg.yml, tag v$(VERSION), then publish with:"
	@echo "  kwctl push annotated-policy.wasm $(OCI_URL):v$(VERSION)"

bench: annotated-policy.wasm
	$(CIP_HOST) bench --request-path test_data/bench/pod-3-containers.json \
		--settings-path test_data/bench/5-static-cips.yaml \
		--replay-host-capabilities-interactions test_data/bench/pod-3-containers.session.yml \
		annotated-policy.wasm
	$(CIP_HOST) bench --iterations 500 --request-path test_data/bench/deployment-20-containers.json \
		--settings-path test_data/bench/50-cips.yaml \
		--replay-host-capabilities-interactions test_data/bench/deployment-20-containers.session.yml \
		annotated-policy.wasm

# Kubewarden's own kwctl with oci/v2/verify_attestations (kubewarden/*.patch applied to the host
# sources in ../shared): target/kubewarden/kwctl. Skipped when the tarball is absent.
.PHONY: kubewarden-kwctl
kubewarden-kwctl:
	kubewarden/build.sh

# Side by side with Kubewarden's verify-image-signatures under the real kwctl (needs ../shared).
bench-kubewarden: annotated-policy.wasm
	PATH="$(TARGET_DIR)/release:$$PATH" test_data/bench/kubewarden.sh

clean:
	cargo clean
	rm -f policy.wasm annotated-policy.wasm
