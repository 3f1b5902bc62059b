#!/usr/bin/env bash
# End-to-end environment: libvirtd + QEMU (TCG) on this host, hugepages, and a
# test-guest kernel and busybox initramfs. See tests/e2e/README.md.
#
#   tests/e2e/env.sh up       install what is missing, mount hugetlbfs, reserve
#                             hugepages, start virtlogd and libvirtd (idempotent)
#   tests/e2e/env.sh down     destroy leftover vfioctl-e2e-* guests, stop only the
#                             daemons `up` started, undo its hugepage reservation
#                             and its hugetlbfs mount
#   tests/e2e/env.sh status   what is up; exit 0 when ready for guests
#   tests/e2e/env.sh restart-libvirtd
#                             restart the libvirtd `up` started (it looks for
#                             hooks only when it starts)
#
# Sourced (`. tests/e2e/env.sh`), it defines `vfioctl_e2e up|down|status`; after
# `up` the VFIOCTL_E2E_* variables below are set in the calling shell.
#
# After `up`, $VFIOCTL_E2E_STATE/env holds (shell syntax, one per line):
#   VFIOCTL_E2E_URI      qemu:///system
#   VFIOCTL_E2E_KERNEL   guest kernel (Debian cloud kernel, cached)
#   VFIOCTL_E2E_INITRD   busybox initramfs whose /init prints, on the serial console,
#                          VFIOCTL-GUEST cpus=N threads_per_core=T cores=C sockets=S
#                          VFIOCTL-GUEST mem_kib=K
#                          VFIOCTL-GUEST ready
#                        then sleeps (or powers off with vfioctl.after=poweroff on
#                        the kernel command line)
#   VFIOCTL_E2E_STATE    runtime state directory (guests may use $STATE/guests/NAME)
#   VFIOCTL_E2E_HUGEPAGE_KIB  2048
#
# A missing prerequisite (not root, a package that cannot be installed, no
# hugepages) exits 77 ("skipped") with the reason, or 1 when CI=true.
#
# Settings (environment):
#   VFIOCTL_E2E_STATE      default /run/vfioctl-e2e
#   VFIOCTL_E2E_CACHE      default /var/cache/vfioctl-e2e (kernel, initramfs)
#   VFIOCTL_E2E_HUGEPAGES  2 MiB pages that must be free after `up` (default 128)

_e2e_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
: "${VFIOCTL_E2E_STATE:=/run/vfioctl-e2e}"
: "${VFIOCTL_E2E_CACHE:=/var/cache/vfioctl-e2e}"
: "${VFIOCTL_E2E_HUGEPAGES:=128}"
VFIOCTL_E2E_URI=qemu:///system
VFIOCTL_E2E_HUGEPAGE_KIB=2048

_e2e_say() { echo "vfioctl-e2e: $*" >&2; }

# A prerequisite is missing: a failure under CI, a skip (77) elsewhere.
_e2e_missing() {
  if [ "${CI:-}" = true ]; then
    _e2e_say "error: $* (CI=true: a missing prerequisite is a failure)"
    return 1
  fi
  _e2e_say "skipped: $*"
  return 77
}

# The PID in a daemon's pid file when that process is alive and is that daemon.
_e2e_running() {  # NAME PIDFILE
  local pid
  pid=$(cat "$2" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ] || return 1
  echo "$pid"
}

_e2e_meminfo() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }

_e2e_hugetlbfs_mounted() { awk '$3 == "hugetlbfs" { found = 1 } END { exit !found }' /proc/mounts; }

_e2e_virsh() { virsh -q -c "$VFIOCTL_E2E_URI" "$@"; }

# --- packages ---------------------------------------------------------------

_e2e_packages() {
  local bins="qemu-system-x86_64 virsh virt-xml-validate busybox apt-get"
  local b missing=""
  # install_deps only checks (dpkg-query) when everything is there.
  ( . "$_e2e_top/scripts/deps.sh" && install_deps e2e ) ||
    { _e2e_missing "could not install the e2e packages (scripts/deps.sh: VFIOCTL_E2E_PACKAGES)"; return; }
  for b in $bins; do command -v "$b" >/dev/null 2>&1 || missing="$missing $b"; done
  [ -x /usr/sbin/libvirtd ] || missing="$missing libvirtd"
  [ -x /usr/sbin/virtlogd ] || missing="$missing virtlogd"
  [ -z "$missing" ] || { _e2e_missing "missing after installing the e2e packages:$missing"; return; }
  busybox --list 2>/dev/null | grep -qx cpio ||
    { _e2e_missing "busybox has no cpio applet (busybox-static is needed)"; return; }
}

