# A thin wrapper around CMake for the README's commands.
#   make             build into build/ (build/bin/lpz, build/plugins/*.so)
#   make deps        install missing Debian packages
#   make test        deps + build + every test (ctest)
#   make quickstart  deps + build + the 2x2 Fashion-MNIST quick start
#   make sanitize    build into build-asan/ with ASan+UBSan and run the tests
#   make install PREFIX=/usr/local
#   make bench       run the benchmarks in bench/ (figures only, never fails the build)
BUILD   ?= build
PREFIX  ?= /usr/local
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=

.PHONY: all build configure deps test quickstart sanitize install bench clean

all: build

configure:
	@cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_ARGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

deps:
	@tools/install-deps.sh

test: deps
	@$(MAKE) --no-print-directory build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

sanitize: deps
	@$(MAKE) --no-print-directory build BUILD=build-asan CMAKE_ARGS="-DLPZ_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo"
	@cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j $(JOBS)

quickstart: deps
	@$(MAKE) --no-print-directory build
	@$(BUILD)/bin/lpz train -f configuration/quickstart/fashion-mnist-2x2.yml

install: build
	@cmake --install $(BUILD) --prefix $(PREFIX)

bench: build
	@bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD) build-asan
