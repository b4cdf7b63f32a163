# Shared by scripts/try and scripts/test: root, Debian packages and a Go
# toolchain on a fresh Debian or Ubuntu machine. Sourced, not run.

# as_root re-runs the calling script as root. sudo resets PATH (it loses
# /usr/local/go/bin), so the script finds Go itself afterwards.
as_root() {
	if [ "$(id -u)" != 0 ]; then
		if ! command -v sudo >/dev/null; then
			echo "tsdoctor: $(basename "$0") needs root (network namespaces, firewalls): run it as root" >&2
			exit 2
		fi
		echo "tsdoctor: $(basename "$0") needs root (network namespaces, firewalls): running it with sudo" >&2
		exec sudo -- "${SELF:-$0}" "$@"
	fi
}

# need_packages installs the Debian packages that are missing.
need_packages() {
	local need=() pkg
	for pkg in "$@"; do
		dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
	done
	[ ${#need[@]} -eq 0 ] && return 0
	if ! command -v apt-get >/dev/null; then
		echo "tsdoctor: install these packages first: ${need[*]}" >&2
		exit 2
	fi
	echo "tsdoctor: installing ${need[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}

# go_version_of prints the version of the go binary $1 (e.g. 1.26.8).
go_version_of() { "$1" env GOVERSION 2>/dev/null | sed 's/^go//'; }

# version_ge a b: is version a >= b?
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

# need_go puts a Go toolchain of at least go.mod's version first on PATH:
# the one on PATH or in /usr/local/go, else one from the Go module proxy
# (golang.org/toolchain, the same archive `GOTOOLCHAIN` fetches), checked
# against its pinned SHA-256 and kept in /var/cache/tsdoctor-tools.
need_go() {
	local want top cand arch zip sum dir
	top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	want=$(awk '$1 == "go" {print $2; exit}' "$top/go.mod")
	for cand in "$(command -v go 2>/dev/null)" /usr/local/go/bin/go "/var/cache/tsdoctor-tools/go$want/go/bin/go"; do
		if [ -n "$cand" ] && [ -x "$cand" ] && version_ge "$(go_version_of "$cand")" "$want"; then
			export PATH="$(dirname "$cand"):$PATH" GOTOOLCHAIN=local
			return 0
		fi
	done
	case "$(uname -m)" in
	x86_64) arch=amd64 ;;
	aarch64) arch=arm64 ;;
	*) echo "tsdoctor: no Go $want here and no toolchain for $(uname -m): install Go $want from go.dev" >&2; exit 2 ;;
	esac
	# Pinned for go.mod's version; update both with go.mod.
	case "$want-$arch" in
	1.26.8-amd64) sum=30c2b1bf7dcc88d3eb0a1364e47ddd9128edb3110a30e8a0ef61cd5856b31de7 ;;
	1.26.8-arm64) sum=02b36b6787b3ac767668f630e2998df45a3b1f9ffee08d1bf3ef6487cd658d99 ;;
	*) echo "tsdoctor: no pinned checksum for Go $want on $arch: install Go $want from go.dev" >&2; exit 2 ;;
	esac
	need_packages curl unzip ca-certificates
	dir=/var/cache/tsdoctor-tools/go$want
	zip=$(mktemp /tmp/go-toolchain.XXXXXX.zip)
	local proxy=${GOPROXY:-https://proxy.golang.org}
	proxy=${proxy%%,*}
	echo "tsdoctor: fetching Go $want ($arch) from the Go module proxy" >&2
	curl -fsSL -o "$zip" "$proxy/golang.org/toolchain/@v/v0.0.1-go$want.linux-$arch.zip"
	if ! echo "$sum  $zip" | sha256sum -c --quiet; then
		rm -f "$zip"
		echo "tsdoctor: the Go toolchain's checksum does not match: not using it" >&2
		exit 2
	fi
	rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
	unzip -q "$zip" -d "$dir.tmp" && rm -f "$zip"
	# The module zip holds golang.org/toolchain@VERSION/{bin,src,pkg,...}.
	mv "$dir.tmp"/golang.org/toolchain@*/ "$dir.tmp/go"
	chmod +x "$dir.tmp"/go/bin/* "$dir.tmp"/go/pkg/tool/*/* 2>/dev/null || true
	rm -rf "$dir" && mv "$dir.tmp" "$dir"
	export PATH="$dir/go/bin:$PATH" GOTOOLCHAIN=local
}