# --- guest kernel -----------------------------------------------------------

# The Debian cloud kernel, unpacked from its package (not installed: /boot and
# the host's boot configuration stay untouched).
_e2e_kernel() {
  local dir="$VFIOCTL_E2E_CACHE/kernel"
  if [ -s "$dir/vmlinuz" ]; then return 0; fi
  local pkg
  pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }')
  if [ -z "$pkg" ]; then
    apt-get update -q >"$VFIOCTL_E2E_CACHE/apt.log" 2>&1
    pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }')
  fi
  [ -n "$pkg" ] || { _e2e_missing "no linux-image-cloud-amd64 package known to apt (apt-get update?)"; return; }
  local tmp="$VFIOCTL_E2E_CACHE/kernel.tmp"
  rm -rf "$tmp" && mkdir -p "$tmp" || return 1
  _e2e_say "fetching the guest kernel ($pkg)"
  if ! (cd "$tmp" && apt-get download -q "$pkg" >>"$VFIOCTL_E2E_CACHE/apt.log" 2>&1); then
    rm -rf "$tmp"
    _e2e_missing "apt-get download $pkg failed (see $VFIOCTL_E2E_CACHE/apt.log)"
    return
  fi
  (cd "$tmp" && dpkg-deb --fsys-tarfile ./*.deb | tar -x ./boot) || { rm -rf "$tmp"; return 1; }
  local img
  img=$(ls "$tmp"/boot/vmlinuz-* 2>/dev/null | head -1)
  [ -n "$img" ] || { rm -rf "$tmp"; _e2e_missing "$pkg holds no /boot/vmlinuz-*"; return; }
  mkdir -p "$dir" && install -m 0644 "$img" "$dir/vmlinuz.new" && mv "$dir/vmlinuz.new" "$dir/vmlinuz" &&
    basename "$img" >"$dir/version" || return 1
  rm -rf "$tmp"
}

# --- guest initramfs --------------------------------------------------------

_e2e_init_script() {
  cat <<'EOF'
#!/bin/busybox sh
# PID 1 of the vfioctl e2e test guests (built by tests/e2e/env.sh).
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
cpus=0 threads=0
for c in /sys/devices/system/cpu/cpu[0-9]*; do
  [ -r "$c/topology/thread_siblings_list" ] || continue
  cpus=$((cpus + 1))
  n=0
  for r in $(tr , ' ' <"$c/topology/thread_siblings_list"); do
    case $r in
      *-*) n=$((n + ${r#*-} - ${r%-*} + 1)) ;;
      *) n=$((n + 1)) ;;
    esac
  done
  [ "$n" -gt "$threads" ] && threads=$n
  echo "$(cat "$c/topology/physical_package_id") $(cat "$c/topology/core_id")" >>/tmp/cores
done
cores=$(sort -u /tmp/cores | wc -l)
sockets=$(cut -d' ' -f1 /tmp/cores | sort -u | wc -l)
echo "VFIOCTL-GUEST cpus=$cpus threads_per_core=$threads cores=$cores sockets=$sockets"
echo "VFIOCTL-GUEST mem_kib=$(awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo)"
echo "VFIOCTL-GUEST ready"
case " $(cat /proc/cmdline) " in
  *" vfioctl.after=poweroff "*) poweroff -f ;;
esac
while :; do sleep 3600; done
EOF
}

# Built once per (init script, busybox) and cached.
_e2e_initrd() {
  local bb key out
  bb=$(command -v busybox)
  key=$({ _e2e_init_script; sha256sum <"$bb"; } | sha256sum | cut -c1-16)
  out="$VFIOCTL_E2E_CACHE/initramfs-$key.cpio.gz"
  _E2E_INITRD=$out
  [ -s "$out" ] && return 0
  local tmp="$VFIOCTL_E2E_CACHE/initramfs.tmp"
  rm -rf "$tmp" && mkdir -p "$tmp/bin" "$tmp/proc" "$tmp/sys" "$tmp/dev" "$tmp/tmp" || return 1
  cp "$bb" "$tmp/bin/busybox" && _e2e_init_script >"$tmp/init" && chmod 0755 "$tmp/init" || return 1
  (cd "$tmp" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -9 >"$out.new") || { rm -rf "$tmp"; return 1; }
  chmod 0644 "$out.new" && mv "$out.new" "$out" || return 1
  rm -rf "$tmp"
  find "$VFIOCTL_E2E_CACHE" -maxdepth 1 -name 'initramfs-*.cpio.gz' ! -path "$out" -delete
}

# --- hugepages ----------------------------------------------------------------

_e2e_hugepages() {
  local s="$VFIOCTL_E2E_STATE"
  if [ ! -w /proc/sys/vm/nr_hugepages ] || [ "$(_e2e_meminfo Hugepagesize)" != "$VFIOCTL_E2E_HUGEPAGE_KIB" ]; then
    _e2e_missing "this kernel has no writable 2 MiB hugepage pool (/proc/sys/vm/nr_hugepages)"
    return
  fi
  # libvirtd looks for hugetlbfs mounts when it starts: mount first.
  if ! _e2e_hugetlbfs_mounted; then
    if [ ! -d /dev/hugepages ]; then
      mkdir /dev/hugepages && echo /dev/hugepages >"$s/hugetlbfs.created" || return 1
    fi
    mount -t hugetlbfs hugetlbfs /dev/hugepages ||
      { _e2e_missing "cannot mount hugetlbfs on /dev/hugepages"; return; }
    echo /dev/hugepages >"$s/hugetlbfs.mounted"
    local pid
    if pid=$(_e2e_running libvirtd /run/libvirtd.pid); then
      _e2e_missing "libvirtd (pid $pid, not started by env.sh) started before hugetlbfs was mounted; stop it and run env.sh up again"
      return
    fi
  fi
  local free want total now added
  free=$(_e2e_meminfo HugePages_Free)
  want=$VFIOCTL_E2E_HUGEPAGES
  if [ "$free" -lt "$want" ]; then
    total=$(cat /proc/sys/vm/nr_hugepages)
    echo $((total + want - free)) >/proc/sys/vm/nr_hugepages ||
      { _e2e_missing "cannot write /proc/sys/vm/nr_hugepages"; return; }
    now=$(cat /proc/sys/vm/nr_hugepages)
    added=$(cat "$s/hugepages.added" 2>/dev/null || echo 0)
    echo $((added + now - total)) >"$s/hugepages.added"
    free=$(_e2e_meminfo HugePages_Free)
    [ "$free" -ge "$want" ] ||
      { _e2e_missing "only $free of $want 2 MiB hugepages could be reserved"; return; }
  fi
}

# --- /dev/kvm -----------------------------------------------------------------

# Without udev, /dev/kvm keeps the kernel's mode, 0600 root:root. libvirt
# probes QEMU's capabilities as root, so the probe finds KVM; then it checks
# whether its QEMU user (group kvm) may open /dev/kvm, finds that it may not,
# and throws the cached capabilities away: every define and start probes QEMU
# again (about 30 s each on the 2-CPU machine). Give the device udev's group
# and mode (root:kvm 0660) and put back what was there on `down`.
_e2e_kvm_device() {
  local s="$VFIOCTL_E2E_STATE" dev=/dev/kvm now
  [ -c "$dev" ] && getent group kvm >/dev/null || return 0
  [ -f "$s/kvm.mode" ] && return 0
  now=$(stat -c '%a %U:%G' "$dev") || return 1
  [ "$now" = "660 root:kvm" ] && return 0
  echo "$now" >"$s/kvm.mode" || return 1
  chown root:kvm "$dev" && chmod 0660 "$dev" ||
    { _e2e_say "error: cannot give $dev the group kvm and mode 0660 (it is $now)"; return 1; }
}

_e2e_kvm_device_restore() {
  local s="$VFIOCTL_E2E_STATE" mode owner
  [ -f "$s/kvm.mode" ] || return 0
  read -r mode owner <"$s/kvm.mode"
  [ -c /dev/kvm ] && chown "$owner" /dev/kvm && chmod "$mode" /dev/kvm
  rm -f "$s/kvm.mode"
}

# --- daemons ------------------------------------------------------------------

_e2e_daemon() {  # NAME: start /usr/sbin/NAME -d unless it runs; record its PID
  local name=$1 pidfile=/run/$1.pid pid
  if pid=$(_e2e_running "$name" "$pidfile"); then return 0; fi
  # Daemons must inherit no descriptor beyond 0-2: not our lock (fd 9), not
  # a caller's lock (flock CMD passes its own), not a caller's pipes.
  (
    for fd in /proc/self/fd/*; do
      fd=${fd##*/}
      if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    LIBVIRT_LOG_OUTPUTS="3:file:$VFIOCTL_E2E_STATE/$name.log" \
      exec "/usr/sbin/$name" -d </dev/null >>"$VFIOCTL_E2E_STATE/$name.log" 2>&1
  ) ||
    { _e2e_say "error: /usr/sbin/$name -d failed (see $VFIOCTL_E2E_STATE/$name.log)"; return 1; }
  for _ in $(seq 100); do
    if pid=$(_e2e_running "$name" "$pidfile"); then
      echo "$pid" >"$VFIOCTL_E2E_STATE/$name.pid"
      return 0
    fi
    sleep 0.1
  done
  _e2e_say "error: $name did not write $pidfile"
  return 1
}

