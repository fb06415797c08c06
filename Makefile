# Palisade. The two commands a newcomer needs, on a fresh Debian machine as root:
#   make run    build the qemu-x86_64 image and boot it, console on this terminal
#   make test   gofmt, go vet, unit tests, then system tests (namespaces) and VM tests (QEMU), one at a time
#
# Both install what is missing (apt packages, Go modules, the pinned kernel).

SHELL := /bin/bash
GO ?= go
export CGO_ENABLED ?= 0

include mk/image.mk

.PHONY: all test test-unit test-system test-vm fmt vet demo bench tools clean

all: test

tools:
	$(GO) build -o $(OUT)/bin/palisade-cfg ./tools/palisade-cfg

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './cache/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# Fast unit tests: no root, no QEMU.
test-unit:
	$(GO) test -short -count=1 ./...

# System tests: real kernels in fresh network namespaces (root). -p 1 keeps namespaces and nftables
# batches from competing for the two cores.
test-system:
	$(GO) test -count=1 -p 1 ./...

# VM tests: QEMU guests running our image, one at a time. They build the images they boot.
test-vm: deps
	$(MAKE) images
	PALISADE_VM=1 $(GO) test -count=1 -p 1 -timeout 40m -run 'VM' ./...

test: deps fmt vet test-unit test-system test-vm

demo: deps
	$(MAKE) image BOARD=qemu-x86_64
	$(GO) run ./qemu/cmd/palisade-lab -out $(OUT) -demo

bench: deps
	$(GO) test -run XXX -bench . -benchtime 3x -p 1 ./firmware/config ./policy/...

clean:
	rm -rf $(OUT)
