#!/bin/sh
# L1-side lifecycle test: an L2 of its own (pvx_guest and pvx_clock only,
# the tick on pvx) while L1 detaches it, attaches it again, unloads
# pvx_host and loads it again (l2-life-lib.sh, l2/life-test.sh); and
# pvx_clock refusing to load under pvx_guest notifications=0.  In an L1
# of its own, so that the detach and the rmmod touch nothing else.
exec env PVX_L2_MODE=life PVX_L2_TIMEOUT="${PVX_L2_TIMEOUT:-600}" /pvx/l1/l2-smoke.sh
