// vfioctl new: a tuned passthrough guest from a small spec.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>

#include "cli.h"
#include "vfioctl/guest/guest_plan.h"
#include "vfioctl/guest/libvirt_xml.h"
#include "vfioctl/guest/plan_json.h"
#include "vfioctl/guest/qemu_script.h"
#include "vfioctl/guest/spec.h"
#include "vfioctl/host/access.h"
#include "vfioctl/host/guest_env.h"
#include "vfioctl/host/host.h"
#include "vfioctl/host/input.h"
#include "vfioctl/setup/guest_install.h"
#include "vfioctl/setup/libvirt_hook.h"
#include "vfioctl/util/atomic_file.h"
#include "vfioctl/util/cpulist.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/input_file.h"
#include "vfioctl/util/json_writer.h"
#include "vfioctl/util/limits.h"
#include "vfioctl/util/process.h"
#include "vfioctl/util/strings.h"
#include "vfioctl/util/units.h"

namespace vfioctl::cli {

namespace {

using setup::create_images;
using setup::define_domain;
using setup::fetch_domain;
using setup::libvirt_version;
using setup::real_runner;

struct NewOptions {
  std::string spec;
  std::string output;
  std::string qemu_script;
  bool force = false;
  bool explain = false;
  bool define = false;
  std::string connect = "qemu:///system";
  std::string virt_type = "kvm";
  std::string installed;  // --installed DOMAIN.xml or a domain name
  // Test-only: boot a kernel directly and log the serial console to a file.
  std::string test_kernel, test_initrd, test_cmdline, test_serial_log;
};

// -o, --qemu-script and --installed's XML: never over an existing file
// without --force, never into a directory that is missing. Checked before
// anything is done (images, define) and again as each file is written.
void check_output(const std::string& path, bool force, const char* option) {
  if (!force && path_exists(path)) {
    throw input_error(fmt::format("{} exists; choose another {}, or add --force to replace it", path, option));
  }
  if (auto dir = missing_directory_of(path))
    throw input_error(fmt::format("{}: directory {} does not exist", path, *dir));
}

// Written through util/atomic_file.h (a temporary beside it, fsync, rename).
// `exec` adds execute bits to the mode a new file gets.
void write_output(const std::string& path, const std::string& content, bool force, const char* option,
                  mode_t exec = 0) {
  check_output(path, force, option);
  FileMode mode = new_file_mode();
  mode.mode |= exec;
  real_fs().write(path, content, mode);
}

// host CPU -> what runs there, one line per CPU (--explain).
void print_explain(const GuestPlan& plan, const Host& host, std::ostream& out) {
  std::map<int, std::string> role;
  for (int cpu : plan.cpu.host) role[cpu] = "host";
  for (int cpu : plan.cpu.emulator) role[cpu] = "host, emulator";
  std::string io = plan.iothreads == 1 ? "iothread 1" : fmt::format("iothreads 1-{}", plan.iothreads);
  for (int cpu : plan.cpu.iothread) {
    role[cpu] = std::find(plan.cpu.emulator.begin(), plan.cpu.emulator.end(), cpu) != plan.cpu.emulator.end()
                    ? "host, emulator, " + io
                    : "host, " + io;
  }
  for (int i = 0; i < plan.cpu.vcpu_count(); ++i)
    role[plan.cpu.vcpus[static_cast<size_t>(i)]] = fmt::format("vCPU {}", i);
  auto count = [](int n, const char* what) { return fmt::format("{} {}{}", n, what, n == 1 ? "" : "s"); };
  out << fmt::format("{}: {} ({} x {}), {} MiB", plan.name, count(plan.cpu.vcpu_count(), "vCPU"),
                     count(plan.cpu.cores, "core"), count(plan.cpu.threads, "thread"), plan.memory.kib / 1024);
  if (plan.memory.page_kib) {
    out << fmt::format(" on {} {} pages", plan.memory.pages, page_name(plan.memory.page_kib));
  }
  out << "\n\nhost CPU  core   L3   role\n";
  for (const auto& [cpu, r] : role) {
    const Cpu* c = host.cpu.find(cpu);
    std::string core = c && !c->siblings.empty() ? format_cpulist(c->siblings) : "?";
    std::string l3 = c && c->l3 ? std::to_string(*c->l3) : "-";
    out << fmt::format("{:<9} {:<6} {:<4} {}\n", cpu, core, l3, r);
  }
  if (!plan.passed.empty()) {
    out << "\ndevices\n";
    for (const auto& f : plan.passed) {
      const PciDevice* d = host.device(f.host);
      out << fmt::format("  {} -> guest {:02x}:00.{}  {}\n", f.host.short_str(), f.guest_bus, f.guest_function,
                         d ? d->device_name : "");
    }
  }
  out << "\nwhy\n";
  for (const auto& r : plan.cpu.reasons) out << "  " << r << "\n";
  for (const auto& r : plan.memory.reasons) out << "  " << r << "\n";
  for (const auto& r : plan.reasons) out << "  " << r << "\n";
  if (!plan.mmio.why.empty()) out << "  " << plan.mmio.why << "\n";
}

// --installed: drop the CD-ROMs of a written XML (in place, or to -o) or of
// a defined domain (redefined).
void run_installed(const NewOptions& o) {
  bool file = is_regular_file_path(o.installed);
  std::string xml;
  if (file) {
    xml = read_input_file(o.installed, "the domain XML", limits::kDomainXmlBytes);
  } else {
    xml = fetch_domain(o.connect, o.installed);
  }
  std::vector<std::string> removed;
  std::string out;
  try {
    out = remove_install_media(xml, removed);
  } catch (const Error& e) {
    throw input_error(fmt::format("--installed {}: {}", o.installed, e.what()));
  }
  if (removed.empty()) {
    std::cerr << fmt::format("{} has no CD-ROM: nothing to remove.\n", o.installed);
    return;
  }
  if (file) {
    std::string target = o.output.empty() ? o.installed : o.output;
    write_output(target, out, o.output.empty() || o.force, "-o");
    std::cerr << fmt::format("Removed {} CD-ROM(s) ({}); wrote {}.\n", removed.size(), join(removed, ", "), target);
    return;
  }
  define_domain(o.connect, out, o.installed);
  std::cerr << fmt::format("Removed {} CD-ROM(s) ({}) from {} at {}.\n", removed.size(), join(removed, ", "),
                           o.installed, o.connect);
}

// What to do next and what the host must allow, on stderr.
void print_summary(const GuestPlan& plan, bool writes) {
  if (!writes && !plan.images.empty()) {
    for (const auto& img : plan.images)
      std::cerr << fmt::format("vfioctl: note: {} will be created when the guest is written (-o, --define): {}\n",
                               img.path, join(img.argv(), " "));
  }
  if (!plan.next_steps.empty()) {
    std::cerr << "Next:\n";
    for (const auto& s : plan.next_steps) std::cerr << "  - " << s << "\n";
  }
  if (!plan.permissions.empty()) {
    std::cerr << "The host must allow (check with 'vfioctl doctor --guest FILE.xml'):\n";
    for (const auto& p : plan.permissions) std::cerr << fmt::format("  - {} {}: {}\n", p.what, p.path, p.fix);
  }
}

std::optional<int> invoking_uid() {
  if (const char* s = std::getenv("SUDO_UID"); s && *s) {
    if (auto v = parse_int(s)) return static_cast<int>(*v);
  }
  return static_cast<int>(::getuid());
}

}  // namespace

void add_new(CLI::App& app, GlobalOptions& g) {
  auto o = std::make_shared<NewOptions>();
  CLI::App* cmd = app.add_subcommand("new", "write a tuned passthrough guest (libvirt XML) from a small spec");
  cmd->description(
      "Plan a guest from SPEC.toml (docs/spec.md) and this host's facts, and write its libvirt domain XML:\n"
      "whole CPU cores pinned (never core 0; one L3 domain when it fits; P-cores first), emulator and\n"
      "iothread on host CPUs, hugepages sized exactly, whole IOMMU groups passed with a GPU's functions on\n"
      "one guest slot, and the preset's defaults (Hyper-V enlightenments, clocks, virtio-scsi, ...).\n"
      "Requests the host cannot meet are errors naming the spec line (exit 2); nothing is written.");
  cmd->add_option("spec", o->spec, "the guest spec (TOML); examples/ has one per preset");
  cmd->add_option("--installed", o->installed,
                  "the OS is installed: remove the CD-ROMs from this domain XML (in place, or to -o) or from the "
                  "domain of this name at --connect")
      ->type_name("DOMAIN");
  cmd->add_option("-o,--output", o->output, "write the XML to FILE (default: standard output)");
  cmd->add_option("--qemu-script", o->qemu_script,
                  "also write a bash script that starts the guest with plain QEMU and pins it ('vfioctl pin')")
      ->type_name("FILE");
  cmd->add_flag("--force", o->force,
                "replace an existing --output or --qemu-script file; pass the host's boot GPU (its console goes)");
  cmd->add_flag("--explain", o->explain, "print the plan (host CPU -> vCPU / emulator / iothread / host) on stderr");
  cmd->add_flag("--define", o->define, "define the domain in libvirt (it is not started)");
  cmd->add_option("--connect", o->connect, "libvirt URI for --define (qemu+ssh://host/system for a remote host)")
      ->capture_default_str();
  cmd->add_option("--virt-type", o->virt_type,
                  "kvm (default), or qemu: software emulation for testing where /dev/kvm is missing")
      ->check(CLI::IsMember({"kvm", "qemu"}))
      ->capture_default_str();
  // Hidden: the end-to-end tests boot a kernel and read the serial console.
  cmd->add_option("--test-kernel", o->test_kernel)->group("");
  cmd->add_option("--test-initrd", o->test_initrd)->group("");
  cmd->add_option("--test-cmdline", o->test_cmdline)->group("");
  cmd->add_option("--test-serial-log", o->test_serial_log)->group("");
  cmd->footer(
      "\nExamples:\n  vfioctl new examples/windows-gaming.toml -o win11.xml --explain\n"
      "  vfioctl new my.toml --define --connect qemu+ssh://server/system\n"
      "  vfioctl --root tests/hosts/amd-ryzen9-3900x new examples/windows-gaming.toml");
  cmd->callback([o, &g]() {
    if (!o->installed.empty()) {
      if (!o->spec.empty()) throw input_error("--installed takes a domain, not a spec; leave out " + o->spec);
      run_installed(*o);
      return;
    }
    if (o->spec.empty()) throw input_error("new: give a spec (SPEC.toml), or --installed DOMAIN");
    GuestSpec spec = load_guest_spec(o->spec);
    Root root = open_root(g);
    Host host = read_host(root);
    Notes input_notes;
    auto inputs = read_input_devices(root, input_notes);
    GuestEnv env = read_guest_env(root, env_request(spec, invoking_uid()), input_notes);
    GuestPlan plan = plan_guest(host, spec, inputs, env, o->force);
    XmlOptions xo;
    xo.virt_type = o->virt_type;
    xo.kernel = o->test_kernel;
    xo.initrd = o->test_initrd;
    xo.cmdline = o->test_cmdline;
    xo.serial_log = o->test_serial_log;
    // An NVMe disk depends on the libvirt it is defined in: ask it.
    bool nvme = std::any_of(plan.disks.begin(), plan.disks.end(),
                            [](const PlannedDisk& d) { return !d.cdrom && d.bus == DiskBus::nvme; });
    if (o->define && nvme) {
      if (auto v = libvirt_version(o->connect, plan.name)) xo.libvirt_version = *v;
    }
    // The XML goes to -o, --define, --json or standard output; a QEMU script
    // alone needs none (and libvirt before 11.5 has no NVMe disk to write).
    bool want_xml = !o->output.empty() || o->define || g.json || o->qemu_script.empty();
    std::string xml = want_xml ? libvirt_xml(plan, xo) : std::string();
    std::string script;
    if (!o->qemu_script.empty()) {
      QemuOptions qo;
      qo.virt_type = o->virt_type;
      // The script calls this vfioctl to pin; a plan for another host (--root) calls the one in PATH there.
      std::string self = g.root == "/" ? self_executable() : std::string();
      if (!self.empty()) qo.vfioctl = self;
      // QEMU runs from / (-daemonize): paths must be absolute.
      qo.kernel = absolute_path(o->test_kernel);
      qo.initrd = absolute_path(o->test_initrd);
      qo.cmdline = o->test_cmdline;
      qo.serial_log = absolute_path(o->test_serial_log);
      qo.distro = host.system.distro;
      qo.openrc = host.system.openrc;
      qo.firmware = host.system.firmware;
      script = qemu_script(plan, qo);
    }
    if (o->explain) print_explain(plan, host, std::cerr);
    for (const auto& w : plan.warnings) std::cerr << "vfioctl: warning: " << w << "\n";
    if (!script.empty()) check_output(o->qemu_script, o->force, "--qemu-script");
    if (!o->output.empty()) check_output(o->output, o->force, "-o");
    bool writes = !o->output.empty() || !o->qemu_script.empty() || o->define;
    // The domain asks the libvirt hook to tune the host; without the hook nothing would.
    bool domain_xml = o->qemu_script.empty() || !o->output.empty() || o->define;
    if (domain_xml && !tune_actions(plan).empty()) {
      if (!setup::libvirt_hook_installed(root))
        plan.permissions.push_back({"vfioctl hook", kLibvirtHookFile,
                                    fmt::format("tunes the host while the guest runs ({}): 'vfioctl hook install "
                                                "--apply', then restart libvirtd",
                                                join(tune_actions(plan), ", "))});
    }
    if (writes) create_images(plan, root, host.system.distro, *real_runner(root), std::cerr);
    if (!g.json) print_summary(plan, writes);
    if (!o->output.empty()) {
      write_output(o->output, xml, o->force, "-o");
      std::cerr << fmt::format("Wrote {} ({}).\n", o->output, plan.name);
    }
    if (!script.empty()) {
      write_output(o->qemu_script, script, o->force, "--qemu-script", 0111);
      std::cerr << fmt::format("Wrote {} ({}); start the guest with: sudo {}\n", o->qemu_script, plan.name,
                               o->qemu_script.find('/') != std::string::npos ? o->qemu_script : "./" + o->qemu_script);
      if (auto actions = tune_actions(plan); !actions.empty())
        std::cerr << fmt::format(
            "The script tunes the host while the guest runs ({}) with 'vfioctl tune', as the libvirt hook does, and "
            "gives it back when QEMU ends ('vfioctl hook status' shows it).\n",
            join(actions, ", "));
    }
    if (o->output.empty()) {
      if (g.json) {
        write_plan_json(std::cout, plan, xml);
      } else if (!o->define && o->qemu_script.empty()) {
        std::cout << xml;
      }
    }
    if (o->define) {
      define_domain(o->connect, xml, plan.name);
      std::cerr << fmt::format("Defined {} at {}; start it with: virsh -c {} start {}\n", plan.name, o->connect,
                               o->connect, plan.name);
    }
  });
}

}  // namespace vfioctl::cli
