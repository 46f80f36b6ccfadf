# SPDX-License-Identifier: Apache-2.0
# Developer entry points. Quick start: `make demo` (set up + run the demo), `make test` (all tests).
SHELL := /bin/bash
VENV    ?= .venv
PYTHON  := $(VENV)/bin/python
BUILD   ?= build
JOBS    ?= $(shell nproc)
CMAKE   ?= cmake
CMAKE_ARGS ?=

.PHONY: setup deps venv configure build demo test test-cpp test-python bench bench-smoke compare \
        asan tsan fuzz format format-check clean

## setup: Debian packages, .venv with the package in editable mode (+dev extra), C++ build.
setup: deps venv build

deps:
	bash scripts/install-deps.sh

# The build requirements go into .venv first so that pip builds without isolation: `make test`
# then rebuilds the extension incrementally in build/pip-* with the same toolchain.
$(VENV)/.installed: pyproject.toml
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q --upgrade pip
	$(PYTHON) -m pip install -q "scikit-build-core>=0.10" "pybind11>=2.12"
	$(PYTHON) -m pip install --no-build-isolation -e ".[dev]"
	$(PYTHON) -m ipykernel install --sys-prefix
	touch $@

venv: $(VENV)/.installed

# The Python module is built by pip (editable install), not by this tree.
$(BUILD)/CMakeCache.txt:
	$(CMAKE) -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DCALIBRISK_BUILD_PYTHON=OFF $(CMAKE_ARGS)

configure: venv $(BUILD)/CMakeCache.txt

build: configure
	$(CMAKE) --build $(BUILD) -j $(JOBS)

## demo: the main job on the embedded synthetic readmission cohort (build/bin/calibrisk demo).
demo: setup
	$(BUILD)/bin/calibrisk demo --out demo-output

## test: every C++ and Python test against the current sources.
test: setup test-cpp test-python

test-cpp:
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# Rebuild the editable install incrementally so the tests see the current C++ sources.
test-python: venv
	$(PYTHON) -m pip install -q --no-build-isolation --no-deps -e .
	$(PYTHON) -m pytest -q tests/python

## bench: Google Benchmarks (JSON in build/bench.json) and the peer comparison.
bench: build
	$(BUILD)/benchmarks/calibrisk_benchmarks --benchmark_out=$(BUILD)/bench.json --benchmark_out_format=json

bench-smoke: build
	$(BUILD)/benchmarks/calibrisk_benchmarks --benchmark_min_time=0.01 --benchmark_filter='$(or $(FILTER),-Big)'

compare: venv
	$(PYTHON) benchmarks/compare.py --quick

## asan / tsan: C++ unit tests under sanitizers (separate build trees). The TSan build replaces
## OpenMP with the std::thread backend of core/parallel.hpp (libgomp is not TSan-instrumented).
TSAN_TESTS ?=
asan:
	$(CMAKE) -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCALIBRISK_SANITIZE=address,undefined \
	  -DCALIBRISK_BUILD_PYTHON=OFF -DCALIBRISK_BUILD_BENCHMARKS=OFF -DCALIBRISK_BUILD_EXAMPLES=OFF \
	  -DCALIBRISK_BUILD_CLI=OFF -DCALIBRISK_INSTALL=OFF -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g"
	$(CMAKE) --build build-asan -j $(JOBS) --target calibrisk_unit_tests
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 build-asan/tests/calibrisk_unit_tests

tsan:
	$(CMAKE) -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DCALIBRISK_SANITIZE=thread -DCALIBRISK_USE_OPENMP=OFF \
	  -DCALIBRISK_BUILD_PYTHON=OFF -DCALIBRISK_BUILD_BENCHMARKS=OFF -DCALIBRISK_BUILD_EXAMPLES=OFF \
	  -DCALIBRISK_BUILD_CLI=OFF -DCALIBRISK_INSTALL=OFF -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g"
	$(CMAKE) --build build-tsan -j $(JOBS) --target calibrisk_unit_tests
	TSAN_OPTIONS=halt_on_error=1 build-tsan/tests/calibrisk_unit_tests $(TSAN_TESTS)

## fuzz: libFuzzer on the model-file loader for FUZZ_SECONDS and the CSV reader for 30 s (clang 14;
## fails on any finding).
FUZZ_SECONDS ?= 60
fuzz:
	$(CMAKE) -S fuzz -B build-fuzz -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DFUZZ_SECONDS=$(FUZZ_SECONDS)
	$(CMAKE) --build build-fuzz -j $(JOBS) --target fuzz

SOURCES_CMD = find include src bindings tests benchmarks examples fuzz \( -name '*.hpp' -o -name '*.cpp' -o -name '*.inc' \)
format:
	$(SOURCES_CMD) | xargs clang-format-14 -i

# Formatting, then function length (no body over 120 lines; scripts/check_function_length.py).
format-check:
	$(SOURCES_CMD) | xargs clang-format-14 --dry-run --Werror
	python3 scripts/check_function_length.py

clean:
	rm -rf $(BUILD) build-asan build-tsan build-fuzz
