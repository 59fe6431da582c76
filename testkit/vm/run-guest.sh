#!/usr/bin/env bash
# Boots the guest that build-initramfs.sh made, under QEMU, its serial console on stdout.
#
#   testkit/vm/run-guest.sh IMAGE_DIR MODE MIB [PORT] [EXPORT]
#
# MODE: nbd (swap to the NBD server on the host's 127.0.0.1:PORT, which the guest reaches as
# 10.0.2.2 through QEMU's user network), zram (swap to zram with lz4 inside the guest), probe
# (boot, print the END line, power off). MIB is swaptest's working set.
#
# Environment: ZSWAPD_VM_MEM (guest RAM, 160M), ZSWAPD_VM_ACCEL (auto, kvm or tcg). With auto,
# KVM is used only if a probe boot under it reaches init's END line within
# ZSWAPD_VM_KVM_PROBE_S (20) seconds: /dev/kvm may exist where a 64-bit guest hangs under it
# (nested virtualization). The first line says which accelerator runs the guest, and why.
#
# The guest gets no default route: it reaches QEMU's 10.0.2.0/24 only and uses 10.0.2.2 alone.
# Exit status: QEMU's (0 after the guest powers off); 77 with a "zswapd-vm: missing:" line when
# QEMU is not installed.
set -euo pipefail

image=${1:?usage: run-guest.sh IMAGE_DIR MODE MIB [PORT] [EXPORT]}
mode=${2:?mode: nbd, zram or probe}
mib=${3:?MIB: the working set}
port=${4:-10809}
export_name=${5:-swap0}
mem=${ZSWAPD_VM_MEM:-160M}
accel=${ZSWAPD_VM_ACCEL:-auto}
probe_s=${ZSWAPD_VM_KVM_PROBE_S:-20}

qemu=$(command -v qemu-system-x86_64 || true)
if [ -z "$qemu" ]; then
  echo "zswapd-vm: missing: qemu-system-x86: qemu-system-x86_64; get it with: apt-get install qemu-system-x86" >&2
  exit 77
fi

qemu_cmd() { # ACCEL MODE -> the QEMU command line in "cmd"
  local cpu=max
  [ "$1" = kvm ] && cpu=host
  cmd=("$qemu" -accel "$1" -cpu "$cpu" -m "$mem" -smp 1 \
    -nodefaults -no-user-config -display none -serial stdio -no-reboot \
    -kernel "$image/vmlinuz" -initrd "$image/initramfs.cpio.gz" \
    -append "console=ttyS0 panic=-1 loglevel=4 nowatchdog zswap.enabled=0 zvm.mode=$2 zvm.port=$port zvm.export=$export_name zvm.mib=$mib" \
    -netdev user,id=n0 -device e1000,netdev=n0)
}

why=""
if [ "$accel" = auto ]; then
  accel=tcg
  if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
    probe_log=$(mktemp)
    qemu_cmd kvm probe
    # in a subshell whose stderr is dropped: where QEMU aborts under KVM instead of hanging,
    # bash's "Aborted" job line would otherwise come before the accelerator line below
    ( timeout -k 5 "$probe_s" "${cmd[@]}" </dev/null >"$probe_log" 2>&1 || true ) 2>/dev/null
    if grep -q 'ZSWAPD-VM: END status=probe' "$probe_log"; then
      accel=kvm
      why="a probe boot under KVM reached init"
    else
      why="/dev/kvm is there, but a probe boot under it did not reach init in ${probe_s} s"
    fi
    rm -f "$probe_log"
  else
    why="no usable /dev/kvm"
  fi
else
  why="ZSWAPD_VM_ACCEL=$accel"
fi
echo "zswapd-vm: accelerator $accel ($why); guest RAM $mem, mode $mode, working set $mib MiB"
qemu_cmd "$accel" "$mode"
exec "${cmd[@]}" </dev/null
