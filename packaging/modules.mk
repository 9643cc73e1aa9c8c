# SPDX-License-Identifier: GPL-2.0
#
# What a Kbuild file ships: its obj-m as Kbuild sees it without
# PVX_TEST_MODULES (no test modules) and without CONFIG_KUNIT.  The one
# module list stays the Kbuild file's; dkms.conf, the DKMS source trees,
# make install and make uninstall are generated from this.
#
#   make -s -f packaging/modules.mk KBUILD_FILE=guest-drivers/Kbuild [print]
#       the shipped modules, one name a line
#   make -s -f packaging/modules.mk KBUILD_FILE=guest-drivers/Kbuild dkms
#       the same, a module that builds only from some kernel on as
#       NAME@MAJOR.MINOR (the Kbuild file's pvx_since_NAME): dkms-conf.sh
#   make -s -f packaging/modules.mk KBUILD_FILE=guest-drivers/Kbuild sources
#       the C files they are built from, one a line (relative to the
#       Kbuild file's directory)

override PVX_TEST_MODULES :=
override CONFIG_KUNIT :=
src := $(dir $(KBUILD_FILE))
include $(KBUILD_FILE)

modules := $(patsubst %.o,%,$(filter %.o,$(obj-m)))
# a composite module's objects (m-y, m-objs), else m.o itself
objects = $(or $($(1)-y),$($(1)-objs),$(1).o)

print:
	@printf '%s\n' $(modules)

dkms:
	@printf '%s\n' $(foreach m,$(modules),$(m)$(if $(pvx_since_$(m)),@$(pvx_since_$(m))))

sources:
	@printf '%s\n' $(sort $(patsubst %.o,%.c,$(foreach m,$(modules),$(call objects,$(m)))))

.PHONY: print dkms sources
