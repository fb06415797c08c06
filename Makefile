# Palisade. The two commands a newcomer needs, on a fresh Debian machine as root:
#   make run    build the qemu-x86_64 image and boot it, console on this terminal
#   make test   gofmt, go vet, unit tests, then system tests (namespaces) and VM tests (QEMU), one at a time
#
# Both install what is missing (apt packages, Go modules, the pinned kernel).

SHELL := /bin/bash
GO ?= go
export CGO_ENABLED ?= 0

include mk/image.mk

.PHONY: all test test-deps test-unit test-system test-vm fmt vet demo bench tools clean

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

# System tests: real kernels in fresh network namespaces (root). -p 1 keeps namespaces and nftables
# batches from competing for the two cores.
test-system:
	$(GO) test -count=1 -p 1 ./...

# VM tests: QEMU guests running our image, one at a time. They build the images they boot.
test-vm: deps
	$(MAKE) images
	PALISADE_VM=1 $(GO) test -count=1 -p 1 -timeout 40m -run 'VM' ./...

test-deps: deps
	@missing=""; for p in $(TEST_DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "test-deps: installing$$missing"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

test: test-deps fmt vet test-unit test-system test-vm

demo: deps
	$(MAKE) image BOARD=qemu-x86_64
	$(GO) run ./qemu/cmd/palisade-lab -out $(OUT) -demo

bench: deps
	$(GO) test -run XXX -bench . -benchtime 3x -p 1 ./firmware/config ./policy/...

clean:
	rm -rf $(OUT)
