# shellcheck shell=bash
# Shared settings for the pvx testbed scripts (sourced, not run).
PVX_CACHE=${PVX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pvx}
TESTBED_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$TESTBED_DIR/../.." && pwd)
export PVX_CACHE
export CCACHE_DIR=${CCACHE_DIR:-$PVX_CACHE/ccache}
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-8G}
mkdir -p "$PVX_CACHE"

tb_log() { printf '[testbed] %s\n' "$*" >&2; }
tb_die() { printf '[testbed] ERROR: %s\n' "$*" >&2; exit 1; }

# Version of the Debian kernel source package that both lanes follow.
tb_src_version() {
	local v
	v=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || true)
	[ -n "$v" ] || v=$(apt-cache policy linux-source-6.12 | awk '/Candidate:/ {print $2}')
	[ -n "$v" ] && [ "$v" != "(none)" ] || tb_die "cannot determine linux-source-6.12 version"
	printf '%s\n' "$v"
}

# 6.12.117-1~deb12u1 -> 6.12.117+deb12-amd64
tb_abi_from_version() {
	local up=${1%%-*}
	printf '%s+deb12-amd64\n' "$up"
}

# tb_boot OUT RUN-L1-ARGS...: run-l1.sh --out OUT, and a boot lost to the
# testbed booted again, up to three times.  Lost (parse.py --lost): L1 stopped
# before PVX-ALL-DONE without a kernel message saying why, i.e. the
# nested-TCG freeze of README.md, "When L1 hangs" (silent until
# run-l1.sh's timeout), or an L1 that reset or whose QEMU ended.  A splat
# is never retried.  Each lost run is kept as OUT.hungN and appended to
# TB_HUNG for the caller to name.
TB_HUNG=()
tb_boot() {
	local o=$1 try
	shift
	"$TESTBED_DIR/run-l1.sh" "$@" --out "$o"
	for try in 1 2 3; do
		"$TESTBED_DIR/parse.py" --lost --out "$o" || return 0
		rm -rf "$o.hung$try"
		mv "$o" "$o.hung$try"
		TB_HUNG+=("$o.hung$try ($(tail -n1 "$o.hung$try/tap.log"); registers and QEMU's log there)")
		tb_log "L1 lost ($o.hung$try); booting it again"
		"$TESTBED_DIR/run-l1.sh" "$@" --out "$o"
	done
}
