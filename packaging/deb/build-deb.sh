#!/usr/bin/env bash
# Builds zswapd_<version>_amd64.deb: the daemon jar, a jlink'ed Java 25 runtime, the launcher,
# /etc/zswapd/zswapd.conf, the systemd units and a sysusers entry.
#
# Usage: packaging/deb/build-deb.sh [OUT_DIR]        (default: target/deb)
#   ZSWAPD_JAR   the daemon jar (default io-bridge/target/zswapd.jar; mvn package builds it)
#   ZSWAPD_JDK   a JDK 22+ whose jlink makes the runtime (default /usr/lib/jvm/temurin-25-jdk-amd64)
# Needs dpkg-deb and python3. Installed layout:
#   /usr/bin/zswapd -> /usr/lib/zswapd/bin/zswapd    launcher
#   /usr/lib/zswapd/lib/zswapd.jar                   the daemon
#   /usr/lib/zswapd/runtime/                         Java runtime (jlink), the launcher's first choice
#   /etc/zswapd/zswapd.conf                          settings (a conffile)
#   /lib/systemd/system/zswapd.service, zswapd-swap.service
#   /usr/lib/sysusers.d/zswapd.conf                  the zswapd user
#   /usr/share/doc/zswapd/                           README, OPERATIONS, reference.conf
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/target/deb}
jar=${ZSWAPD_JAR:-$root/io-bridge/target/zswapd.jar}
jdk=${ZSWAPD_JDK:-/usr/lib/jvm/temurin-25-jdk-amd64}
[ -f "$jar" ] || { echo "build-deb: no $jar (mvn -B -ntp -q -DskipTests package builds it)" >&2; exit 2; }
[ -x "$jdk/bin/jlink" ] || { echo "build-deb: no jlink in $jdk (set ZSWAPD_JDK to a JDK 22 or later)" >&2; exit 2; }
command -v dpkg-deb >/dev/null || { echo "build-deb: dpkg-deb is missing (Debian: dpkg)" >&2; exit 2; }

# "zswapd 0.1.0-SNAPSHOT on Java ...": the jar's Implementation-Version
version=$("$jdk/bin/java" -jar "$jar" --version | sed -n 's/^zswapd \([0-9][^ ]*\) on Java.*/\1/p')
[ -n "$version" ] || { echo "build-deb: $jar has no Implementation-Version" >&2; exit 2; }
debversion=${version//-/\~}   # 0.1.0-SNAPSHOT -> 0.1.0~SNAPSHOT, which sorts before 0.1.0

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
pkg=$stage/zswapd
install -d "$pkg/DEBIAN" "$pkg/usr/bin" "$pkg/usr/lib/zswapd/bin" "$pkg/usr/lib/zswapd/lib" \
  "$pkg/etc/zswapd" "$pkg/lib/systemd/system" "$pkg/usr/lib/sysusers.d" "$pkg/usr/share/doc/zswapd"

# The modules the jar needs (jdeps) and those it reaches by reflection or service lookup:
# java.naming (Logback), jdk.crypto.ec was folded into java.base in JDK 22.
modules=$("$jdk/bin/jdeps" --ignore-missing-deps --print-module-deps --multi-release 25 "$jar")
"$jdk/bin/jlink" --add-modules "$modules,java.naming,java.management" --strip-debug --no-header-files \
  --no-man-pages --compress=zip-6 --output "$pkg/usr/lib/zswapd/runtime"

# The jar without the natives for other systems (zstd-jni, lz4-java, jffi, lmdbjava carry ~30).
python3 "$root/packaging/slim-jar.py" "$jar" "$pkg/usr/lib/zswapd/lib/zswapd.jar"
chmod 0644 "$pkg/usr/lib/zswapd/lib/zswapd.jar"
install -m 0755 "$root/bin/zswapd" "$pkg/usr/lib/zswapd/bin/zswapd"
ln -s ../lib/zswapd/bin/zswapd "$pkg/usr/bin/zswapd"
install -m 0644 "$root/packaging/deb/zswapd.conf" "$pkg/etc/zswapd/zswapd.conf"
install -m 0644 "$root/packaging/systemd/zswapd.service" "$root/packaging/systemd/zswapd-swap.service" \
  "$pkg/lib/systemd/system/"
install -m 0644 "$root/packaging/deb/zswapd.sysusers" "$pkg/usr/lib/sysusers.d/zswapd.conf"
install -m 0644 "$root/README.md" "$root/docs/OPERATIONS.md" "$root/config/src/main/resources/reference.conf" \
  "$pkg/usr/share/doc/zswapd/"
install -m 0755 "$root/packaging/deb/postinst" "$root/packaging/deb/prerm" "$root/packaging/deb/postrm" "$pkg/DEBIAN/"
echo /etc/zswapd/zswapd.conf > "$pkg/DEBIAN/conffiles"
size=$(du -sk "$pkg" | cut -f1)
cat > "$pkg/DEBIAN/control" <<CONTROL
Package: zswapd
Version: $debversion
Architecture: amd64
Maintainer: zswapd developers <zswapd@localhost>
Installed-Size: $size
Depends: libc6 (>= 2.34), adduser | systemd
Recommends: nbd-client
Section: admin
Priority: optional
Description: compressed-RAM swap engine served over NBD
 zswapd does in user space what Linux does with zswap, zsmalloc and zram: it
 serves block devices over NBD, and pages swapped out to them are kept
 compressed (LZ4 or Zstd) in its memory, past a limit in a backing file.
 Ships its own Java 25 runtime; the daemon locks its memory (mlockall).
CONTROL

mkdir -p "$out"
deb=$out/zswapd_${debversion}_amd64.deb
dpkg-deb --root-owner-group -Zgzip -z6 --build "$pkg" "$deb" >/dev/null
echo "$deb"
