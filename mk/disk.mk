# Flashable disk images. Included by the top-level Makefile after mk/image.mk.
#
#   make disk [BOARD=qemu-x86_64] [VERSION=...] [CONFIG=srx1.set]
#       out/BOARD/palisade.img     GPT: ESP (systemd-boot, slot A = this build) + PALISADE configuration partition
#       out/BOARD/palisade.bundle  the upgrade bundle of the same build (request system software add), with .sha256
#   make disks                     both QEMU boards
#   make run-disk [BOARD=...]      boot out/BOARD/palisade.img under OVMF/AAVMF, console on this terminal
#
# Needs no root and no loop device. The host packages ovmf and qemu-efi-aarch64 are only for booting the
# image in QEMU (the VM tests, run-disk).

VERSION ?= $(shell git describe --always --dirty 2>/dev/null || date -u +%Y%m%d%H%M)

.PHONY: disk disks run-disk

disk: image
ifneq ($(CONFIG),)
	$(GO) run ./tools/palisade-cfg disk $(CONFIG) -o $(OUT)/$(BOARD)/config.img
	$(GO) run ./image/cmd/palisade-disk -board $(BOARD) -version $(VERSION) -cache $(CACHE) -out $(OUT) -config-image $(OUT)/$(BOARD)/config.img
else
	$(GO) run ./image/cmd/palisade-disk -board $(BOARD) -version $(VERSION) -cache $(CACHE) -out $(OUT)
endif

disks:
	$(MAKE) disk BOARD=qemu-x86_64
	$(MAKE) disk BOARD=qemu-arm64

# A copy of the image and of the firmware's variable store, so the built image stays as built.
run-disk: disk
	cp --sparse=always $(OUT)/$(BOARD)/palisade.img $(OUT)/$(BOARD)/run-disk.img
	$(GO) run ./qemu/cmd/palisade-qemu -board $(BOARD) -out $(OUT) -disk $(OUT)/$(BOARD)/run-disk.img
