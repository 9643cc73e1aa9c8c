/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvx's release, for MODULE_VERSION() in every module.  The packaging
 * (Makefile's VERSION, debian/changelog) reads it from here; a release
 * changes this line and debian/changelog together
 * (tools/packaging-test.sh checks that they agree).
 */
#ifndef _PVX_VERSION_H
#define _PVX_VERSION_H

#define PVX_VERSION "0.1.0"

#endif
