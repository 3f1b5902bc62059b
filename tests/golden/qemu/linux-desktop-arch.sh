#!/usr/bin/env bash
# desktop_nvidia_debian12_x64_q35_uefi_2c4t: linux-desktop guest written by vfioctl, for plain QEMU (no libvirt).
# The same plan as the libvirt XML that `vfioctl new` writes:
#   4 vCPUs (2 cores x 2 threads) on host CPUs 1,5,2,6
#   emulator threads on CPUs 3,7, iothread on CPUs 3,7
#   8192 MiB on 4096 hugepages of 2 MiB
#   0000:01:00.0 -> guest 01:00.0
#   0000:01:00.1 -> guest 01:00.1
#
# Run it as root. It checks what QEMU needs, starts QEMU paused, pins its threads with
# `vfioctl pin` and lets the guest run in the background. Stop the guest with
#   kill "$(cat /run/vfioctl/qemu/desktop_nvidia_debian12_x64_q35_uefi_2c4t/qemu.pid)"
# Files:
#   /run/vfioctl/qemu/desktop_nvidia_debian12_x64_q35_uefi_2c4t/qmp.sock  QMP monitor
#   /run/vfioctl/qemu/desktop_nvidia_debian12_x64_q35_uefi_2c4t/qemu.pid  QEMU's PID
#   /run/vfioctl/qemu/desktop_nvidia_debian12_x64_q35_uefi_2c4t/serial.log  serial console
#   /var/lib/vfioctl/qemu/desktop_nvidia_debian12_x64_q35_uefi_2c4t/OVMF_VARS.fd  this guest's UEFI variables
set -euo pipefail

die() { echo 'desktop_nvidia_debian12_x64_q35_uefi_2c4t: '"$*" >&2; exit 1; }

# --- Runtime directory; refuse a second copy of this guest ---
run_dir=/run/vfioctl/qemu/desktop_nvidia_debian12_x64_q35_uefi_2c4t
pidfile=/run/vfioctl/qemu/desktop_nvidia_debian12_x64_q35_uefi_2c4t/qemu.pid
qmp=/run/vfioctl/qemu/desktop_nvidia_debian12_x64_q35_uefi_2c4t/qmp.sock
mkdir -p "$run_dir"
if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  die "already running (pid $(cat "$pidfile")); stop it with: kill $(cat "$pidfile")"
fi
rm -f "$pidfile" "$qmp"

# --- Programs ---
qemu=/usr/bin/qemu-system-x86_64
vfioctl=/usr/bin/vfioctl
command -v "$qemu" >/dev/null || die '/usr/bin/qemu-system-x86_64 is missing (pacman -S qemu-full)'
command -v "$vfioctl" >/dev/null || die "$vfioctl is missing: it pins the guest's threads"
[ -w /dev/kvm ] || die "/dev/kvm is missing or not writable: virtualization must be on ('vfioctl doctor')"

# --- Hugepages: 4096 pages of 2 MiB free, on a hugetlbfs with that page size ---
hugetlbfs=/dev/hugepages
hugepool=/sys/kernel/mm/hugepages/hugepages-2048kB
pages=4096
[ "$(stat -f -c %T "$hugetlbfs" 2>/dev/null || true)" = hugetlbfs ] ||
  die "no hugetlbfs at $hugetlbfs; mount one: mkdir -p $hugetlbfs && mount -t hugetlbfs -o pagesize=2M hugetlbfs $hugetlbfs"
[ "$(stat -f -c %S "$hugetlbfs")" = 2097152 ] ||
  die "the hugetlbfs at $hugetlbfs has pages of $(stat -f -c %S "$hugetlbfs") bytes, not 2 MiB: mount one with -o pagesize=2M"

