# SPDX-License-Identifier: GPL-2.0
#
# make            modules (against KDIR), pvxctl, selftests
# make run        boot the testbed and show pvx serving a guest
# make check      the whole suite, in L1 on the stock and the debug kernel
#                 (the guest kselftests, selftests/guest, run in L2)
# make check-pvxctl  pvxctl's command line, here (TAP; no /dev/pvx needed)
# make bench      exit counts with and without pvx, measured in L1
# make install    install pvx_host, pvx_guest and pvxctl (with its man page
#                 and bash completion) on this machine
#
# KDIR defaults to the running kernel's build tree, else the testbed's
# Debian 6.12 headers.  GUEST_KDIR (guest modules) defaults to KDIR.

PVX_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/pvx
TESTBED_KDIR := $(shell sed -n 's/^KDIR=//p' $(PVX_CACHE)/stock.env 2>/dev/null)
KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) $(TESTBED_KDIR))
GUEST_KDIR ?= $(KDIR)
PREFIX ?= /usr/local

# What "make stage" copies: sources only, never objects of another kernel.
MODULE_SOURCES = $(shell find include host-kmod guest-drivers \
		   \( -name '*.[ch]' -o -name Kbuild -o -name Makefile \) -print)

all: modules tools selftests

check-kdir:
	@test -n "$(KDIR)" -a -d "$(KDIR)" || { \
		echo "No kernel build tree: pass KDIR=<dir> (or run tools/testbed/deps.sh)"; \
		exit 1; }

modules: check-kdir
	$(MAKE) -C $(KDIR) M=$(CURDIR)/host-kmod modules
	$(MAKE) -C $(GUEST_KDIR) M=$(CURDIR)/guest-drivers modules

tools:
	$(MAKE) -C tools/pvxctl

selftests:
	$(MAKE) -C selftests
	$(MAKE) -C selftests/guest

# Build everything for one testbed lane into STAGE (see tools/testbed/).
# Each lane builds in its own copy of the sources, so lanes never mix
# objects of different kernels.
stage: check-kdir tools selftests
	@test -n "$(STAGE)" || { echo "make stage needs STAGE=<dir>"; exit 1; }
	rm -rf $(STAGE) $(STAGE).src
	mkdir -p $(STAGE)/selftests $(STAGE)/kunit $(STAGE)/l2 $(STAGE).src
	$(MAKE) -C selftests/guest install INSTALL_PATH=$(abspath $(STAGE))/l2/kselftest
	printf '%s\n' $(MODULE_SOURCES) | cpio -pdm --quiet $(STAGE).src
	$(MAKE) -C $(KDIR) M=$(STAGE).src/host-kmod PVX_TEST_MODULES=y modules
	$(MAKE) -C $(GUEST_KDIR) M=$(STAGE).src/guest-drivers modules
	set -e; cd $(STAGE).src/host-kmod; for m in $$(sed 's/\.o$$/.ko/' modules.order); do \
		case $$m in *_kunit.ko) cp $$m $(STAGE)/kunit/ ;; *) cp $$m $(STAGE)/ ;; esac; done
	set -e; cd $(STAGE).src/guest-drivers; for m in $$(sed 's/\.o$$/.ko/' modules.order); do \
		cp $$m $(STAGE)/l2/; done
	cp tools/pvxctl/pvxctl $(STAGE)/
	find selftests -maxdepth 1 -name '*_test' -type f -perm -u+x -exec cp {} $(STAGE)/selftests/ \;

run:
	tools/testbed/run.sh

check:
	tools/testbed/check.sh

check-pvxctl:
	$(MAKE) -C tools/pvxctl check

bench:
	tools/bench/bench.sh

install: modules tools
	$(MAKE) -C $(KDIR) M=$(CURDIR)/host-kmod INSTALL_MOD_PATH=$(DESTDIR) modules_install
	$(MAKE) -C $(GUEST_KDIR) M=$(CURDIR)/guest-drivers INSTALL_MOD_PATH=$(DESTDIR) modules_install
	$(MAKE) -C tools/pvxctl install DESTDIR=$(DESTDIR) PREFIX=$(PREFIX)

clean:
	-test -z "$(KDIR)" || $(MAKE) -C $(KDIR) M=$(CURDIR)/host-kmod clean
	-test -z "$(KDIR)" || $(MAKE) -C $(GUEST_KDIR) M=$(CURDIR)/guest-drivers clean
	$(MAKE) -C tools/pvxctl clean
	-$(MAKE) -C selftests clean
	-$(MAKE) -C selftests/guest clean
	rm -rf build

.PHONY: all check-kdir modules tools selftests stage run check check-pvxctl bench \
	install clean
