#!/usr/bin/env bash
# Builds the VM test's guest from Debian packages only: a kernel, and an initramfs holding
# busybox, nbd-client, the swaptest program and the kernel modules the guest loads.
#
#   testkit/vm/build-initramfs.sh OUT_DIR
#
# Writes OUT_DIR/vmlinuz and OUT_DIR/initramfs.cpio.gz, and OUT_DIR/stamp naming its inputs;
# when the stamp matches, it does nothing (the tests call it on every run).
#
# Inputs, none downloaded here:
#   - the kernel: a Debian linux-image-*-amd64 .deb in ${ZSWAPD_VM_CACHE:-$HOME/.cache/zswapd-vm}
#     (.ci/run puts it there with apt-get download); unpacked with dpkg-deb -x, never installed.
#     From it: vmlinuz, and the modules nbd, zram (with lz4) and e1000 with their dependencies.
#   - /bin/busybox from busybox-static: the guest's sh, mount, ip, insmod, mkswap, swapon.
#   - nbd-client from nbd-client, with the shared libraries ldd names and the loader.
#   - swaptest.c, compiled here with gcc -static (gcc, libc6-dev).
#   - init, the guest's /init.
#
# Exit status 77 with lines "zswapd-vm: missing: PACKAGE: WHAT; get it with: COMMAND" when an
# input is missing (the test skips on a laptop, fails under CI=true); 0 when the guest is ready.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build-initramfs.sh OUT_DIR}
cache=${ZSWAPD_VM_CACHE:-$HOME/.cache/zswapd-vm}
# the kernel modules each mode of the guest loads (init loads dependencies first)
modules_net="e1000"
modules_nbd="nbd"
modules_zram="zram lz4"

missing=0
need() { # PACKAGE WHAT COMMAND
  echo "zswapd-vm: missing: $1: $2; get it with: $3" >&2
  missing=1
}
find_tool() { # the first of NAME on PATH, /usr/sbin, /sbin
  PATH="$PATH:/usr/sbin:/sbin" command -v "$1" 2>/dev/null || true
}

busybox=$(find_tool busybox)
if [ -z "$busybox" ]; then
  need busybox-static "busybox" "apt-get install busybox-static"
elif ldd "$busybox" >/dev/null 2>&1; then
  need busybox-static "a static busybox ($busybox is dynamically linked)" "apt-get install busybox-static"
fi
nbd_client=$(find_tool nbd-client)
[ -n "$nbd_client" ] || need nbd-client "nbd-client" "apt-get install nbd-client"
command -v dpkg-deb >/dev/null || need dpkg "dpkg-deb" "apt-get install dpkg"
command -v gcc >/dev/null || need gcc "gcc" "apt-get install gcc libc6-dev"
deb=$(ls -1 "$cache"/linux-image-*-amd64_*_amd64.deb 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$deb" ]; then
  need linux-image-amd64 "a Debian kernel package (linux-image-*-amd64_*.deb) in $cache" \
    "mkdir -p $cache && cd $cache && apt-get download \$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/{print \$2; exit}')"
fi
[ "$missing" -eq 0 ] || exit 77

stamp=$(
  {
    sha256sum "$here/build-initramfs.sh" "$here/init" "$here/swaptest.c"
    ls -l --time-style=+%s "$deb" "$busybox" "$nbd_client"
  } | sha256sum | cut -d' ' -f1
)
if [ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$stamp" ] \
    && [ -f "$out/vmlinuz" ] && [ -f "$out/initramfs.cpio.gz" ]; then
  echo "zswapd-vm: guest in $out is up to date ($(basename "$deb"))"
  exit 0
fi

mkdir -p "$out"
work=$(mktemp -d "$out/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,dev,proc,sys,tmp,modules,etc}

# The program, static: no libraries to carry. A gcc without static libc fails here.
if ! gcc -static -O2 -Wall -o "$root/bin/swaptest" "$here/swaptest.c" 2>"$work/gcc.log"; then
  cat "$work/gcc.log" >&2
  echo "zswapd-vm: missing: libc6-dev: a static C library for gcc -static; get it with: apt-get install libc6-dev" >&2
  exit 77
fi

# busybox and its applets
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done

# nbd-client, its libraries and the loader, at the paths ldd gives (the loader's path is
# baked into the binary; the libraries are found in /lib/x86_64-linux-gnu and /lib64)
cp "$nbd_client" "$root/bin/nbd-client"
ldd "$nbd_client" | awk '/=> \//{print $3} /^\t\/.*ld-linux/{print $1}' | while read -r lib; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done

cp "$here/init" "$root/init"
chmod 755 "$root/init"

# The kernel, unpacked, not installed
dpkg-deb -x "$deb" "$work/kernel"
vmlinuz=$(ls -1 "$work"/kernel/boot/vmlinuz-* | head -n 1)
moddir=$(ls -d "$work"/kernel/lib/modules/* | head -n 1)

# Each module and its dependencies, dependencies first, from the "depends=" field of each
# module's .modinfo (the .deb has no modules.dep: depmod makes it at install). A compressed
# module is decompressed here, since busybox's insmod loads plain .ko files.
module_file() { # NAME -> path of NAME.ko[.xz|.zst|.gz]; "-" and "_" are the same in module names
  local pattern=${1//[-_]/[-_]}
  find "$moddir/kernel" -regex ".*/${pattern}\.ko\(\.xz\|\.zst\|\.gz\)?" | head -n 1
}
plain_module() { # NAME -> writes $root/modules/NAME.ko once
  local name=$1 file
  [ -f "$root/modules/$name.ko" ] && return 0
  file=$(module_file "$name")
  [ -n "$file" ] || { echo "zswapd-vm: module $name is not in $(basename "$deb")" >&2; exit 1; }
  case "$file" in
    *.ko.xz) xz -dc "$file" > "$root/modules/$name.ko" ;;
    *.ko.zst) zstd -qdc "$file" > "$root/modules/$name.ko" ;;
    *.ko.gz) gzip -dc "$file" > "$root/modules/$name.ko" ;;
    *) cp "$file" "$root/modules/$name.ko" ;;
  esac
}
resolve() { # NAME... -> names in load order, dependencies first, each once
  local name deps
  for name in "$@"; do
    name=${name//-/_}
    case " $resolved " in *" $name "*) continue ;; esac
    plain_module "$name"
    deps=$(tr '\0' '\n' < "$root/modules/$name.ko" | grep -a '^depends=' | head -n 1 | cut -d= -f2 | tr ',' ' ')
    [ -z "$deps" ] || resolve $deps
    resolved="$resolved $name"
  done
}
for list in net nbd zram; do
  resolved=""
  var="modules_$list"
  resolve ${!var}
  echo $resolved | tr ' ' '\n' > "$root/modules/$list.list"
done
# module parameters, "NAME PARAMS" a line
printf '%s\n' "nbd nbds_max=1" "zram num_devices=1" > "$root/modules/params"

cp "$vmlinuz" "$work/vmlinuz"
(cd "$root" && find . | LC_ALL=C sort | "$busybox" cpio -o -H newc -R 0:0 2>/dev/null) | gzip -6 > "$work/initramfs.cpio.gz"
mv "$work/vmlinuz" "$out/vmlinuz"
mv "$work/initramfs.cpio.gz" "$out/initramfs.cpio.gz"
echo "$stamp" > "$out/stamp"
echo "zswapd-vm: built the guest in $out: kernel $(basename "$moddir") from $(basename "$deb"), initramfs $(du -k "$out/initramfs.cpio.gz" | cut -f1) KiB, modules: $(cat "$root"/modules/*.list | tr '\n' ' ')"