_e2e_wait_libvirtd() {
  for _ in $(seq 300); do
    _e2e_virsh version >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  _e2e_say "error: libvirtd does not answer on $VFIOCTL_E2E_URI (see $VFIOCTL_E2E_STATE/libvirtd.log)"
  return 1
}

# --- subcommands --------------------------------------------------------------

_e2e_up() {
  _e2e_packages || return
  mkdir -p "$VFIOCTL_E2E_CACHE" && chmod 0755 "$VFIOCTL_E2E_CACHE" || return 1
  _e2e_kernel || return
  _e2e_initrd || return
  _e2e_hugepages || return
  _e2e_kvm_device || return
  _e2e_daemon virtlogd || return
  _e2e_daemon libvirtd || return
  _e2e_wait_libvirtd || return
  mkdir -p "$VFIOCTL_E2E_STATE/guests" && chmod 0755 "$VFIOCTL_E2E_STATE" "$VFIOCTL_E2E_STATE/guests" || return 1
  cat >"$VFIOCTL_E2E_STATE/env" <<EOF
VFIOCTL_E2E_URI=$VFIOCTL_E2E_URI
VFIOCTL_E2E_KERNEL=$VFIOCTL_E2E_CACHE/kernel/vmlinuz
VFIOCTL_E2E_INITRD=$_E2E_INITRD
VFIOCTL_E2E_STATE=$VFIOCTL_E2E_STATE
VFIOCTL_E2E_HUGEPAGE_KIB=$VFIOCTL_E2E_HUGEPAGE_KIB
EOF
}

