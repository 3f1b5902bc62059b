# Sourced by scripts/run and scripts/test: installs the Debian packages
# vfioctl needs when any is missing. Usage: install_deps build|test|bench|e2e
set -eu

VFIOCTL_BUILD_PACKAGES="g++ cmake pkg-config libcli11-dev libpugixml-dev libtomlplusplus-dev
  nlohmann-json3-dev libfmt-dev libpci-dev libxml2-dev pci.ids libvirt-dev tar gzip"
# Tests also need the topology oracle, lspci, GoogleTest, the benchmark library
# clang with libFuzzer's runtime (the fuzzers, tests/fuzz/) and clang-format (style_check_format).
VFIOCTL_TEST_PACKAGES="kmod libgtest-dev libgmock-dev googletest libbenchmark-dev hwloc pciutils clang qemu-utils libxml2-utils
  libclang-rt-14-dev clang-format"
# bench/lint-run compares lint with xmllint and virt-xml-validate.
VFIOCTL_BENCH_PACKAGES="libxml2-utils libvirt-clients"
# End-to-end tests (tests/e2e/env.sh) define and start real TCG guests under libvirtd.
# install_test boots an ISO it builds with grub-mkrescue (xorriso, mtools, GRUB for UEFI and BIOS)
# under OVMF.
VFIOCTL_E2E_PACKAGES="qemu-system-x86 qemu-utils libvirt-daemon-system libvirt-clients busybox-static
  libxml2-utils ovmf xorriso mtools grub-common grub-efi-amd64-bin grub-pc-bin"

install_deps() {
  local want="$VFIOCTL_BUILD_PACKAGES"
  if [ "${1:-build}" != build ]; then want="$want $VFIOCTL_TEST_PACKAGES"; fi
  if [ "${1:-build}" = test ]; then want="$want $VFIOCTL_E2E_PACKAGES"; fi
  if [ "${1:-build}" = bench ]; then want="$want $VFIOCTL_BENCH_PACKAGES"; fi
  if [ "${1:-build}" = e2e ]; then want="$VFIOCTL_E2E_PACKAGES"; fi
  local missing=""
  for p in $want; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
      missing="$missing $p"
    fi
  done
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "vfioctl: missing packages:$missing; install them as root: apt-get install$missing" >&2
    exit 3
  fi
  echo "vfioctl: installing$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q --no-install-recommends $missing >/tmp/vfioctl-apt.log 2>&1; then
    apt-get update -q >>/tmp/vfioctl-apt.log 2>&1
    apt-get install -y -q --no-install-recommends $missing >>/tmp/vfioctl-apt.log 2>&1 || {
      echo "vfioctl: apt-get install failed; see /tmp/vfioctl-apt.log" >&2
      tail -5 /tmp/vfioctl-apt.log >&2
      exit 3
    }
  fi
}
