# SPDX-License-Identifier: GPL-2.0
#
# Prints the modules that a Kbuild file ships: its obj-m as Kbuild sees it
# without PVX_TEST_MODULES (no test modules) and without CONFIG_KUNIT,
# one name a line.  The one module list stays the Kbuild file's;
# dkms.conf, make install and make uninstall are generated from this.
#
#   make -s -f packaging/modules.mk KBUILD_FILE=guest-drivers/Kbuild

override PVX_TEST_MODULES :=
override CONFIG_KUNIT :=
src := $(dir $(KBUILD_FILE))
include $(KBUILD_FILE)

print:
	@printf '%s\n' $(patsubst %.o,%,$(filter %.o,$(obj-m)))
.PHONY: print
