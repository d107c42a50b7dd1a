# The two commands a newcomer needs: `make demo` runs the main job, `make test` runs every test.
# Both install missing Debian packages first (scripts/install-deps.sh is the only installer).
# `make demo` builds only otp-node and otp-ctl, then runs scripts/demo-cluster.sh: three nodes on
# loopback find each other by gossip, a client calls the global `counter` through each of them,
# the owner's node is killed and the counter answers again from another node (the time printed);
# everything it started is stopped. `make demo-seed` is the seed's single-node tour (otp-demo).
.PHONY: deps build demo demo-seed test test-package test-sanitize fuzz bench bench-compare \
	bench-partitions format format-check clean docker-programs docker-image test-compose

JOBS ?= $(shell nproc)

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)

demo: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS) --target otp-node otp-ctl
	@bash scripts/demo-cluster.sh

demo-seed: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS) --target otp-demo
	@./build/release/apps/otp-demo

test: build
	@ctest --preset release -j 2

# The installed package as a user meets it (scripts/check-package.sh): cmake --install into a
# temporary prefix, examples/ built and tested against it alone, the .deb. Reuses the release
# build (run after `make test` it builds nothing of the project).
test-package: deps
	@bash scripts/check-package.sh

test-sanitize: deps
	@cmake --preset sanitize >/dev/null
	@cmake --build --preset sanitize -j $(JOBS)
	@ctest --preset sanitize -j 2

fuzz: deps
	@bash tests/fuzz/run.sh

# The compose cluster (docker/): images built without any registry, and its black-box suite,
# which starts a Docker daemon of its own when none answers (scripts/dockerd.sh).
docker-programs: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS) --target otp-node otp-ctl

docker-image: docker-programs
	@bash scripts/docker-image.sh

test-compose: docker-programs
	@bash tests/compose/compose_test.sh

bench: build
	@bash bench/run.sh

bench-compare: build
	@bash bench/compare.sh

bench-partitions: build
	@bash bench/partitions.sh

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

format-check: deps
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run -Werror

clean:
	@rm -rf build
