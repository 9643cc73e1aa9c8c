# SPDX-License-Identifier: GPL-2.0
#
# make            what an admin needs: the shipped modules (against KDIR)
#                 and pvxctl; no selftests, no test modules
# make install    install-host and install-guest; DESTDIR and PREFIX
# make install-host   pvx_host (INSTALL_MOD_PATH=$(DESTDIR)), pvxctl with its
#                 man page and bash completion
# make install-guest  the guest drivers (against GUEST_KDIR)
# make uninstall  (-host, -guest) removes what install put there
# make deb        pvx-host-dkms, pvx-guest-dkms, pvxctl .debs in build/deb/
# make check-packaging  tools/packaging-test.sh: the .debs, dkms build,
#                 lintian (TAP)
# make selftests  the selftests (static binaries: need libc.a)
# make stage      a testbed lane's build, test modules and selftests too
# make run        boot the testbed and show pvx serving a guest
# make check      the whole suite, in L1 on the stock and the debug kernel
#                 (the guest kselftests, selftests/guest, run in L2)
# make fuzz       the hypercall fuzzer alone, longer (PVX_FUZZ_SECONDS,
#                 1800; PVX_FUZZ_SEED replays a run), on the debug kernel
# make check-pvxctl  pvxctl's command line, here (TAP; no /dev/pvx needed)
# make bench      pvx against the stock KVM paths in one L1 boot (and the
#                 IOMMU row in the IOMMU L1): table, bench.json
#                 (tools/bench/, Documentation/perf/README.rst)
#
# KDIR defaults to the running kernel's build tree, else the testbed's
# Debian 6.12 headers.  GUEST_KDIR (guest modules) defaults to KDIR.
# The shipped modules are each Kbuild's obj-m without PVX_TEST_MODULES
# (packaging/modules.mk prints them; make print-modules).

PVX_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/pvx
TESTBED_KDIR := $(shell sed -n 's/^KDIR=//p' $(PVX_CACHE)/stock.env 2>/dev/null)
KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) $(TESTBED_KDIR))
GUEST_KDIR ?= $(KDIR)
PREFIX ?= /usr/local

# The release, from the header that gives the modules their MODULE_VERSION.
VERSION := $(shell sed -n 's/^\#define PVX_VERSION "\(.*\)"/\1/p' include/pvx_version.h)
# The shipped modules, from the Kbuild files (see packaging/modules.mk).
shipped = $(shell MAKEFLAGS= $(MAKE) -s --no-print-directory -f packaging/modules.mk KBUILD_FILE=$(1)/Kbuild)
HOST_MODULES = $(call shipped,host-kmod)
GUEST_MODULES = $(call shipped,guest-drivers)
# the same for dkms.conf: NAME@MAJOR.MINOR for a module built only from
# that kernel on
shipped-dkms = $(shell MAKEFLAGS= $(MAKE) -s --no-print-directory -f packaging/modules.mk KBUILD_FILE=$(1)/Kbuild dkms)
kernelrelease = $(shell cat $(1)/include/config/kernel.release 2>/dev/null)
# modules_install's directory for external modules (kbuild's default)
INSTALL_MOD_DIR ?= updates

# What "make stage" copies: sources only, never objects of another kernel.
MODULE_SOURCES = $(shell find include host-kmod guest-drivers \
		   \( -name '*.[ch]' -o -name Kbuild -o -name Makefile \) -print)

all: modules tools

check-kdir:
	@test -n "$(KDIR)" -a -d "$(KDIR)" || { \
		echo "No kernel build tree: pass KDIR=<dir> (or run tools/testbed/deps.sh)"; \
		exit 1; }

modules: modules-host modules-guest

modules-host: check-kdir
	$(MAKE) -C $(KDIR) M=$(CURDIR)/host-kmod modules

modules-guest: check-kdir
	$(MAKE) -C $(GUEST_KDIR) M=$(CURDIR)/guest-drivers modules

print-modules:
	@echo "host: $(HOST_MODULES)"
	@echo "guest: $(GUEST_MODULES)"

tools:
	$(MAKE) -C tools/pvxctl

selftests:
	$(MAKE) -C selftests
	$(MAKE) -C selftests/guest

