// libFuzzer target over `vfioctl new`: any bytes as a guest spec (TOML),
// parsed; a spec that parses is planned on two fixture hosts (one without
// the user's side of a host, one with tests/golden/overlay laid over it and
// the files, USB devices and networks the spec names read from it) and
// written as libvirt XML and as a QEMU script. vfioctl::Error is the
// expected way to refuse; any other exception escaping is a finding.
// Beyond the sanitizers' checks it asserts what the hook and `new
// --installed` rely on: the XML is well formed, every evdev device the plan
// has is in it, the hook reads back the plan's actions, memory, page size
// and vCPU CPUs, and `--installed` accepts it.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <pugixml.hpp>
#include <set>
#include <string>
#include <vector>

#include "../unit/fixture_hosts.h"
#include "fuzz_util.h"
#include "vfioctl/guest/guest_plan.h"
#include "vfioctl/guest/libvirt_xml.h"
#include "vfioctl/guest/qemu_script.h"
#include "vfioctl/guest/spec.h"
#include "vfioctl/host/guest_env.h"
#include "vfioctl/host/input.h"
#include "vfioctl/runtime/domain_tune.h"
#include "vfioctl/util/error.h"

namespace {

using namespace vfioctl;
using fuzz::check;

const std::string kSource = VFIOCTL_SOURCE_DIR;

struct Target {
  const Host* host;
  std::vector<InputDevice> inputs;
  const Root* env_root;  // read the spec's files, USB devices and networks here; nullptr: unknown
};

// A fixture host as `vfioctl new --root` sees it.
Target fixture(const std::string& name) {
  Root root(kSource + "/tests/hosts/" + name);
  Notes notes;
  return {&test::fixture_host(name), read_input_devices(root, notes), nullptr};
}

// The golden tests' host: a fixture with the user's side laid over it.
Target golden(const std::string& name) {
  static Root root(fuzz::scratch_root({kSource + "/tests/hosts/" + name, kSource + "/tests/golden/overlay"}));
  static Host host = read_host(root);
  Notes notes;
  return {&host, read_input_devices(root, notes), &root};
}

const std::vector<Target>& targets() {
  static const std::vector<Target> all = {fixture("amd-ryzen9-3900x"), golden("intel-desktop-z370")};
  return all;
}

// VFIOCTL_FUZZ_VERBOSE=1: say what became of each input (to check seeds reach the writers).
bool verbose() {
  static const bool on = std::getenv("VFIOCTL_FUZZ_VERBOSE") != nullptr;
  return on;
}

void check_xml(const GuestPlan& plan, const std::string& xml) {
  pugi::xml_document doc;
  check(static_cast<bool>(doc.load_string(xml.c_str())));
  // Every evdev device of the plan is in the domain (none dropped on the way).
  size_t evdev = 0;
  for (pugi::xml_node n : doc.child("domain").child("devices").children("input"))
    if (std::string(n.attribute("type").value()) == "evdev") ++evdev;
  check(evdev == plan.evdev.size());

  // The hook reads back what the plan decided.
  runtime::DomainTune d = runtime::parse_domain_tune(xml);
  std::vector<std::string> actions = tune_actions(plan);
  check(d.opted_in == !actions.empty());
  check(std::set<std::string>(d.actions.begin(), d.actions.end()) ==
        std::set<std::string>(actions.begin(), actions.end()));
  check(d.memory_kib == plan.memory.kib);
  if (plan.memory.page_kib) check(d.hugepage_kib == plan.memory.page_kib);
  std::set<int> vcpus(plan.cpu.vcpus.begin(), plan.cpu.vcpus.end());
  check(std::vector<int>(vcpus.begin(), vcpus.end()) == d.vcpu_cpus);

  // `vfioctl new --installed` takes the XML `new` wrote.
  std::vector<std::string> removed;
  std::string installed = remove_install_media(xml, removed);
  check(static_cast<bool>(pugi::xml_document().load_string(installed.c_str())));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 256 * 1024) return 0;
  const auto& hosts = targets();
  std::string text(reinterpret_cast<const char*>(data), size);
  GuestSpec spec;
  try {
    spec = parse_guest_spec(text, "fuzz.toml");
  } catch (const Error& e) {
    if (verbose()) std::fprintf(stderr, "not a spec: %s\n", e.what());
    return 0;
  }
  for (const Target& t : hosts) {
    GuestPlan plan;
    try {
      GuestEnv env;
      if (t.env_root) {
        Notes notes;
        env = read_guest_env(*t.env_root, env_request(spec, 1000), notes);
      }
      plan = plan_guest(*t.host, spec, t.inputs, env);
    } catch (const Error& e) {
      if (verbose()) std::fprintf(stderr, "refused: %s\n", e.what());
      continue;
    }
    if (verbose()) std::fprintf(stderr, "planned %s\n", plan.name.c_str());
    // An NVMe disk is refused by the XML writer before libvirt 11.5 (an
    // input error, never another exception), and written from 11.5 on.
    bool nvme = std::any_of(plan.disks.begin(), plan.disks.end(),
                            [](const PlannedDisk& d) { return !d.cdrom && d.bus == DiskBus::nvme; });
    XmlOptions tcg;
    tcg.virt_type = "qemu";
    if (nvme) {
      try {
        libvirt_xml(plan);
        check(false);
      } catch (const Error& e) {
        check(e.code() == ExitCode::bad_input);
      }
      tcg.libvirt_version = kLibvirtNvme;
    } else {
      check_xml(plan, libvirt_xml(plan));
    }
    check_xml(plan, libvirt_xml(plan, tcg));
    std::string script = qemu_script(plan);
    check(!script.empty());
    QemuOptions qo;
    qo.virt_type = "qemu";
    qo.serial_stdio = true;
    check(!qemu_script(plan, qo).empty());
  }
  return 0;
}
