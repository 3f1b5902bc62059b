// The plain-QEMU launch script: exact lines for plans built from fixture
// hosts (-smp, memory backend, vfio-pci with bus and address, the pin
// command), the same plan as the libvirt XML for every example on the four
// golden hosts, and valid bash (bash -n) for all of them.
#include "vfioctl/guest/qemu_script.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <pugixml.hpp>
#include <sstream>

#include "temp_tree.h"
#include "vfioctl/guest/libvirt_xml.h"
#include "vfioctl/guest/spec.h"
#include "vfioctl/host/host.h"
#include "vfioctl/host/input.h"
#include "vfioctl/host/root.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/strings.h"

namespace vfioctl {
namespace {

namespace fs = std::filesystem;

const std::string kSource = VFIOCTL_SOURCE_DIR;
const std::vector<std::string> kGoldenHosts = {"amd-laptop-5800h", "intel-desktop-z370", "intel-hybrid-13700k",
                                               "two-identical-gpus", "rtx3090ti-rebar"};
const std::vector<std::string> kExamples = {"linux-desktop",       "linux-server",   "windows-gaming",
                                            "windows-workstation", "legacy-windows", "linux-nested"};

GuestPlan plan_on(const std::string& host_name, const GuestSpec& spec) {
  Root root(kSource + "/tests/hosts/" + host_name);
  Host host = read_host(root);
  Notes notes;
  return plan_guest(host, spec, read_input_devices(root, notes));
}

GuestPlan example_on(const std::string& host_name, const std::string& example) {
  return plan_on(host_name, load_guest_spec(kSource + "/examples/" + example + ".toml"));
}

GuestPlan spec_on(const std::string& host_name, const std::string& toml) {
  return plan_on(host_name, parse_guest_spec(toml, "test.toml"));
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

bool has_line(const std::string& script, const std::string& line) {
  for (const auto& l : lines_of(script)) {
    if (l == line) return true;
  }
  return false;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Lines that start with a prefix, e.g. every "  -device vfio-pci,".
std::vector<std::string> lines_starting(const std::string& script, const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& l : lines_of(script)) {
    if (starts_with(l, prefix)) out.push_back(l);
  }
  return out;
}

// bash -n: the script parses. Returns bash's complaints, "" when fine.
std::string bash_syntax_errors(const std::string& script) {
  static int n = 0;
  fs::path file = fs::temp_directory_path() /
                  ("vfioctl-qemu-script-" + std::to_string(::getpid()) + "-" + std::to_string(n++) + ".sh");
  fs::path err = file.string() + ".err";
  std::ofstream(file) << script;
  int rc = std::system(("bash -n '" + file.string() + "' 2>'" + err.string() + "'").c_str());
  std::ifstream e(err);
  std::stringstream ss;
  ss << e.rdbuf();
  fs::remove(file);
  fs::remove(err);
  return rc == 0 ? "" : "bash -n failed: " + ss.str();
}

// Windows 11 for games on the Ryzen 7 5800H laptop: 6 cores x 2 threads on
// CPUs 2-13, 16 GiB on 1 GiB pages (asked for: the laptop has none
// reserved, so "auto" would take 2 MiB pages), the GPU's two functions on rp1.
TEST(QemuScript, WindowsGamingOnTheLaptop) {
  GuestSpec spec = load_guest_spec(kSource + "/examples/windows-gaming.toml");
  spec.hugepage_kib = 1048576;
  GuestPlan plan = plan_on("amd-laptop-5800h", spec);
  std::string s = qemu_script(plan);
  EXPECT_TRUE(starts_with(s, "#!/usr/bin/env bash\n"));
  EXPECT_TRUE(has_line(s, "set -euo pipefail"));
  EXPECT_TRUE(has_line(s, "  -name guest=win11-gaming,debug-threads=on"));
  EXPECT_TRUE(has_line(s, "  -machine q35,accel=kvm,smm=on,vmport=off,hpet=off,kernel-irqchip=on"));
  EXPECT_TRUE(has_line(s, "  -smp 12,sockets=1,dies=1,cores=6,threads=2"));
  EXPECT_TRUE(has_line(s, "  -m 16384M"));
  EXPECT_TRUE(
      has_line(s, "  -object memory-backend-file,id=mem,size=16384M,mem-path=/dev/hugepages1G,prealloc=on,share=off"));
  EXPECT_TRUE(has_line(s, "  -machine memory-backend=mem"));
  EXPECT_TRUE(has_line(s, "  -machine mem-merge=off"));
  EXPECT_TRUE(has_line(s, "  -overcommit mem-lock=on"));
  // 1 GiB pages: the mount must have that page size, and the pool the pages.
  EXPECT_TRUE(has_line(s, "hugetlbfs=/dev/hugepages1G"));
  EXPECT_TRUE(has_line(s, "hugepool=/sys/kernel/mm/hugepages/hugepages-1048576kB"));
  EXPECT_TRUE(has_line(s, "pages=16"));
  EXPECT_TRUE(has_line(s, "[ \"$(stat -f -c %S \"$hugetlbfs\")\" = 1073741824 ] ||"));
  EXPECT_TRUE(has(s,
                  "mount -t hugetlbfs -o pagesize=1G hugetlbfs $hugetlbfs (to keep it: the /etc/fstab line "
                  "'hugetlbfs1g /dev/hugepages1G hugetlbfs pagesize=1G 0 0'"));
  // The pool's shortfall is `vfioctl tune`'s, as the hook's for libvirt:
  // it reserves what it can, or stops with the boot arguments.
  EXPECT_TRUE(has(s, "\"$vfioctl\" tune start win11-gaming --actions hugepages,isolate,governor,irq --cpus "));
  EXPECT_TRUE(has(s, " --memory 16777216K --hugepages 1048576K --pid $$ --apply\n"));
  EXPECT_FALSE(has(s, "reserve them at boot"));
  // Without the hugepages action the script checks the pool itself, and
  // names the boot arguments setup writes (hugepage_boot()), not a different set.
  GuestPlan untuned = plan;
  untuned.spec.tune_actions = std::vector<std::string>{"isolate"};
  std::string u = qemu_script(untuned);
  EXPECT_TRUE(has(u, "reserve them at boot (kernel arguments hugepagesz=1G hugepages=16, then reboot"));
  EXPECT_TRUE(has(u, "\"$vfioctl\" tune start win11-gaming --actions isolate --cpus "));
  EXPECT_FALSE(has(u, "default_hugepagesz"));
  // OpenRC: vfioctl's mount point, as setup's fstab line has it.
  QemuOptions openrc;
  openrc.openrc = true;
  EXPECT_TRUE(has_line(qemu_script(plan, openrc), "hugetlbfs=/var/lib/vfioctl/hugepages1G"));
  // AMD: topoext; Windows: Hyper-V enlightenments, local time.
  auto cpu = lines_starting(s, "  -cpu ");
  ASSERT_EQ(cpu.size(), 1u);
  EXPECT_TRUE(starts_with(
      cpu[0], "  -cpu host,migratable=off,host-cache-info=on,l3-cache=off,topoext=on,kvm=off,hv-relaxed=on,"));
  EXPECT_TRUE(has(cpu[0], ",hv-spinlocks=0x1fff,"));
  EXPECT_TRUE(has(cpu[0], ",hv-vendor-id=vfioctlguest,"));
  // An NVIDIA GPU in Windows: KVM hidden, the hypervisor bit kept.
  EXPECT_FALSE(has(cpu[0], "hypervisor=off"));
  EXPECT_TRUE(has_line(s, "  -rtc base=localtime,driftfix=slew"));
  EXPECT_TRUE(has_line(s, "  -global ICH9-LPC.disable_s3=1"));
  // The GPU's video and audio: functions 0 and 1 of one guest slot.
  EXPECT_TRUE(has_line(s, "  -device pcie-root-port,id=rp1,chassis=1,bus=pcie.0"));
  EXPECT_EQ(lines_starting(s, "  -device vfio-pci,"),
            (std::vector<std::string>{
                "  -device vfio-pci,host=0000:01:00.0,id=hostdev0,bus=rp1,addr=00.0,multifunction=on",
                "  -device vfio-pci,host=0000:01:00.1,id=hostdev1,bus=rp1,addr=00.1",
            }));
  EXPECT_TRUE(has_line(s, "for dev in 0000:01:00.0 0000:01:00.1; do"));
  // Windows 11: Secure Boot firmware (SMM-secured flash) and swtpm.
  EXPECT_TRUE(has_line(s, "  -global driver=cfi.pflash01,property=secure,value=on"));
  EXPECT_TRUE(has_line(s, "  -drive if=pflash,format=raw,unit=0,file=/usr/share/OVMF/OVMF_CODE_4M.ms.fd,readonly=on"));
  EXPECT_TRUE(has_line(s, "  -drive if=pflash,format=raw,unit=1,file=/var/lib/vfioctl/qemu/win11-gaming/OVMF_VARS.fd"));
  EXPECT_TRUE(has_line(s,
                       "  install -m 0600 /usr/share/OVMF/OVMF_VARS_4M.ms.fd "
                       "/var/lib/vfioctl/qemu/win11-gaming/OVMF_VARS.fd"));
  EXPECT_TRUE(has_line(s,
                       "swtpm socket --tpm2 --tpmstate dir=/var/lib/vfioctl/qemu/win11-gaming/tpm --ctrl "
                       "type=unixio,path=/run/vfioctl/qemu/win11-gaming/swtpm.sock --terminate --daemon --pid "
                       "file=/run/vfioctl/qemu/win11-gaming/swtpm.pid --log "
                       "file=/run/vfioctl/qemu/win11-gaming/swtpm.log"));
  EXPECT_TRUE(has_line(s, "  -chardev socket,id=chrtpm,path=/run/vfioctl/qemu/win11-gaming/swtpm.sock"));
  EXPECT_TRUE(has_line(s, "  -tpmdev emulator,id=tpm0,chardev=chrtpm"));
  EXPECT_TRUE(has_line(s, "  -device tpm-crb,tpmdev=tpm0"));
  // The NVMe drive on virtio-scsi with the iothread boots first, then the installer
  // (the plan has no host facts here, so no virtio-win ISO was found).
  EXPECT_TRUE(has_line(s, "  -device virtio-scsi-pci,id=scsi0,iothread=iothread1,num_queues=12"));
  EXPECT_TRUE(has_line(s, "  -device ide-cd,bus=ide.0,drive=drive-sata0-0,id=sata0-0,bootindex=2"));
  EXPECT_TRUE(has_line(s,
                       "  -drive file=/var/lib/libvirt/images/Win11_23H2_English_x64.iso,if=none,format=raw,"
                       "id=drive-sata0-0,media=cdrom,readonly=on"));
  EXPECT_TRUE(has_line(s,
                       "  -drive file=/dev/disk/by-id/nvme-Samsung_SSD_980_PRO_1TB_S5GXNX0T000000X,if=none,"
                       "format=raw,id=drive-scsi0-0-0-0,cache=none,aio=native,discard=unmap"));
  EXPECT_TRUE(has_line(s,
                       "  -device scsi-hd,bus=scsi0.0,channel=0,scsi-id=0,lun=0,drive=drive-scsi0-0-0-0,"
                       "id=scsi0-0-0-0,bootindex=1"));
  // Looking Glass at 2560x1440: 64 MiB.
  EXPECT_TRUE(has_line(s,
                       "  -object memory-backend-file,id=looking-glass,mem-path=/dev/shm/looking-glass,size=64M,"
                       "share=on"));
  EXPECT_TRUE(has_line(s, "  -device ivshmem-plain,memdev=looking-glass"));
  EXPECT_TRUE(has_line(s, "  -qmp unix:/run/vfioctl/qemu/win11-gaming/qmp.sock,server=on,wait=off"));
  EXPECT_TRUE(has_line(s, "  -daemonize"));
  EXPECT_TRUE(has_line(s, "  -pidfile /run/vfioctl/qemu/win11-gaming/qemu.pid"));
  EXPECT_TRUE(has_line(s, "  -display none"));
  EXPECT_TRUE(has_line(s, "\"$qemu\" \"${args[@]}\" \"${drop[@]}\""));
  // Root only until QEMU has opened everything: then the user who ran sudo.
  EXPECT_TRUE(has_line(s, "run_as=${VFIOCTL_QEMU_USER:-${SUDO_USER:-}}"));
  EXPECT_TRUE(has_line(s, "    drop=(-run-with \"user=$run_as\")"));
  EXPECT_TRUE(has_line(s, "    drop=(-runas \"$run_as\")"));
  // Sound to user 1000's PulseAudio socket (the spec's pipewire).
  EXPECT_TRUE(has_line(s, "  -audiodev pa,id=snd0,server=unix:/run/user/1000/pulse/native"));
  EXPECT_TRUE(has_line(s,
                       "if ! \"$vfioctl\" pin --qmp /run/vfioctl/qemu/win11-gaming/qmp.sock --vcpus "
                       "2,3,4,5,6,7,8,9,10,11,12,13 --emulator 14-15 --iothread 14-15 --resume; then"));
  EXPECT_TRUE(has_line(s, "vfioctl=vfioctl"));
  EXPECT_FALSE(has(s, "virtio-balloon")) << "no balloon with a passed device";
  EXPECT_EQ(bash_syntax_errors(s), "");
}

// Debian desktop on the Z370: vCPUs on SMT pairs 1,5 and 2,6 in that
// order (the pin command keeps it), 2 MiB pages, evdev with Scroll Lock.
TEST(QemuScript, LinuxDesktopOnZ370KeepsVcpuOrderAndUses2MiBPages) {
  GuestPlan plan = example_on("intel-desktop-z370", "linux-desktop");
  QemuOptions opt;
  opt.vfioctl = "/usr/local/bin/vfioctl";
  std::string s = qemu_script(plan, opt);
  EXPECT_TRUE(has_line(s, "  -smp 4,sockets=1,dies=1,cores=2,threads=2"));
  EXPECT_TRUE(has_line(s,
                       "  -object memory-backend-file,id=mem,size=8192M,mem-path=/dev/hugepages,prealloc=on,"
                       "share=off"));
  EXPECT_TRUE(has_line(s, "hugepool=/sys/kernel/mm/hugepages/hugepages-2048kB"));
  EXPECT_TRUE(has_line(s, "pages=4096"));
  EXPECT_TRUE(has_line(s, "[ \"$(stat -f -c %S \"$hugetlbfs\")\" = 2097152 ] ||"));
  // Tuned like a libvirt guest: before QEMU starts, then released when it ends.
  EXPECT_TRUE(has_line(s,
                       "\"$vfioctl\" tune start desktop_nvidia_debian12_x64_q35_uefi_2c4t --actions "
                       "hugepages,isolate,governor,irq --cpus 1-2,5-6 "
                       "--memory 8388608K --hugepages 2048K --pid $$ --apply"))
      << s;
  EXPECT_TRUE(has_line(s, "trap untune EXIT  # until QEMU runs: a failed start gives it all back"));
  EXPECT_TRUE(has_line(s,
                       "\"$vfioctl\" tune stop desktop_nvidia_debian12_x64_q35_uefi_2c4t --after \"$(cat "
                       "\"$pidfile\")\" --log \"$run_dir/tune.log\" --apply"));
  EXPECT_LT(s.find("tune start"), s.find("\"$qemu\" \"${args[@]}\""));
  EXPECT_LT(s.find("\"$qemu\" \"${args[@]}\""), s.find("tune stop desktop_nvidia_debian12_x64_q35_uefi_2c4t --after"));
  EXPECT_LT(s.find("tune stop desktop_nvidia_debian12_x64_q35_uefi_2c4t --after"), s.find("trap - EXIT"));
  EXPECT_LT(s.find("trap - EXIT"), s.find("\"$vfioctl\" pin "));
  EXPECT_TRUE(has_line(s, "  -cpu host,migratable=off,host-cache-info=on,l3-cache=off"));
  EXPECT_TRUE(has_line(s, "  -rtc base=utc,driftfix=slew"));
  EXPECT_TRUE(has_line(s, "  -drive if=pflash,format=raw,unit=0,file=/usr/share/OVMF/OVMF_CODE_4M.fd,readonly=on"));
  EXPECT_FALSE(has(s, "property=secure"));
  EXPECT_FALSE(has(s, "swtpm"));
  EXPECT_TRUE(has_line(s,
                       "  -object input-linux,id=kbd1,evdev=/dev/input/by-id/usb-Logitech_USB_Receiver-event-kbd,"
                       "grab_all=on,repeat=on,grab-toggle=scrolllock"));
  EXPECT_TRUE(has_line(s,
                       "  -object input-linux,id=mouse1,evdev=/dev/input/by-id/"
                       "usb-Logitech_USB_Receiver-if02-event-mouse"));
  EXPECT_TRUE(has_line(s, "vfioctl=/usr/local/bin/vfioctl"));
  EXPECT_TRUE(has_line(s,
                       "if ! \"$vfioctl\" pin --qmp /run/vfioctl/qemu/desktop_nvidia_debian12_x64_q35_uefi_2c4t/"
                       "qmp.sock --vcpus 1,5,2,6 --emulator 3,7 --iothread 3,7 --resume; then"));
  EXPECT_EQ(bash_syntax_errors(s), "");
}

// The file server: ordinary pages (no backend object), a bridge with a
// [hide]: the -cpu value for each choice, and the enlightenments left out
// with the hypervisor bit.
TEST(QemuScript, HiddenHypervisorInTheCpuArguments) {
  const std::string base =
      "preset = \"windows-gaming\"\nmemory = \"4G\"\nhugepages = \"off\"\ncpus = \"2c4t\"\n"
      "passthrough = [\"gpu\"]\n[network]\nmode = \"none\"\n";
  auto cpu_of = [](const GuestPlan& plan) {
    auto cpu = lines_starting(qemu_script(plan), "  -cpu ");
    return cpu.size() == 1 ? cpu[0] : std::string();
  };
  // Auto with the NVIDIA GPU: KVM hidden, vfioctl's vendor id.
  std::string cpu = cpu_of(spec_on("intel-desktop-z370", base));
  EXPECT_TRUE(has(cpu, ",kvm=off,hv-relaxed=on,")) << cpu;
  EXPECT_TRUE(has(cpu, ",hv-reset=on,hv-vendor-id=vfioctlguest,hv-frequencies=on,")) << cpu;
  EXPECT_FALSE(has(cpu, "hypervisor=off")) << cpu;
  // Shown: Hyper-V's own default vendor id, KVM's signature.
  cpu = cpu_of(spec_on("intel-desktop-z370", base + "[hide]\nhypervisor = false\n"));
  EXPECT_FALSE(has(cpu, "kvm=off")) << cpu;
  EXPECT_FALSE(has(cpu, "hv-vendor-id")) << cpu;
  EXPECT_TRUE(has(cpu, ",hv-relaxed=on,")) << cpu;
  // A vendor id of the spec's.
  cpu = cpu_of(spec_on("intel-desktop-z370", base + "[hide]\nvendor_id = \"GenuineRig\"\n"));
  EXPECT_TRUE(has(cpu, ",hv-vendor-id=GenuineRig,")) << cpu;
  // The bit cleared: no enlightenments at all, and no Hyper-V clock.
  GuestPlan off = spec_on("intel-desktop-z370", base + "[hide]\ncpuid_bit = false\n");
  cpu = cpu_of(off);
  EXPECT_EQ(cpu, "  -cpu host,migratable=off,host-cache-info=on,l3-cache=off,kvm=off,hypervisor=off");
  std::string xml = libvirt_xml(off);
  EXPECT_FALSE(has(xml, "<hyperv")) << xml;
  EXPECT_FALSE(has(xml, "hypervclock")) << xml;
  EXPECT_TRUE(has(xml, "<feature policy=\"disable\" name=\"hypervisor\" />")) << xml;
  EXPECT_TRUE(has(xml, "<hidden state=\"on\" />")) << xml;
  // Linux hides nothing by itself, even with an NVIDIA GPU.
  cpu = cpu_of(spec_on("intel-desktop-z370",
                       "memory = \"4G\"\nhugepages = \"off\"\ncpus = \"2c4t\"\n"
                       "passthrough = [\"gpu\"]\n[network]\nmode = \"none\"\n"));
  EXPECT_FALSE(has(cpu, "kvm=off")) << cpu;
  // Under TCG nothing is hidden.
  QemuOptions tcg;
  tcg.virt_type = "qemu";
  EXPECT_FALSE(has(qemu_script(off, tcg), "kvm=off"));
  XmlOptions tcg_xml;
  tcg_xml.virt_type = "qemu";
  EXPECT_FALSE(has(libvirt_xml(off, tcg_xml), "hidden"));
}

// Iothreads: one per virtio controller while the housekeeping core's CPUs
// last (z370: CPUs 3 and 7), disks beyond that in turn; all pinned there.
TEST(QemuScript, EachVirtioControllerGetsAnIothread) {
  GuestPlan plan = spec_on("intel-desktop-z370",
                           "memory = \"4G\"\nhugepages = \"off\"\ncpus = \"2c4t\"\n[network]\nmode = \"none\"\n"
                           "[[disk]]\nsource = \"/srv/a.img\"\nbus = \"virtio-blk\"\n"
                           "[[disk]]\nsource = \"/srv/b.img\"\nbus = \"virtio-blk\"\n"
                           "[[disk]]\nsource = \"/srv/c.img\"\n[[disk]]\nsource = \"/srv/d.img\"\n"
                           "[[disk]]\nsource = \"/srv/e.img\"\nbus = \"sata\"\n");
  EXPECT_EQ(plan.cpu.iothread, (std::vector<int>{3, 7}));
  EXPECT_EQ(plan.iothreads, 2);
  EXPECT_EQ(plan.disks[0].iothread, 1);
  EXPECT_EQ(plan.disks[1].iothread, 2);
  EXPECT_EQ(plan.scsi_iothread, 1);
  EXPECT_EQ(plan.disks[4].iothread, 0);
  std::string s = qemu_script(plan);
  EXPECT_EQ(lines_starting(s, "  -object iothread,"),
            (std::vector<std::string>{"  -object iothread,id=iothread1", "  -object iothread,id=iothread2"}));
  EXPECT_TRUE(has_line(s, "  -device virtio-scsi-pci,id=scsi0,iothread=iothread1,num_queues=4"));
  EXPECT_TRUE(has(s, "  -device virtio-blk-pci,drive=drive-virtio-disk0,id=virtio-disk0,iothread=iothread1,"));
  EXPECT_TRUE(has(s, "  -device virtio-blk-pci,drive=drive-virtio-disk1,id=virtio-disk1,iothread=iothread2,"));
  // `vfioctl pin --iothread` pins every iothread QMP lists.
  EXPECT_TRUE(has(s, " --emulator 3,7 --iothread 3,7 --resume"));
  EXPECT_TRUE(has_line(s, "#   emulator threads on CPUs 3,7, 2 iothreads on CPUs 3,7"));
  std::string xml = libvirt_xml(plan);
  EXPECT_TRUE(has(xml, "<iothreads>2</iothreads>"));
  EXPECT_TRUE(has(xml, "<iothreadpin iothread=\"1\" cpuset=\"3,7\" />"));
  EXPECT_TRUE(has(xml, "<iothreadpin iothread=\"2\" cpuset=\"3,7\" />"));
  EXPECT_TRUE(has(xml, "iothread=\"2\" queues=\"4\" />"));
  EXPECT_EQ(bash_syntax_errors(s), "");

  // One virtio disk: one iothread, as before.
  plan = spec_on("intel-desktop-z370",
                 "memory = \"4G\"\nhugepages = \"off\"\ncpus = \"2c4t\"\n[network]\nmode = \"none\"\n"
                 "[[disk]]\nsource = \"/srv/a.img\"\nbus = \"virtio-blk\"\n");
  EXPECT_EQ(plan.iothreads, 1);
  EXPECT_EQ(lines_starting(qemu_script(plan), "  -object iothread,").size(), 1u);
  EXPECT_TRUE(has(libvirt_xml(plan), "<iothreads>1</iothreads>"));
}

// evdev: a virtio keyboard and mouse beside it, once (Looking Glass's SPICE
// input brings the same two).
TEST(QemuScript, EvdevComesWithAVirtioKeyboardAndMouse) {
  const std::string base =
      "memory = \"4G\"\nhugepages = \"off\"\ncpus = \"2c4t\"\n[network]\nmode = \"none\"\n[input]\n"
      "evdev = [\"/dev/input/by-id/usb-kbd-event-kbd\", \"/dev/input/by-id/usb-mouse-event-mouse\"]\n";
  GuestPlan plan = spec_on("intel-desktop-z370", base);
  std::string s = qemu_script(plan);
  EXPECT_EQ(lines_starting(s, "  -device virtio-keyboard-pci"),
            (std::vector<std::string>{"  -device virtio-keyboard-pci,id=input0"}));
  EXPECT_EQ(lines_starting(s, "  -device virtio-mouse-pci"),
            (std::vector<std::string>{"  -device virtio-mouse-pci,id=input1"}));
  std::string xml = libvirt_xml(plan);
  EXPECT_TRUE(has(xml, "<input type=\"keyboard\" bus=\"virtio\" />")) << xml;
  EXPECT_TRUE(has(xml, "<input type=\"mouse\" bus=\"virtio\" />")) << xml;
  // Without evdev: neither.
  plan = spec_on("intel-desktop-z370",
                 "memory = \"4G\"\nhugepages = \"off\"\ncpus = \"2c4t\"\n[network]\nmode = \"none\"\n");
  EXPECT_FALSE(has(qemu_script(plan), "virtio-keyboard-pci"));
  EXPECT_FALSE(has(libvirt_xml(plan), "bus=\"virtio\" />"));
  // With Looking Glass: one pair, not two.
  plan = spec_on("intel-desktop-z370",
                 "passthrough = [\"gpu\"]\n" + base + "[looking_glass]\nresolution = \"1920x1080\"\n");
  ASSERT_TRUE(plan.spice_input);
  s = qemu_script(plan);
  EXPECT_EQ(lines_starting(s, "  -device virtio-keyboard-pci").size(), 1u);
  EXPECT_EQ(lines_starting(s, "  -device virtio-mouse-pci").size(), 1u);
  xml = libvirt_xml(plan);
  EXPECT_EQ(xml.find("<input type=\"keyboard\" bus=\"virtio\" />"),
            xml.rfind("<input type=\"keyboard\" bus=\"virtio\" />"));
  EXPECT_NE(xml.find("<input type=\"keyboard\" bus=\"virtio\" />"), std::string::npos);
}

// fixed MAC, virtio-blk on the iothread, a balloon (nothing passed).
TEST(QemuScript, LinuxServerWithoutHugepagesOnABridge) {
  GuestPlan plan = example_on("two-identical-gpus", "linux-server");
  std::string s = qemu_script(plan);
  EXPECT_TRUE(has_line(s, "  -m 4096M"));
  EXPECT_FALSE(has(s, "memory-backend-file,id=mem"));
  EXPECT_FALSE(has(s, "hugetlbfs="));
  EXPECT_FALSE(has(s, "-overcommit"));
  EXPECT_TRUE(has_line(s, "  -netdev tap,id=hostnet0,br=br0,helper=/usr/lib/qemu/qemu-bridge-helper,vhost=on"));
  EXPECT_TRUE(has_line(s, "  -device virtio-net-pci,netdev=hostnet0,id=net0,mac=52:54:00:00:f1:1e"));
  EXPECT_TRUE(has(s, "/etc/qemu/bridge.conf"));
  EXPECT_TRUE(has_line(s,
                       "  -device virtio-blk-pci,drive=drive-virtio-disk0,id=virtio-disk0,iothread=iothread1,"
                       "num-queues=4,bootindex=1"));
  EXPECT_TRUE(has_line(s, "  -device virtio-balloon-pci,id=balloon0"));
  EXPECT_TRUE(has_line(s, "  -global ICH9-LPC.disable_s3=0"));
  EXPECT_TRUE(lines_starting(s, "  -device vfio-pci").empty());
  EXPECT_TRUE(lines_starting(s, "  -device pcie-root-port").empty());
  EXPECT_FALSE(has(s, "for dev in"));
  EXPECT_FALSE(has(s, "virtio-vga")) << "a server has no display";
  EXPECT_EQ(bash_syntax_errors(s), "");
}

// Test guests: TCG with an Intel model, a kernel booted directly, the serial
// console to a file; no firmware.
TEST(QemuScript, TcgWithADirectKernelBoot) {
  GuestPlan plan = spec_on("intel-desktop-z370",
                           "preset = \"linux-server\"\nname = \"t1\"\nmemory = \"256M\"\nhugepages = \"2M\"\n"
                           "cpus = \"1c2t\"\n[network]\nmode = \"none\"\n");
  QemuOptions opt;
  opt.virt_type = "qemu";
  opt.kernel = "/k/vmlinuz";
  opt.initrd = "/k/initrd.gz";
  opt.cmdline = "console=ttyS0 quiet";
  opt.serial_log = "/tmp/t1/serial.log";
  opt.run_dir = "/tmp/t1";
  opt.vfioctl = "/opt/vfioctl";
  std::string s = qemu_script(plan, opt);
  EXPECT_TRUE(has_line(s, "  -machine q35,accel=tcg,smm=on,vmport=off,hpet=off"));
  EXPECT_TRUE(has_line(s, "  -cpu Skylake-Client"));
  EXPECT_TRUE(has_line(s, "  -smp 2,sockets=1,dies=1,cores=1,threads=2"));
  EXPECT_TRUE(has_line(s,
                       "  -object memory-backend-file,id=mem,size=256M,mem-path=/dev/hugepages,prealloc=on,"
                       "share=off"));
  EXPECT_TRUE(has_line(s, "pages=128"));
  EXPECT_TRUE(has_line(s, "  -kernel /k/vmlinuz"));
  EXPECT_TRUE(has_line(s, "  -initrd /k/initrd.gz"));
  EXPECT_TRUE(has_line(s, "  -append 'console=ttyS0 quiet'"));
  EXPECT_TRUE(has_line(s, "  -chardev file,id=charserial0,path=/tmp/t1/serial.log"));
  EXPECT_TRUE(has_line(s, "  -device isa-serial,chardev=charserial0,id=serial0"));
  EXPECT_TRUE(has_line(s, "  -qmp unix:/tmp/t1/qmp.sock,server=on,wait=off"));
  EXPECT_FALSE(has(s, "pflash"));
  EXPECT_FALSE(has(s, "OVMF"));
  EXPECT_FALSE(has(s, "kvm-pit"));
  EXPECT_FALSE(has(s, "/dev/kvm"));
  EXPECT_FALSE(has(s, "-netdev"));
  EXPECT_TRUE(has_line(s, "vfioctl=/opt/vfioctl"));
  EXPECT_TRUE(has_line(s,
                       "if ! \"$vfioctl\" pin --qmp /tmp/t1/qmp.sock --vcpus 1,5 --emulator 2,6 --iothread 2,6 "
                       "--resume; then"));
  EXPECT_EQ(bash_syntax_errors(s), "");
}

// Serial console on the terminal: QEMU in the foreground (exec), pinning
// beside it.
TEST(QemuScript, SerialOnTheTerminalKeepsQemuInTheForeground) {
  GuestPlan plan = example_on("intel-desktop-z370", "linux-server");
  QemuOptions opt;
  opt.serial_stdio = true;
  std::string s = qemu_script(plan, opt);
  EXPECT_TRUE(has_line(s, "  -serial mon:stdio"));
  EXPECT_FALSE(has(s, "-daemonize"));
  EXPECT_TRUE(has_line(s, "exec \"$qemu\" \"${args[@]}\" \"${drop[@]}\""));
  EXPECT_TRUE(has_line(s, "    kill $$"));
  // Tuned before the exec; the watcher follows $$, which the exec makes QEMU.
  EXPECT_LT(s.find("\"$vfioctl\" tune start files "), s.find("exec \"$qemu\""));
  EXPECT_TRUE(has_line(s, "  \"$vfioctl\" tune stop files --after $$ --log \"$run_dir/tune.log\" --apply >&2 ||")) << s;
  EXPECT_TRUE(has_line(s, "    \"$vfioctl\" tune stop files --force --apply >&2 || true"));
  EXPECT_EQ(bash_syntax_errors(s), "");
}

// Odd paths: commas doubled for QEMU, the word quoted for bash.
TEST(QemuScript, PathsWithCommasAndSpacesAreEscaped) {
  GuestPlan plan = spec_on("intel-desktop-z370",
                           "preset = \"linux-desktop\"\nmemory = \"2G\"\nhugepages = \"off\"\ncores = 1\n"
                           "[[disk]]\nsource = \"/srv/my images/a,b.img\"\nbus = \"sata\"\n");
  std::string s = qemu_script(plan);
  EXPECT_TRUE(has_line(s,
                       "  -drive 'file=/srv/my images/a,,b.img,if=none,format=raw,id=drive-sata0-0,cache=none,"
                       "aio=native,discard=unmap'"));
  EXPECT_TRUE(has_line(s, "  -device ide-hd,bus=ide.0,drive=drive-sata0-0,id=sata0-0,bootindex=1"));
  EXPECT_TRUE(has(s, "[ -e '/srv/my images/a,b.img' ] || die"));
  // No GPU on a desktop: virtio video through SPICE.
  EXPECT_TRUE(has_line(s, "  -device virtio-vga,id=video0,max_outputs=1"));
  EXPECT_EQ(bash_syntax_errors(s), "");
}

// ---- Firmware from the host (host/firmware.h) ----

FirmwareCatalog firmware_of(const std::string& dir) {
  Root root(dir);
  Notes notes;
  return read_firmware(root, notes);
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The Debian desktop on an Arch host (tests/firmware/arch, Arch's own
// descriptors): the script names the firmware under /usr/share/edk2/x64/
// that the descriptor gives, and says how it was found. The whole script is
// compared with tests/golden/qemu/ (VFIOCTL_UPDATE_GOLDEN=1 rewrites it).
TEST(QemuScript, ArchFirmwareFromItsDescriptorMatchesTheGolden) {
  GuestPlan plan = example_on("intel-desktop-z370", "linux-desktop");
  QemuOptions opt;
  opt.vfioctl = "/usr/bin/vfioctl";
  opt.distro = parse_os_release("ID=arch\n");
  opt.firmware = firmware_of(kSource + "/tests/firmware/arch");
  std::string s = qemu_script(plan, opt);
  EXPECT_TRUE(has_line(s,
                       "  -drive if=pflash,format=raw,unit=0,file=/usr/share/edk2/x64/OVMF_CODE.csm.4m.fd,"
                       "readonly=on"));
  EXPECT_TRUE(has_line(s, "  # From the firmware descriptor /usr/share/qemu/firmware/70-edk2-ovmf-x86_64-csm-4m.json"));
  EXPECT_TRUE(has_line(s,
                       "[ -r /usr/share/edk2/x64/OVMF_CODE.csm.4m.fd ] || die '/usr/share/edk2/x64/OVMF_CODE.csm.4m.fd "
                       "is missing (pacman -S edk2-ovmf)'"));
  EXPECT_TRUE(has_line(s,
                       "  install -m 0600 /usr/share/edk2/x64/OVMF_VARS.4m.fd "
                       "/var/lib/vfioctl/qemu/desktop_nvidia_debian12_x64_q35_uefi_2c4t/OVMF_VARS.fd"));
  EXPECT_FALSE(has(s, "/usr/share/OVMF/"));
  EXPECT_EQ(bash_syntax_errors(s), "");
  fs::path golden = fs::path(kSource) / "tests/golden/qemu/linux-desktop-arch.sh";
  if (std::getenv("VFIOCTL_UPDATE_GOLDEN")) {
    fs::create_directories(golden.parent_path());
    std::ofstream(golden, std::ios::binary) << s;
  }
  ASSERT_TRUE(fs::exists(golden)) << golden << " is missing; run with VFIOCTL_UPDATE_GOLDEN=1";
  EXPECT_EQ(s, slurp(golden)) << "differs from " << golden;
}

// Windows 11 on Debian 12's descriptors: Secure Boot with the keys enrolled.
TEST(QemuScript, SecureBootFirmwareFromDebiansEnrolledDescriptor) {
  GuestPlan plan = example_on("amd-laptop-5800h", "windows-gaming");
  QemuOptions opt;
  opt.distro = parse_os_release("ID=debian\n");
  opt.firmware = firmware_of(kSource + "/tests/firmware/debian-12");
  std::string s = qemu_script(plan, opt);
  EXPECT_TRUE(has_line(s, "  -drive if=pflash,format=raw,unit=0,file=/usr/share/OVMF/OVMF_CODE_4M.ms.fd,readonly=on"));
  EXPECT_TRUE(
      has_line(s, "  # From the firmware descriptor /usr/share/qemu/firmware/40-edk2-x86_64-secure-enrolled.json"));
  EXPECT_TRUE(has(s, "install -m 0600 /usr/share/OVMF/OVMF_VARS_4M.ms.fd "));
  // The options still override what was found.
  opt.ovmf_code = "/opt/fw/CODE.fd";
  opt.ovmf_vars_template = "/opt/fw/VARS.fd";
  s = qemu_script(plan, opt);
  EXPECT_TRUE(has_line(s, "  -drive if=pflash,format=raw,unit=0,file=/opt/fw/CODE.fd,readonly=on"));
  EXPECT_TRUE(has(s, "install -m 0600 /opt/fw/VARS.fd "));
  EXPECT_FALSE(has(s, "# From the firmware descriptor"));
}

// Nothing fits (Arch has no template with Microsoft's keys): the script
// names the family's usual files and stops with the package to install.
TEST(QemuScript, NoFittingFirmwareNamesThePackage) {
  GuestPlan plan = example_on("amd-laptop-5800h", "windows-gaming");
  QemuOptions opt;
  opt.distro = parse_os_release("ID=arch\n");
  opt.firmware = firmware_of(kSource + "/tests/firmware/arch");
  std::string s = qemu_script(plan, opt);
  EXPECT_TRUE(has_line(s,
                       "  -drive if=pflash,format=raw,unit=0,file=/usr/share/edk2/x64/OVMF_CODE.secboot.4m.fd,"
                       "readonly=on"));
  EXPECT_TRUE(has(s,
                  "/usr/share/edk2/x64/OVMF_CODE.secboot.4m.fd is missing: no UEFI firmware with Secure Boot and "
                  "Microsoft'\\''s keys enrolled was found when this script was written (pacman -S edk2-ovmf)"));
  EXPECT_FALSE(has(s, "# From the"));
  EXPECT_TRUE(has(s,
                  "win11-gaming: note: no UEFI firmware with Secure Boot and Microsoft'\\''s keys enrolled was found "
                  "when this script was written; starting with /usr/share/edk2/x64/OVMF_CODE.secboot.4m.fd and the "
                  "template /usr/share/edk2/x64/OVMF_VARS.4m.fd"));
  EXPECT_EQ(bash_syntax_errors(s), "");
  // Fedora without any firmware: Fedora's files and package.
  test::TempTree empty;
  opt.distro = parse_os_release("ID=fedora\n");
  opt.firmware = firmware_of(empty.dir());
  s = qemu_script(example_on("intel-desktop-z370", "linux-desktop"), opt);
  EXPECT_TRUE(has(s,
                  "/usr/share/edk2/ovmf/OVMF_CODE.fd is missing: no UEFI firmware was found when this script was "
                  "written (dnf install edk2-ovmf)"));
}

// qcow2 firmware (Fedora ships some): the format goes to both pflash drives
// and the guest's copy of the variables keeps it.
TEST(QemuScript, Qcow2FirmwareKeepsItsFormat) {
  test::TempTree t;
  t.file("/usr/share/qemu/firmware/30-qcow2.json",
         R"({"interface-types": ["uefi"], "mapping": {"device": "flash", "executable": {"filename": "/fw/CODE.qcow2",
         "format": "qcow2"}, "nvram-template": {"filename": "/fw/VARS.qcow2", "format": "qcow2"}}, "targets":
         [{"architecture": "x86_64", "machines": ["pc-q35-*"]}], "features": ["acpi-s3"]})");
  t.file("/fw/CODE.qcow2", "");
  t.file("/fw/VARS.qcow2", "");
  QemuOptions opt;
  opt.firmware = firmware_of(t.dir());
  GuestPlan plan = example_on("intel-desktop-z370", "linux-desktop");
  std::string s = qemu_script(plan, opt);
  EXPECT_TRUE(has_line(s, "  -drive if=pflash,format=qcow2,unit=0,file=/fw/CODE.qcow2,readonly=on"));
  EXPECT_TRUE(has_line(s,
                       "  -drive if=pflash,format=qcow2,unit=1,file=/var/lib/vfioctl/qemu/"
                       "desktop_nvidia_debian12_x64_q35_uefi_2c4t/OVMF_VARS.qcow2"));
  EXPECT_TRUE(has(s,
                  "install -m 0600 /fw/VARS.qcow2 /var/lib/vfioctl/qemu/desktop_nvidia_debian12_x64_q35_uefi_2c4t/"
                  "OVMF_VARS.qcow2"));
  EXPECT_EQ(bash_syntax_errors(s), "");
}

// ---- NVMe disks ----

// The script: each NVMe disk a -drive and an nvme controller of its own,
// with the same stable serial the XML would give; no SCSI bus it never made.
TEST(QemuScript, NvmeDisksGetAnEmulatedController) {
  GuestPlan plan = spec_on("intel-desktop-z370",
                           "memory = \"4G\"\nhugepages = \"off\"\n[[disk]]\nsource = \"/srv/a.img\"\nbus = "
                           "\"nvme\"\n[[disk]]\nsource = \"/dev/disk/by-id/nvme-X\"\nbus = \"nvme\"\n");
  std::string s = qemu_script(plan);
  EXPECT_TRUE(has_line(s,
                       "  -drive file=/srv/a.img,if=none,format=raw,id=drive-nvme0,cache=none,aio=native,"
                       "discard=unmap"));
  EXPECT_TRUE(
      has_line(s, "  -device nvme,serial=" + nvme_serial("/srv/a.img") + ",drive=drive-nvme0,id=nvme0,bootindex=1"));
  EXPECT_TRUE(
      has_line(s, "  -device nvme,serial=" + nvme_serial("/dev/disk/by-id/nvme-X") + ",drive=drive-nvme1,id=nvme1"));
  EXPECT_LE(nvme_serial("/srv/a.img").size(), 20u);
  EXPECT_NE(nvme_serial("/srv/a.img"), nvme_serial("/dev/disk/by-id/nvme-X"));
  EXPECT_FALSE(has(s, "scsi0"));
  EXPECT_EQ(bash_syntax_errors(s), "");
}

// The XML: refused before libvirt 11.5.0 (an input error at the bus line),
// libvirt's own form from 11.5.0 on.
TEST(LibvirtXml, NvmeDiskNeedsLibvirt11_5) {
  GuestPlan plan = spec_on("intel-desktop-z370",
                           "memory = \"4G\"\nhugepages = \"off\"\n[[disk]]\nsource = \"/srv/a.img\"\nbus = "
                           "\"nvme\"\n");
  try {
    libvirt_xml(plan);
    ADD_FAILURE() << "an NVMe disk was written for libvirt 9.0";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input);
    EXPECT_TRUE(starts_with(e.what(),
                            "test.toml:5: disk.bus \"nvme\" (/srv/a.img): libvirt 9.0.0 has no emulated NVMe "
                            "disk (libvirt 11.5.0 added <controller type='nvme'>)"))
        << e.what();
  }
  XmlOptions opt;
  opt.libvirt_version = kLibvirtNvme;
  std::string xml = libvirt_xml(plan, opt);
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(xml.c_str()));
  pugi::xml_node disk = doc.child("domain").child("devices").child("disk");
  EXPECT_STREQ(disk.child("target").attribute("dev").value(), "nvme0n1");
  EXPECT_STREQ(disk.child("target").attribute("bus").value(), "nvme");
  EXPECT_EQ(disk.child_value("serial"), nvme_serial("/srv/a.img"));
  pugi::xml_node ctl = doc.child("domain").child("devices").find_child_by_attribute("controller", "type", "nvme");
  ASSERT_TRUE(ctl);
  EXPECT_STREQ(ctl.attribute("index").value(), "0");
  EXPECT_FALSE(doc.child("domain").child("devices").find_child_by_attribute("controller", "type", "scsi"));
}