# --- Passed devices: each function must already be bound to vfio-pci ---
# (libvirt's managed='yes' would detach them; this script leaves the host's bindings alone)
for dev in 0000:01:00.0 0000:01:00.1; do
  sys=/sys/bus/pci/devices/$dev
  [ -e "$sys" ] || die "$dev: no such PCI device"
  drv=none
  [ -e "$sys/driver" ] && drv=$(basename "$(readlink -f "$sys/driver")")
  [ "$drv" = vfio-pci ] || die "$dev is bound to $drv, not vfio-pci; hand it over with: echo vfio-pci > $sys/driver_override; [ -e $sys/driver ] && echo $dev > $sys/driver/unbind; echo $dev > /sys/bus/pci/drivers_probe"
done

# --- Disks and install media must exist ---
[ -e /var/lib/libvirt/images/debian12.img ] || die '/var/lib/libvirt/images/debian12.img is missing: create it with qemu-img'
[ -e /var/lib/libvirt/images/debian-12.8.0-amd64-netinst.iso ] || die '/var/lib/libvirt/images/debian-12.8.0-amd64-netinst.iso is missing: put the image there'
[ -e /dev/input/by-id/usb-Logitech_USB_Receiver-event-kbd ] || die '/dev/input/by-id/usb-Logitech_USB_Receiver-event-kbd is missing: is it plugged in? ('\''vfioctl evdev'\'')'
[ -e /dev/input/by-id/usb-Logitech_USB_Receiver-if02-event-mouse ] || die '/dev/input/by-id/usb-Logitech_USB_Receiver-if02-event-mouse is missing: is it plugged in? ('\''vfioctl evdev'\'')'

# --- UEFI: the firmware, and this guest's own variables (copied once from the template) ---
[ -r /usr/share/edk2/x64/OVMF_CODE.csm.4m.fd ] || die '/usr/share/edk2/x64/OVMF_CODE.csm.4m.fd is missing (pacman -S edk2-ovmf)'
if [ ! -e /var/lib/vfioctl/qemu/desktop_nvidia_debian12_x64_q35_uefi_2c4t/OVMF_VARS.fd ]; then
  [ -r /usr/share/edk2/x64/OVMF_VARS.4m.fd ] || die '/usr/share/edk2/x64/OVMF_VARS.4m.fd is missing (pacman -S edk2-ovmf)'
  mkdir -p /var/lib/vfioctl/qemu/desktop_nvidia_debian12_x64_q35_uefi_2c4t
  install -m 0600 /usr/share/edk2/x64/OVMF_VARS.4m.fd /var/lib/vfioctl/qemu/desktop_nvidia_debian12_x64_q35_uefi_2c4t/OVMF_VARS.fd
fi

# --- Privileges: QEMU opens its devices, memory and files as root, then runs as the user who
# called sudo (or VFIOCTL_QEMU_USER): -run-with user= on QEMU 9.1 and later, -runas before ---
run_as=${VFIOCTL_QEMU_USER:-${SUDO_USER:-}}
drop=()
if [ -n "$run_as" ] && [ "$run_as" != root ]; then
  id -u "$run_as" >/dev/null 2>&1 || die "no user $run_as to run QEMU as"
  read -r qemu_major qemu_minor < <("$qemu" --version | sed -n '1s/.*version \([0-9]*\)\.\([0-9]*\).*/\1 \2/p') || true
  if [ "${qemu_major:-0}" -gt 9 ] || { [ "${qemu_major:-0}" -eq 9 ] && [ "${qemu_minor:-0}" -ge 1 ]; }; then
    drop=(-run-with "user=$run_as")
  else
    drop=(-runas "$run_as")
  fi
fi