_e2e_stop() {  # NAME: end the daemon `up` started, by its recorded PID
  local name=$1 rec="$VFIOCTL_E2E_STATE/$1.pid" pid
  [ -f "$rec" ] || return 0
  pid=$(cat "$rec")
  if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ]; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 100); do
      [ -d "/proc/$pid" ] || break
      sleep 0.1
    done
    if [ -d "/proc/$pid" ]; then
      _e2e_say "$name (pid $pid) ignored SIGTERM; killing it"
      kill -KILL "$pid" 2>/dev/null
      sleep 0.2
    fi
  fi
  rm -f "$rec"
}

_e2e_restart_libvirtd() {
  local pid
  pid=$(_e2e_running libvirtd /run/libvirtd.pid) || { _e2e_say "error: libvirtd is not running (env.sh up first)"; return 1; }
  if [ "$(cat "$VFIOCTL_E2E_STATE/libvirtd.pid" 2>/dev/null)" != "$pid" ]; then
    _e2e_missing "libvirtd (pid $pid) was not started by env.sh: restart it yourself"
    return
  fi
  _e2e_stop libvirtd
  _e2e_daemon libvirtd || return
  _e2e_wait_libvirtd
}

_e2e_down() {
  local s="$VFIOCTL_E2E_STATE" d pid
  if _e2e_running libvirtd /run/libvirtd.pid >/dev/null; then
    for d in $(_e2e_virsh list --all --name 2>/dev/null | grep '^vfioctl-e2e-'); do
      _e2e_virsh destroy "$d" >/dev/null 2>&1
      _e2e_virsh undefine "$d" --nvram >/dev/null 2>&1 || _e2e_virsh undefine "$d" >/dev/null 2>&1
      _e2e_say "removed leftover guest $d"
    done
  fi
  _e2e_stop libvirtd
  _e2e_stop virtlogd
  if [ -f "$s/hugepages.added" ]; then
    local added total
    added=$(cat "$s/hugepages.added")
    total=$(cat /proc/sys/vm/nr_hugepages)
    [ "$added" -gt "$total" ] && added=$total
    echo $((total - added)) >/proc/sys/vm/nr_hugepages && rm -f "$s/hugepages.added"
  fi
  if [ -f "$s/hugetlbfs.mounted" ]; then
    if pid=$(_e2e_running libvirtd /run/libvirtd.pid); then
      _e2e_say "keeping the hugetlbfs mount: libvirtd (pid $pid, not started by env.sh) runs"
    elif umount "$(cat "$s/hugetlbfs.mounted")"; then
      rm -f "$s/hugetlbfs.mounted"
      if [ -f "$s/hugetlbfs.created" ]; then
        rmdir "$(cat "$s/hugetlbfs.created")" 2>/dev/null
        rm -f "$s/hugetlbfs.created"
      fi
    fi
  fi
  _e2e_kvm_device_restore
  rm -rf "$s/guests" "$s/env"
  return 0
}

