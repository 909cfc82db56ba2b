# Every target works offline except `up`/`preview` (they need a GCP project).
.PHONY: test check tools sandbox e2e perf bench bench-archive

# The unit and whole-program mock tests (no cloud, no tools).
test:
	go test ./...

# What CI checks besides the tests.
check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./...

# Builds the pinned real parts (Pulumi CLI, Kubernetes provider, control
# plane, kwok, Argo's controller and server) into .tools/bin; skips what is
# already built.
tools:
	bash tools/build.sh

STACK ?= staging
ARGO_PORT ?= 2746

# The offline twin of `pulumi up --stack staging`: a local control plane,
# the stack's Kubernetes side deployed with the real engine, the real Argo
# controller and server (steps simulated); Ctrl-C stops it.
sandbox: tools
	go run ./tests/sandbox -stack $(STACK) -argo-port $(ARGO_PORT)

# End-to-end tests: every stack against a real API server and engine, with
# the real Argo controller and server, in shards (each stack, each other
# test) that run a few at once, each with its own control plane in a
# private network namespace (tools/e2e.sh; E2E_JOBS sets how many at once).
e2e: tools
	bash tools/e2e.sh

# The performance and cost model of every stack (critical path of `pulumi up`,
# per-step overhead, throughput, Spot saving) and the unit suite's time.
perf:
	go run ./tests/perf/report -unit-tests

# Throughput measured on the real controller (not modelled): per profile
# (the seed's settings, then each stack's), a 200-step fan-out and 100
# workflows submitted at once, on a local control plane with kwok nodes.
# Prints times, rates, lost/stuck steps, controller CPU and memory, and the
# ratio to the seed; about 25 minutes, most of it the seed's 10 s requeue.
bench: tools
	go run ./tests/bench

# The archive at production's scale, on the real server and controller and
# real PostgreSQL (tests/bench/archive.go): the UI's first page, the
# archive's page, a label-filtered page, `argo list` and `argo archive list`
# at each size, argo-server's and the controller's peak memory against
# their limits, and the controller's TTL deletion of a day's rows.
# ARCHIVE_RUNS_PER_DAY sizes argo-server for another argo.archivedRunsPerDay
# (0: production's stack file).
ARCHIVE_SIZES ?= 20000,60000,216000
ARCHIVE_RUNS_PER_DAY ?= 0
bench-archive: tools
	go run ./tests/bench -archive $(ARCHIVE_SIZES) -runs-per-day $(ARCHIVE_RUNS_PER_DAY)