# --- QEMU ---
args=(
  # Identity: thread names like libvirt's ("CPU 0/KVM", "IO iothread1"); nothing QEMU
  # would add on its own; QMP for `vfioctl pin`; started paused (-S) until pinned
  -name guest=desktop_nvidia_debian12_x64_q35_uefi_2c4t,debug-threads=on
  -no-user-config
  -nodefaults
  -S
  -qmp unix:/run/vfioctl/qemu/desktop_nvidia_debian12_x64_q35_uefi_2c4t/qmp.sock,server=on,wait=off
  -daemonize
  -pidfile /run/vfioctl/qemu/desktop_nvidia_debian12_x64_q35_uefi_2c4t/qemu.pid

  # Machine: q35, SMM on, no VMware port, no HPET; S3 off with a passed device, S4 always off
  -machine q35,accel=kvm,smm=on,vmport=off,hpet=off,kernel-irqchip=on
  -global ICH9-LPC.disable_s3=1
  -global ICH9-LPC.disable_s4=1
  -uuid 00a5c9a0-0228-46a7-8d56-ec5085e28562

  # CPU: the host's own model and caches
  # Topology as pinned: 1 socket, 2 cores x 2 threads
  -cpu host,migratable=off,host-cache-info=on,l3-cache=off
  -smp 4,sockets=1,dies=1,cores=2,threads=2

  # Memory: 8192 MiB on 4096 hugepages of 2 MiB, preallocated; never merged (KSM); locked (never swapped)
  -m 8192M
  -object memory-backend-file,id=mem,size=8192M,mem-path=/dev/hugepages,prealloc=on,share=off
  -machine memory-backend=mem
  -machine mem-merge=off
  -overcommit mem-lock=on

  # Clock: UTC, the RTC catches up missed ticks, the PIT delays them
  -rtc base=utc,driftfix=slew
  -global kvm-pit.lost_tick_policy=delay

  # Firmware: OVMF (UEFI, no Secure Boot), read-only, and this
  # guest's own copy of the UEFI variables
  # From the firmware descriptor /usr/share/qemu/firmware/70-edk2-ovmf-x86_64-csm-4m.json
  -drive if=pflash,format=raw,unit=0,file=/usr/share/edk2/x64/OVMF_CODE.csm.4m.fd,readonly=on
  -drive if=pflash,format=raw,unit=1,file=/var/lib/vfioctl/qemu/desktop_nvidia_debian12_x64_q35_uefi_2c4t/OVMF_VARS.fd

  # I/O thread 1: disk I/O off the vCPUs and the main loop
  -object iothread,id=iothread1

  # Disks: the first disk boots first, then the installer; cache and I/O mode per backing
  # store (docs/spec.md, "Disk I/O"); virtio-scsi and virtio-blk on iothread1
  -device virtio-scsi-pci,id=scsi0,iothread=iothread1,num_queues=4
  -drive file=/var/lib/libvirt/images/debian12.img,if=none,format=raw,id=drive-scsi0-0-0-0,cache=none,aio=native,discard=unmap
  -device scsi-hd,bus=scsi0.0,channel=0,scsi-id=0,lun=0,drive=drive-scsi0-0-0-0,id=scsi0-0-0-0,bootindex=1
  -drive file=/var/lib/libvirt/images/debian-12.8.0-amd64-netinst.iso,if=none,format=raw,id=drive-sata0-0,media=cdrom,readonly=on
  -device ide-cd,bus=ide.0,drive=drive-sata0-0,id=sata0-0,bootindex=2

  # USB 3 controller
  -device qemu-xhci,id=usb
  -device usb-host,bus=usb.0,vendorid=0x046d,productid=0xc08b

  # PCIe root ports, one per passed host slot (rp1, rp2, ... like libvirt's indexes)
  -device pcie-root-port,id=rp1,chassis=1,bus=pcie.0

  # Network: virtio-net behind QEMU's own NAT (user networking): outgoing connections
  # work; libvirt's 'default' network is libvirt's, not available to plain QEMU
  -netdev user,id=hostnet0
  -device virtio-net-pci,netdev=hostnet0,id=net0

  # Passed host functions (vfio-pci): a device's functions share one guest slot
  -device vfio-pci,host=0000:01:00.0,id=hostdev0,bus=rp1,addr=00.0,multifunction=on
  -device vfio-pci,host=0000:01:00.1,id=hostdev1,bus=rp1,addr=00.1

  # Keyboard and mouse by evdev: Scroll Lock moves them between host and guest
  -object input-linux,id=kbd1,evdev=/dev/input/by-id/usb-Logitech_USB_Receiver-event-kbd,grab_all=on,repeat=on,grab-toggle=scrolllock
  -object input-linux,id=mouse1,evdev=/dev/input/by-id/usb-Logitech_USB_Receiver-if02-event-mouse

  # Guest agent channel (qemu-guest-agent in the guest)
  -chardev socket,id=qga0,path=/run/vfioctl/qemu/desktop_nvidia_debian12_x64_q35_uefi_2c4t/qga.sock,server=on,wait=off
  -device virtio-serial-pci,id=virtio-serial0
  -device virtserialport,bus=virtio-serial0.0,nr=1,chardev=qga0,name=org.qemu.guest_agent.0

  # Sound: Intel HDA to the user's PulseAudio socket (PipeWire serves it through pipewire-pulse)
  -audiodev pa,id=snd0,server=unix:/run/user/1000/pulse/native
  -device ich9-intel-hda,id=sound0
  -device hda-micro,audiodev=snd0

  # Looking Glass: 32 MiB shared with the host's client (/dev/shm/looking-glass)
  -object memory-backend-file,id=looking-glass,mem-path=/dev/shm/looking-glass,size=32M,share=on
  -device ivshmem-plain,memdev=looking-glass

  # Display: the passed GPU's own outputs; no emulated video
  -display none
  -spice unix=on,addr=/run/vfioctl/qemu/desktop_nvidia_debian12_x64_q35_uefi_2c4t/spice.sock,disable-ticketing=on
  -device virtio-keyboard-pci,id=input0
  -device virtio-mouse-pci,id=input1
  -chardev spicevmc,id=vdagent,name=vdagent
  -device virtserialport,bus=virtio-serial0.0,nr=2,chardev=vdagent,name=com.redhat.spice.0

  # Serial console to a file
  -chardev file,id=charserial0,path=/run/vfioctl/qemu/desktop_nvidia_debian12_x64_q35_uefi_2c4t/serial.log
  -device isa-serial,chardev=charserial0,id=serial0
)

