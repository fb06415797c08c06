# Image, kernel and QEMU targets. Included by the top-level Makefile.
#
#   make deps                      install the host packages the build and the VM tests need (only if missing)
#   make image [BOARD=qemu-x86_64] out/BOARD/kernel and out/BOARD/initramfs.cpio.gz (reproducible)
#   make kernel [BOARD=...]        fetch and unpack the board's pinned kernel into cache/ only
#   make run [BOARD=...] [CONFIG=srx1.set]   build the image and boot it, console on this terminal (Ctrl-A X quits)
#   make images                    both QEMU boards
#
# INIT is the Go package built as /init. Until firmware/cmd/init exists, the test init qemu/internal/hello
# is used (it prints a line and powers off), with a warning.

BOARD ?= qemu-x86_64
OUT ?= out
CACHE ?= cache
INIT ?= $(if $(wildcard firmware/cmd/init/*.go),./firmware/cmd/init,./qemu/internal/hello)
CONFIG ?=
GO ?= go

# Debian packages: build tools and what the VM and end-to-end tests use on the host.
IMAGE_DEB_PACKAGES := ca-certificates dpkg apt iproute2 e2fsprogs cpio xz-utils qemu-system-x86 qemu-system-arm \
	nftables tcpdump iperf3 iputils-ping ovmf qemu-efi-aarch64

.PHONY: deps image images kernel run run-print

# apt-ensure installs the Debian packages of $(1) that are missing, and only those.
define apt-ensure
	@missing=""; for p in $(1); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi
endef

deps:
	$(call apt-ensure,$(IMAGE_DEB_PACKAGES))
	@command -v $(GO) >/dev/null || { echo "deps: Go 1.26 is required (https://go.dev/dl/)"; exit 1; }

image: deps
	@$(if $(findstring hello,$(INIT)),echo "WARNING: firmware/cmd/init does not exist yet: building $(BOARD) with the test init $(INIT)" >&2,true)
	CGO_ENABLED=0 $(GO) run ./image/cmd/palisade-image -board $(BOARD) -init $(INIT) -cache $(CACHE) -out $(OUT)

images:
	$(MAKE) image BOARD=qemu-x86_64
	$(MAKE) image BOARD=qemu-arm64

kernel: deps
	$(GO) run ./image/cmd/palisade-image -board $(BOARD) -kernel-only -cache $(CACHE) -out $(OUT)

run: image
ifneq ($(CONFIG),)
	$(GO) run ./tools/palisade-cfg disk $(CONFIG) -o $(OUT)/$(BOARD)/config.img
	$(GO) run ./qemu/cmd/palisade-qemu -board $(BOARD) -out $(OUT) -config $(OUT)/$(BOARD)/config.img
else
	$(GO) run ./qemu/cmd/palisade-qemu -board $(BOARD) -out $(OUT)
endif

# Print the QEMU command line `make run` uses, to adapt in your own scripts.
run-print:
	@$(GO) run ./qemu/cmd/palisade-qemu -board $(BOARD) -out $(OUT) -print