# Build everything for one testbed lane into STAGE (see tools/testbed/).
# Each lane builds in its own copy of the sources, so lanes never mix
# objects of different kernels.
# HOST_KBUILD: a command the host modules' kbuild runs under, for a
# kernel built with a compiler this machine lacks (the stock73 lane:
# tools/testbed/buildroot.sh run <root> $(STAGE).src).
HOST_KBUILD ?=
stage: check-kdir tools selftests
	@test -n "$(STAGE)" || { echo "make stage needs STAGE=<dir>"; exit 1; }
	rm -rf $(STAGE) $(STAGE).src
	mkdir -p $(STAGE)/selftests $(STAGE)/kunit $(STAGE)/l2 $(STAGE).src
	$(MAKE) -C selftests/guest install INSTALL_PATH=$(abspath $(STAGE))/l2/kselftest
	printf '%s\n' $(MODULE_SOURCES) | cpio -pdm --quiet $(STAGE).src
	$(HOST_KBUILD) $(MAKE) -C $(KDIR) M=$(STAGE).src/host-kmod PVX_TEST_MODULES=y modules
	$(MAKE) -C $(GUEST_KDIR) M=$(STAGE).src/guest-drivers PVX_TEST_MODULES=y modules
	set -e; cd $(STAGE).src/host-kmod; for m in $$(sed 's/\.o$$/.ko/' modules.order); do \
		case $$m in *_kunit.ko) cp $$m $(STAGE)/kunit/ ;; *) cp $$m $(STAGE)/ ;; esac; done
	set -e; cd $(STAGE).src/guest-drivers; for m in $$(sed 's/\.o$$/.ko/' modules.order); do \
		cp $$m $(STAGE)/l2/; done
	cp tools/pvxctl/pvxctl $(STAGE)/
	find selftests -maxdepth 1 -name '*_test' -type f -perm -u+x -exec cp {} $(STAGE)/selftests/ \;
	$(MAKE) -C tools/bench
	mkdir -p $(STAGE)/bench
	cp tools/bench/pvx_bench $(STAGE)/bench/

run:
	tools/testbed/run.sh

check:
	tools/testbed/check.sh

fuzz:
	tools/testbed/fuzz.sh

check-pvxctl:
	$(MAKE) -C tools/pvxctl check

bench:
	tools/bench/run.sh

# Modules go to $(DESTDIR)/lib/modules/<kernel>/$(INSTALL_MOD_DIR)/ (kbuild
# runs depmod there): the shipped ones only, since modules_install
# installs what modules.order lists and modules-* has just rebuilt it
# without PVX_TEST_MODULES (make stage builds in a copy of its own).
install: install-host install-guest

# /dev/pvx for group kvm, as /dev/kvm (see the rule's comment).
UDEVRULESDIR ?= /lib/udev/rules.d

install-host: modules-host tools
	$(MAKE) -C $(KDIR) M=$(CURDIR)/host-kmod INSTALL_MOD_PATH=$(DESTDIR) \
		INSTALL_MOD_DIR=$(INSTALL_MOD_DIR) modules_install
	$(MAKE) -C tools/pvxctl install DESTDIR=$(DESTDIR) PREFIX=$(PREFIX)
	install -D -m 0644 tools/udev/60-pvx.rules \
		$(DESTDIR)$(UDEVRULESDIR)/60-pvx.rules

install-guest: modules-guest
	$(MAKE) -C $(GUEST_KDIR) M=$(CURDIR)/guest-drivers INSTALL_MOD_PATH=$(DESTDIR) \
		INSTALL_MOD_DIR=$(INSTALL_MOD_DIR) modules_install

# remove-modules KDIR MODULES
define remove-modules
	@kver='$(call kernelrelease,$(1))'; test -n "$$kver" || { \
		echo "no kernel release in $(1): pass KDIR=<dir>"; exit 1; }; \
	dir='$(DESTDIR)/lib/modules/'$$kver/$(INSTALL_MOD_DIR); \
	for m in $(2); do \
		for f in "$$dir/$$m.ko" "$$dir/$$m.ko".*; do \
			if [ -e "$$f" ]; then echo "rm $$f"; rm -f "$$f"; fi; done; done; \
	if [ -z '$(DESTDIR)' ]; then depmod -a "$$kver"; \
	elif [ -e '$(DESTDIR)'/lib/modules/$$kver/modules.dep ]; then \
		depmod -b '$(DESTDIR)' -a "$$kver"; fi
endef

uninstall: uninstall-host uninstall-guest

uninstall-host: check-kdir
	$(call remove-modules,$(KDIR),$(HOST_MODULES))
	$(MAKE) -C tools/pvxctl uninstall DESTDIR=$(DESTDIR) PREFIX=$(PREFIX)
	rm -f $(DESTDIR)$(UDEVRULESDIR)/60-pvx.rules

