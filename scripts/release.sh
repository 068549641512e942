#!/bin/sh
# Build Ferry's release binaries: static (CGO_ENABLED=0), reproducible paths
# (-trimpath), stamped with version, commit and build date, plus SHA256SUMS.
#
#   scripts/release.sh                 # version from `git describe`, into dist/
#   VERSION=v1.4.0 scripts/release.sh  # an explicit version
#   DIST=/tmp/out TARGETS="linux/amd64" scripts/release.sh
#
# Output: $DIST/ferry_<version>_<os>_<arch>[.exe] and $DIST/SHA256SUMS.
set -eu

cd "$(dirname "$0")/.."

TARGETS=${TARGETS:-"linux/amd64 linux/arm64 darwin/arm64 windows/amd64"}
DIST=${DIST:-dist}
COMMIT=${COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo devel)}
# SOURCE_DATE_EPOCH (reproducible builds) fixes the date when set.
if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
	DATE=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || date -u -r "$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
else
	DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
fi

LDFLAGS="-s -w -X main.version=$VERSION -X main.commit=$COMMIT -X main.date=$DATE"

mkdir -p "$DIST"
for target in $TARGETS; do
	os=${target%/*}
	arch=${target#*/}
	out="$DIST/ferry_${VERSION}_${os}_${arch}"
	[ "$os" = windows ] && out="$out.exe"
	echo "building $out" >&2
	CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -buildvcs=false \
		-ldflags "$LDFLAGS" -o "$out" ./cmd/ferry
done

# Checksums of the binaries, in the format `sha256sum -c SHA256SUMS` reads.
(
	cd "$DIST"
	rm -f SHA256SUMS
	for f in ferry_*; do
		if command -v sha256sum >/dev/null 2>&1; then
			sha256sum "$f"
		else
			shasum -a 256 "$f"
		fi
	done >SHA256SUMS
)
echo "wrote $DIST/SHA256SUMS" >&2
