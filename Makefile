# Palisade. The two commands a newcomer needs, on a fresh Debian machine as root:
#   make run    build the qemu-x86_64 image and boot it, console on this terminal
#   make test   gofmt, go vet, unit tests, then system tests (namespaces, strongSwan) and VM tests (QEMU)
#
# Both install what is missing (apt packages, Go modules, the pinned kernel).

SHELL := /bin/bash
GO ?= go
export CGO_ENABLED ?= 0

include mk/image.mk
include mk/disk.mk

.PHONY: all test test-deps test-unit test-system fmt vet demo bench tools clean

# Peers and tools the tests use beside what the image needs (mk/image.mk deps): strongSwan as a real IKE
# peer (userspace ESP through kernel-libipsec), the OpenSSH client.
TEST_DEB_PACKAGES := strongswan-charon strongswan-swanctl libcharon-extra-plugins libstrongswan-extra-plugins \
	libstrongswan-standard-plugins openssh-client socat

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

# System and VM tests: real kernels in fresh network namespaces (root), strongSwan as a peer, and QEMU guests
# running our images (PALISADE_VM=1), one package at a time (-p 1) so that QEMU guests never compete for the
# two cores. The fast unit tests run again here; they take seconds.
test-system: test-deps images
	PALISADE_VM=1 $(GO) test -count=1 -p 1 -timeout 60m ./...

test-deps: deps
	$(call apt-ensure,$(TEST_DEB_PACKAGES))

test: test-deps fmt vet test-unit test-system

demo: deps
	$(MAKE) image BOARD=qemu-x86_64
	$(GO) run ./qemu/cmd/palisade-lab -out $(OUT) -demo

bench: deps
	$(GO) test -run XXX -bench . -benchtime 3x -p 1 ./firmware/config ./policy ./vpn/...

clean:
	rm -rf $(OUT)