uninstall-guest: check-kdir
	$(call remove-modules,$(GUEST_KDIR),$(GUEST_MODULES))

# DKMS: one source package per side, /usr/src/pvx-{host,guest}-$(VERSION)/
# with its dkms.conf, generated from the Kbuild lists.  pvx_host uses
# KVM internals (pvx_compat.c) of the series it is tested on, Debian's
# 6.1 and 6.12: other kernels are excluded, dkms says so instead of
# failing to build.  The guest drivers use only stable interfaces; no
# exclusion (a module too new for a kernel is left out of its build).
HOST_DKMS_KERNELS ?= ^6\.(1|12)\.
DKMS_DIR = build/dkms

$(DKMS_DIR)/pvx-host/dkms.conf: FORCE
	@mkdir -p $(@D)
	packaging/dkms-conf.sh pvx-host $(VERSION) host-kmod '$(HOST_DKMS_KERNELS)' \
		$(call shipped-dkms,host-kmod) > $@.tmp && mv $@.tmp $@

$(DKMS_DIR)/pvx-guest/dkms.conf: FORCE
	@mkdir -p $(@D)
	packaging/dkms-conf.sh pvx-guest $(VERSION) guest-drivers '' \
		$(call shipped-dkms,guest-drivers) > $@.tmp && mv $@.tmp $@

dkms-conf-host: $(DKMS_DIR)/pvx-host/dkms.conf
dkms-conf-guest: $(DKMS_DIR)/pvx-guest/dkms.conf

# dkms-source-SIDE: its sources and dkms.conf into
# $(DESTDIR)/usr/src/pvx-SIDE-$(VERSION)/ (then: dkms install pvx-SIDE/$(VERSION)).
# The shipped modules' C files (packaging/modules.mk sources), the
# headers, Kbuild: no test module's source, no object of this tree's builds.
sources = $(shell MAKEFLAGS= $(MAKE) -s --no-print-directory -f packaging/modules.mk KBUILD_FILE=$(1)/Kbuild sources)
dkms-source = set -e; d='$(DESTDIR)/usr/src/pvx-$(1)-$(VERSION)'; \
	rm -rf "$$d"; mkdir -p "$$d/$(2)"; \
	find include -name '*.h' -print | cpio -pdm --quiet "$$d"; \
	cd $(2) && cp -p Kbuild Makefile *.h $(call sources,$(2)) "$$d/$(2)/"; \
	cd $(CURDIR) && install -m 0644 $(DKMS_DIR)/pvx-$(1)/dkms.conf "$$d/dkms.conf"

dkms-source-host: dkms-conf-host
	$(call dkms-source,host,host-kmod)

dkms-source-guest: dkms-conf-guest
	$(call dkms-source,guest,guest-drivers)

# The Debian packages, built in a copy of the sources under build/deb/
# (dpkg-buildpackage writes its results beside the source directory).
DEB_DIR = build/deb
deb:
	@command -v dpkg-buildpackage >/dev/null && command -v dh_dkms >/dev/null || { \
		echo "make deb needs debhelper and dh-dkms: run tools/testbed/deps.sh"; exit 1; }
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_DIR)/pvx-$(VERSION)
	git ls-files -co --exclude-standard 2>/dev/null | grep -v '^build/' | \
		cpio -pdm --quiet $(DEB_DIR)/pvx-$(VERSION) || \
		find . -path ./build -prune -o -path ./.git -prune -o -type f -print | \
		cpio -pdm --quiet $(DEB_DIR)/pvx-$(VERSION)
	cd $(DEB_DIR)/pvx-$(VERSION) && dpkg-buildpackage -us -uc -b
	@ls $(DEB_DIR)/*.deb

check-packaging:
	tools/packaging-test.sh

clean:
	-test -z "$(KDIR)" || $(MAKE) -C $(KDIR) M=$(CURDIR)/host-kmod clean
	-test -z "$(KDIR)" || $(MAKE) -C $(GUEST_KDIR) M=$(CURDIR)/guest-drivers clean
	$(MAKE) -C tools/pvxctl clean
	-$(MAKE) -C selftests clean
	-$(MAKE) -C selftests/guest clean
	-$(MAKE) -C tools/bench clean
	rm -rf build

.PHONY: all check-kdir modules modules-host modules-guest print-modules tools \
	selftests stage run check fuzz check-pvxctl bench install install-host \
	install-guest uninstall uninstall-host uninstall-guest dkms-conf-host \
	dkms-conf-guest dkms-source-host dkms-source-guest deb check-packaging clean FORCE
