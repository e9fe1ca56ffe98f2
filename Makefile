# streamrec: every target sets up its dependencies first (scripts/setup.sh is a no-op
# when everything is there).
PRESET ?= release
BUILD_DIR := build

.PHONY: setup configure build run test bench bench-serve clean

setup:
	@bash scripts/setup.sh

configure: setup
	@cmake --preset $(PRESET) >/dev/null

build: configure
	@cmake --build --preset $(PRESET)

run: build
	@bash scripts/demo.sh

test: build
	@ctest --preset $(PRESET) -j2

bench: build
	@bash bench/run.sh
	@bash bench/serve_bench.sh

bench-serve: build
	@bash bench/serve_bench.sh

clean:
	rm -rf build build-debug build-sanitize build-tsan
