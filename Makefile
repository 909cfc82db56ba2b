# Every target works offline except `up`/`preview` (they need a GCP project).
.PHONY: test check tools

# The unit and whole-program mock tests (no cloud, no tools).
test:
	go test ./...

# What CI checks besides the tests.
check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./...

# Builds the pinned real parts (Pulumi CLI, Kubernetes provider, control
# plane, kwok) into .tools/bin; skips what is already built.
tools:
	bash tools/build.sh