# --- Tuning: what the libvirt hook does for a libvirt guest, through the same code and state
# (vfioctl tune; 'vfioctl hook status' shows it). This script, and the QEMU it starts, are put
# in a cgroup of the guest's own first, outside the host processes' confinement ---
"$vfioctl" tune start desktop_nvidia_debian12_x64_q35_uefi_2c4t --actions hugepages,isolate,governor,irq --cpus 1-2,5-6 --memory 8388608K --hugepages 2048K --pid $$ --apply
untune() { "$vfioctl" tune stop desktop_nvidia_debian12_x64_q35_uefi_2c4t --force --apply >&2 || true; }
trap untune EXIT  # until QEMU runs: a failed start gives it all back

# Returns once QEMU runs (paused) in the background, its QMP socket listening.
"$qemu" "${args[@]}" "${drop[@]}"
"$vfioctl" tune stop desktop_nvidia_debian12_x64_q35_uefi_2c4t --after "$(cat "$pidfile")" --log "$run_dir/tune.log" --apply
trap - EXIT

# --- Pinning: vCPU i to the i-th CPU, the iothread and every other thread to theirs; then run ---
if ! "$vfioctl" pin --qmp /run/vfioctl/qemu/desktop_nvidia_debian12_x64_q35_uefi_2c4t/qmp.sock --vcpus 1,5,2,6 --emulator 3,7 --iothread 3,7 --resume; then
  kill "$(cat "$pidfile")" 2>/dev/null || true
  die "pinning failed; QEMU stopped"
fi
echo 'desktop_nvidia_debian12_x64_q35_uefi_2c4t: running, pid '"$(cat "$pidfile")"'; serial console: /run/vfioctl/qemu/desktop_nvidia_debian12_x64_q35_uefi_2c4t/serial.log'
