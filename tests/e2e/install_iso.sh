#!/bin/sh
# Builds the installer ISO of the install test (install_test.cpp): GRUB for
# BIOS and UEFI (grub-mkrescue), the e2e guest kernel, and an initramfs made
# of env.sh's busybox initramfs plus a second archive whose /init loads the
# virtio block drivers and reports the guest's disks on the serial console:
#
#   VFIOCTL-INSTALL booted-from=cdrom
#   VFIOCTL-INSTALL block vda sectors=131072
#   VFIOCTL-INSTALL ready
#
# Usage (after `env.sh up`): install_iso.sh   -> prints the ISO's path.
# Cached in $VFIOCTL_E2E_CACHE/install/ per kernel release. Exit 77 when a
# tool or the kernel package is missing (the test skips, or fails under CI).
set -eu

state=${VFIOCTL_E2E_STATE:-/run/vfioctl-e2e}
cache=${VFIOCTL_E2E_CACHE:-/var/cache/vfioctl-e2e}
[ -r "$state/env" ] || { echo "install_iso: no $state/env: run tests/e2e/env.sh up first" >&2; exit 77; }
. "$state/env"
for tool in grub-mkrescue xorriso mformat busybox; do
  command -v "$tool" >/dev/null 2>&1 ||
    { echo "install_iso: $tool is missing (scripts/deps.sh: VFIOCTL_E2E_PACKAGES)" >&2; exit 77; }
done
[ -d /usr/lib/grub/x86_64-efi ] ||
  { echo "install_iso: grub-efi-amd64-bin is missing: the ISO would not boot under OVMF" >&2; exit 77; }

release=$(sed 's/^vmlinuz-//' "$(dirname "$VFIOCTL_E2E_KERNEL")/version")
dir="$cache/install/$release"
iso="$dir/installer.iso"
if [ -s "$iso" ] && [ "$iso" -nt "$0" ] && [ "$iso" -nt "$VFIOCTL_E2E_INITRD" ]; then
  echo "$iso"
  exit 0
fi
mkdir -p "$dir"

# The virtio block modules of this kernel, from its package (env.sh keeps only vmlinuz).
mods="$dir/modules"
if [ ! -s "$mods/virtio_blk.ko" ]; then
  tmp="$dir/deb.tmp"
  rm -rf "$tmp" && mkdir -p "$tmp"
  (cd "$tmp" && apt-get download -q "linux-image-$release" >"$dir/apt.log" 2>&1) ||
    { rm -rf "$tmp"; echo "install_iso: apt-get download linux-image-$release failed (see $dir/apt.log)" >&2; exit 77; }
  (cd "$tmp" && dpkg-deb --fsys-tarfile ./*.deb | tar -x "./lib/modules/$release/kernel/drivers/virtio" \
      "./lib/modules/$release/kernel/drivers/block/virtio_blk.ko")
  mkdir -p "$mods"
  for m in virtio virtio_ring virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci; do
    cp "$tmp/lib/modules/$release/kernel/drivers/virtio/$m.ko" "$mods/"
  done
  cp "$tmp/lib/modules/$release/kernel/drivers/block/virtio_blk.ko" "$mods/"
  rm -rf "$tmp"
fi

# The second archive: /init and the modules. The kernel unpacks both
# archives in order, so this /init replaces env.sh's; its busybox stays.
root="$dir/overlay"
rm -rf "$root" && mkdir -p "$root/lib/modules"
cp "$mods"/*.ko "$root/lib/modules/"
cat >"$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk; do
  insmod /lib/modules/$m.ko || echo "VFIOCTL-INSTALL insmod $m failed"
done
case " $(cat /proc/cmdline) " in
  *" vfioctl.from=cdrom "*) echo "VFIOCTL-INSTALL booted-from=cdrom" ;;
esac
i=0
while [ $i -lt 50 ] && [ -z "$(ls /sys/block | grep -v '^loop\|^ram')" ]; do sleep 0.1; i=$((i + 1)); done
for b in /sys/block/*; do
  n=${b##*/}
  case $n in loop*|ram*) continue ;; esac
  echo "VFIOCTL-INSTALL block $n sectors=$(cat "$b/size")"
done
echo "VFIOCTL-INSTALL ready"
while :; do sleep 3600; done
EOF
chmod 0755 "$root/init"

tree="$dir/tree"
rm -rf "$tree" && mkdir -p "$tree/boot/grub"
cp "$VFIOCTL_E2E_KERNEL" "$tree/boot/vmlinuz"
{ cat "$VFIOCTL_E2E_INITRD"; (cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -9); } >"$tree/boot/initrd.img"
cat >"$tree/boot/grub/grub.cfg" <<'EOF'
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=0
menuentry "vfioctl e2e installer" {
  linux /boot/vmlinuz console=ttyS0 loglevel=4 vfioctl.from=cdrom
  initrd /boot/initrd.img
}
EOF
grub-mkrescue -o "$iso.new" "$tree" >"$dir/grub-mkrescue.log" 2>&1 ||
  { cat "$dir/grub-mkrescue.log" >&2; exit 1; }
mv "$iso.new" "$iso"
rm -rf "$tree" "$root"
echo "$iso"
