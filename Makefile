# The two set-up commands (see README.md):
#   make run   — install what is missing, build (release), start sigil with embedded defaults
#   make test  — install what is missing, build, run every test (unit + integration with real services)
# Other targets: build, format-check, format, sanitizers, fuzz, bench, clean.

SHELL := /bin/bash
JOBS ?= $(shell nproc)
RELEASE_DIR := build/release
SIGIL := $(RELEASE_DIR)/src/server/sigil

# ccache keys on paths relative to the checkout, so fresh clones (CI) reuse earlier compilations.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := true

.PHONY: run test bootstrap build format-check format sanitizers asan tsan fuzz bench clean

bootstrap:
	@scripts/bootstrap

build: bootstrap
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)

run: build
	@scripts/run-local $(SIGIL)

test: build
	@scripts/test-all

format-check:
	@scripts/format-check

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

sanitizers: asan tsan

asan: bootstrap
	@scripts/sanitizer-tests asan

tsan: bootstrap
	@scripts/sanitizer-tests tsan

fuzz: bootstrap
	@scripts/fuzz-all

bench: build
	@scripts/bench-all

clean:
	rm -rf build
