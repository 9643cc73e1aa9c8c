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
