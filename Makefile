# The two commands of the README:
#   make demo   sets everything up and runs the main job
#   make test   sets everything up and runs the whole test suite
.PHONY: setup ui build lint test demo bench faults faults-short package fuzz fuzz-short clean

setup:
	scripts/setup.sh

# The web UI is built first: the desktop app embeds ui/dist when it is compiled.
ui: setup
	cd ui && npm ci --no-audit --no-fund --loglevel=error && npm run build

build: ui
	cargo build --workspace --bins

# Formatting, clippy, and the dependencies' licences against deny.toml's allow-list.
lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo deny --log-level error check licenses

# The end-to-end tests start podpis-vcard and podpis: the binaries are built first.
test: build lint
	cd ui && npm test
	# The sandbox portal page's library against ifc-protocol.md (Node's own runner, no packages).
	node --test portal/assets/
	cargo nextest run --workspace --no-fail-fast
	scripts/schemathesis.sh
	$(MAKE) faults-short
	$(MAKE) fuzz-short

# Fuzzing with cargo-fuzz (libFuzzer). The machine has a stable toolchain only; RUSTC_BOOTSTRAP
# lets it take the sanitizer flags cargo-fuzz passes. FUZZ_SECONDS per target. An input that
# crashes a target is copied to fuzz/regressions/<target>, which `make test` replays.
FUZZ_TARGETS := certificate tlv card_answers signed_request host_messages
FUZZ_SECONDS ?= 300
fuzz: setup
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p fuzz/corpus/$$t fuzz/regressions/$$t; \
		RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz $$t fuzz/corpus/$$t fuzz/seeds/$$t -- \
			-max_total_time=$(FUZZ_SECONDS) -max_len=8192 || { \
			cp fuzz/artifacts/$$t/* fuzz/regressions/$$t/ 2>/dev/null; \
			echo "fuzz: $$t failed; the input is kept in fuzz/regressions/$$t"; exit 1; }; \
	done

# The short run inside `make test`.
fuzz-short:
	$(MAKE) fuzz FUZZ_SECONDS=20

# The fault harness (FAULTS.md): the card pulled at every APDU of a confirmation, garbage and
# slow cards, the portal down / 500 / garbage / slow / killed at each step, with the signed
# requests counted; then each fuzz target for a bounded time. A few minutes in all.
faults: build
	target/debug/podpis-faults
	$(MAKE) fuzz FUZZ_SECONDS=60

# A sample of the fault scenarios, inside `make test` (about half a minute).
faults-short:
	target/debug/podpis-faults --short

demo: build
	scripts/demo.sh

# The .deb of the desktop app (release build, tauri-cli from crates.io), in
# target/release/bundle/deb/.
# The .deb: the desktop app, and for the browsers podpis-host, the CLI, the system-wide host
# manifests and the extension (unpacked, and the Firefox .xpi), staged in target/package by
# scripts/package-browser.sh and mapped in by src-tauri/tauri.conf.json (bundle.linux.deb.files).
package: ui
	command -v cargo-tauri >/dev/null || cargo install --locked tauri-cli@^2
	cargo build --release -p host -p cli
	scripts/package-browser.sh target/package
	cd src-tauri && cargo tauri build --bundles deb

# The measurements of BENCHMARKS.md, printed as Markdown, from release builds (what a user runs).
# OPENSSL_CONF loads the GOST engine for the in-process verification figure (never for cargo).
bench: ui
	cargo build --release --workspace --bins
	OPENSSL_CONF=$(CURDIR)/config/openssl-gost.cnf target/release/podpis-bench

clean:
	cargo clean
	rm -rf run ui/dist ui/node_modules