_e2e_status() {
  local s="$VFIOCTL_E2E_STATE" ok=0 name pid
  for name in virtlogd libvirtd; do
    if pid=$(_e2e_running "$name" "/run/$name.pid"); then
      if [ "$(cat "$s/$name.pid" 2>/dev/null)" = "$pid" ]; then
        echo "$name: running, pid $pid (started by env.sh)"
      else
        echo "$name: running, pid $pid (not started by env.sh)"
      fi
    else
      echo "$name: not running"; ok=1
    fi
  done
  if _e2e_hugetlbfs_mounted; then
    echo "hugetlbfs: $(awk '$3 == "hugetlbfs" { printf "%s ", $2 }' /proc/mounts)$([ -f "$s/hugetlbfs.mounted" ] && echo "(mounted by env.sh)")"
  else
    echo "hugetlbfs: not mounted"; ok=1
  fi
  echo "hugepages: $(cat /proc/sys/vm/nr_hugepages) reserved, $(_e2e_meminfo HugePages_Free) free, $(cat "$s/hugepages.added" 2>/dev/null || echo 0) added by env.sh"
  if [ -c /dev/kvm ]; then
    echo "/dev/kvm: $(stat -c '%a %U:%G' /dev/kvm)$([ -f "$s/kvm.mode" ] && echo " (set by env.sh; was $(cat "$s/kvm.mode"))")"
  fi
  if [ -f "$s/env" ]; then cat "$s/env"; else echo "env: none (run env.sh up)"; ok=1; fi
  return $ok
}

vfioctl_e2e() {
  local cmd=${1:-}
  case "$cmd" in
    up | down | restart-libvirtd)
      if [ "$(id -u)" != 0 ]; then
        _e2e_missing "must run as root (installs packages, mounts hugetlbfs, starts libvirtd)"
        return
      fi
      mkdir -p "$VFIOCTL_E2E_STATE" || return 1
      local rc=0
      ( flock 9 && "_e2e_${cmd//-/_}" ) 9>"$VFIOCTL_E2E_STATE/lock" || rc=$?
      if [ "$cmd" = up ] && [ "$rc" = 0 ]; then
        set -a
        . "$VFIOCTL_E2E_STATE/env"
        set +a
      fi
      return $rc
      ;;
    status) _e2e_status ;;
    *)
      echo "usage: env.sh up|down|status|restart-libvirtd" >&2
      return 2
      ;;
  esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  vfioctl_e2e "$@"
  exit
fi