// ---- The script and the XML render one plan ----

std::vector<std::string> qemu_words(const std::string& script) {
  // The args=( ... ) lines, without comments, split at the first space.
  std::vector<std::string> out;
  bool in = false;
  for (const auto& l : lines_of(script)) {
    if (l == "args=(") {
      in = true;
      continue;
    }
    if (l == ")") in = false;
    if (!in || l.empty() || starts_with(trim(l), "#")) continue;
    out.push_back(std::string(trim(l)));
  }
  return out;
}

size_t count_prefix(const std::vector<std::string>& words, const std::string& prefix) {
  return static_cast<size_t>(
      std::count_if(words.begin(), words.end(), [&](const std::string& w) { return starts_with(w, prefix); }));
}

std::string hex_addr(const pugi::xml_node& a) {
  auto num = [&](const char* attr) { return std::stoul(a.attribute(attr).value(), nullptr, 16); };
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04lx:%02lx:%02lx.%lx", num("domain"), num("bus"), num("slot"), num("function"));
  return buf;
}

TEST(QemuScript, RendersTheSamePlanAsTheLibvirtXml) {
  for (const auto& host : kGoldenHosts) {
    for (const auto& example : kExamples) {
      SCOPED_TRACE(example + " on " + host);
      GuestPlan plan = example_on(host, example);
      std::string script = qemu_script(plan);
      std::string xml = libvirt_xml(plan);
      pugi::xml_document doc;
      ASSERT_TRUE(doc.load_string(xml.c_str()));
      pugi::xml_node dom = doc.child("domain");
      std::vector<std::string> words = qemu_words(script);

      // CPUs: topology, then vCPU i -> cpuset i, emulator, iothread.
      pugi::xml_node topo = dom.child("cpu").child("topology");
      EXPECT_EQ(count_prefix(words, std::string("-smp ") + dom.child_value("vcpu") +
                                        ",sockets=1,dies=1,cores=" + topo.attribute("cores").value() +
                                        ",threads=" + topo.attribute("threads").value()),
                1u);
      std::vector<std::string> pins;
      for (auto p : dom.child("cputune").children("vcpupin")) pins.push_back(p.attribute("cpuset").value());
      std::string pin = "pin --qmp /run/vfioctl/qemu/" + plan.name + "/qmp.sock --vcpus " + join(pins, ",") +
                        " --emulator " + dom.child("cputune").child("emulatorpin").attribute("cpuset").value() +
                        " --iothread " + dom.child("cputune").child("iothreadpin").attribute("cpuset").value() +
                        " --resume";
      EXPECT_TRUE(has(script, pin)) << pin;

      // Memory: size, page size, locked, KSM off.
      long long kib = std::stoll(dom.child_value("memory"));
      EXPECT_EQ(count_prefix(words, "-m " + std::to_string(kib / 1024) + "M"), 1u);
      pugi::xml_node page = dom.child("memoryBacking").child("hugepages").child("page");
      if (page) {
        std::string mount =
            std::string(page.attribute("size").value()) == "1048576" ? "/dev/hugepages1G" : "/dev/hugepages";
        EXPECT_EQ(count_prefix(words, "-object memory-backend-file,id=mem,size=" + std::to_string(kib / 1024) +
                                          "M,mem-path=" + mount + ",prealloc=on,share=off"),
                  1u);
        EXPECT_TRUE(has(script, "pages=" + std::to_string(kib / std::stoll(page.attribute("size").value()))));
      } else {
        EXPECT_EQ(count_prefix(words, "-object memory-backend-file,id=mem,"), 0u);
      }
      EXPECT_EQ(count_prefix(words, "-overcommit mem-lock=on"), dom.child("memoryBacking").child("locked") ? 1u : 0u);
      EXPECT_EQ(count_prefix(words, "-machine mem-merge=off"),
                dom.child("memoryBacking").child("nosharepages") ? 1u : 0u);

      // Devices: root ports, host functions on their guest slots, disks.
      pugi::xml_node devices = dom.child("devices");
      size_t root_ports = 0;
      for (auto c : devices.children("controller")) {
        if (std::string(c.attribute("model").value()) == "pcie-root-port") ++root_ports;
      }
      EXPECT_EQ(count_prefix(words, "-device pcie-root-port,"), root_ports);
      std::vector<std::string> want_vfio;
      int n = 0;
      for (auto hd : devices.children("hostdev")) {
        if (std::string(hd.attribute("type").value()) != "pci") continue;
        pugi::xml_node ga = hd.child("address");
        std::string v = "-device vfio-pci,host=" + hex_addr(hd.child("source").child("address")) + ",id=hostdev" +
                        std::to_string(n++) + ",bus=rp" +
                        std::to_string(std::stoul(ga.attribute("bus").value(), nullptr, 16)) + ",addr=00." +
                        std::to_string(std::stoul(ga.attribute("function").value(), nullptr, 16));
        if (std::string(ga.attribute("multifunction").value()) == "on") v += ",multifunction=on";
        if (hd.child("rom")) v += ",romfile=" + std::string(hd.child("rom").attribute("file").value());
        want_vfio.push_back(v);
      }
      std::vector<std::string> got_vfio;
      for (const auto& w : words) {
        if (starts_with(w, "-device vfio-pci,")) got_vfio.push_back(w);
      }
      EXPECT_EQ(got_vfio, want_vfio);
      size_t disks = 0;
      for (auto d : devices.children("disk")) {
        (void)d;
        ++disks;
      }
      EXPECT_EQ(count_prefix(words, "-drive file="), disks);
      size_t inputs = 0;
      for (auto i : devices.children("input")) {
        if (std::string(i.attribute("type").value()) == "evdev") ++inputs;
      }
      EXPECT_EQ(count_prefix(words, "-object input-linux,"), inputs);
      size_t virtio_keyboards = 0, virtio_mice = 0;
      for (auto i : devices.children("input")) {
        if (std::string(i.attribute("bus").value()) != "virtio") continue;
        virtio_keyboards += std::string(i.attribute("type").value()) == "keyboard";
        virtio_mice += std::string(i.attribute("type").value()) == "mouse";
      }
      EXPECT_EQ(count_prefix(words, "-device virtio-keyboard-pci,"), virtio_keyboards);
      EXPECT_EQ(count_prefix(words, "-device virtio-mouse-pci,"), virtio_mice);
      // evdev always comes with a virtio keyboard and mouse.
      if (inputs > 0) {
        EXPECT_EQ(virtio_keyboards + virtio_mice, 2u);
      }
      // Iothreads: as many, each pinned, each used by the same controllers.
      int iothreads = std::stoi(dom.child_value("iothreads"));
      EXPECT_EQ(count_prefix(words, "-object iothread,"), static_cast<size_t>(iothreads));
      size_t pinned = 0;
      for (auto p : dom.child("cputune").children("iothreadpin")) {
        (void)p;
        ++pinned;
      }
      EXPECT_EQ(pinned, static_cast<size_t>(iothreads));
      for (auto d : devices.children("disk")) {
        if (std::string(d.child("target").attribute("bus").value()) != "virtio") continue;
        EXPECT_TRUE(
            has(script, std::string(",iothread=iothread") + d.child("driver").attribute("iothread").value() + ","));
      }
      EXPECT_EQ(count_prefix(words, "-device tpm-crb,"), devices.child("tpm") ? 1u : 0u);
      size_t shmems = 0;
      for (auto sh : devices.children("shmem")) {
        ++shmems;
        EXPECT_TRUE(has(script, std::string("size=") + sh.child_value("size") + "M,share=on"));
      }
      EXPECT_EQ(count_prefix(words, "-device ivshmem-plain,"), shmems);
      size_t usb = 0;
      for (auto hd : devices.children("hostdev")) usb += std::string(hd.attribute("type").value()) == "usb";
      EXPECT_EQ(count_prefix(words, "-device usb-host,"), usb);
      EXPECT_EQ(count_prefix(words, "-audiodev "), devices.child("audio") ? 1u : 0u);
      EXPECT_EQ(count_prefix(words, "-uuid " + std::string(dom.child_value("uuid"))), 1u);
      EXPECT_EQ(count_prefix(words, "-device virtio-balloon-pci"),
                std::string(devices.child("memballoon").attribute("model").value()) == "virtio" ? 1u : 0u);
      EXPECT_EQ(count_prefix(words, "-netdev "), devices.child("interface") ? 1u : 0u);

      // The 64-bit MMIO window: the same MiB to OVMF, the same hole, the host's address width.
      std::string fw_cfg;
      for (auto arg : dom.child("qemu:commandline").children("qemu:arg")) fw_cfg = arg.attribute("value").value();
      EXPECT_EQ(count_prefix(words, "-fw_cfg " + fw_cfg), fw_cfg.empty() ? 0u : 1u);
      EXPECT_EQ(count_prefix(words, "-fw_cfg "), fw_cfg.empty() ? 0u : 1u);
      pugi::xml_node hole;
      for (auto c : devices.children("controller")) {
        if (std::string(c.attribute("model").value()) == "pcie-root") hole = c.child("pcihole64");
      }
      EXPECT_EQ(count_prefix(words, "-global q35-pcihost.pci-hole64-size=" +
                                        std::to_string(hole ? std::stoll(hole.child_value()) / 1024 : 0) + "M"),
                hole ? 1u : 0u);
      EXPECT_EQ(has(script, ",host-phys-bits=on"), static_cast<bool>(dom.child("cpu").child("maxphysaddr")));

      // Firmware, features, clock, power.
      bool sb = false;
      for (auto f : dom.child("os").child("firmware").children("feature")) {
        if (std::string(f.attribute("name").value()) == "secure-boot")
          sb = std::string(f.attribute("enabled").value()) == "yes";
      }
      EXPECT_EQ(count_prefix(words, "-global driver=cfi.pflash01,property=secure,value=on"), sb ? 1u : 0u);
      EXPECT_EQ(has(script, "hv-relaxed=on"), static_cast<bool>(dom.child("features").child("hyperv")));
      pugi::xml_node vendor = dom.child("features").child("hyperv").child("vendor_id");
      EXPECT_EQ(has(script, ",hv-vendor-id="), static_cast<bool>(vendor));
      if (vendor) {
        EXPECT_TRUE(has(script, std::string(",hv-vendor-id=") + vendor.attribute("value").value() + ","));
      }
      EXPECT_EQ(has(script, ",kvm=off"), static_cast<bool>(dom.child("features").child("kvm").child("hidden")));
      // The golden hosts' examples pass NVIDIA GPUs to Windows: hidden there.
      if (plan.windows && plan.gpu_vendor == "nvidia") {
        EXPECT_TRUE(has(script, ",kvm=off"));
      }
      if (!plan.windows) {
        EXPECT_FALSE(has(script, ",kvm=off"));
      }
      bool topoext = false;
      for (auto f : dom.child("cpu").children("feature")) {
        if (std::string(f.attribute("name").value()) == "topoext") topoext = true;
      }
      EXPECT_EQ(has(script, ",topoext=on"), topoext);
      EXPECT_EQ(count_prefix(words, std::string("-rtc base=") + dom.child("clock").attribute("offset").value()), 1u);
      std::string s3 = dom.child("pm").child("suspend-to-mem").attribute("enabled").value();
      // q35's power management sits in ICH9-LPC, i440fx's in PIIX4_PM.
      std::string pm =
          std::string(dom.child("os").child("type").attribute("machine").value()) == "pc" ? "PIIX4_PM" : "ICH9-LPC";
      EXPECT_EQ(count_prefix(words, "-global " + pm + ".disable_s3=" + (s3 == "no" ? "1" : "0")), 1u);
      for (auto f : dom.child("cpu").children("feature")) {
        std::string name = f.attribute("name").value();
        if (name == "vmx" || name == "svm") {
          EXPECT_TRUE(has(script, "," + name + "=on"));
        }
      }

      EXPECT_EQ(bash_syntax_errors(script), "");
    }
  }
}

}  // namespace
}  // namespace vfioctl
