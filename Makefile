# The two commands of the README:
#   make demo   sets everything up and runs the main job
#   make test   sets everything up and runs the whole test suite
.PHONY: setup build lint test demo clean

setup:
	scripts/setup.sh

build: setup
	cargo build --workspace --bins

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

# The end-to-end tests start podpis-vcard and podpis: the binaries are built first.
test: build lint
	cargo nextest run --workspace --no-fail-fast

demo: build
	scripts/demo.sh

clean:
	cargo clean
	rm -rf run
