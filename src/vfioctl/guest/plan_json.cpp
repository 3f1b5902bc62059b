#include "vfioctl/guest/plan_json.h"

#include <fmt/format.h>

#include "vfioctl/guest/libvirt_xml.h"
#include "vfioctl/util/json_writer.h"

namespace vfioctl {

void write_plan_json(std::ostream& out, const GuestPlan& plan, const std::string& xml) {
  JsonWriter w(out);
  w.begin_object();
  w.field("name", plan.name);
  w.key("cpu");
  w.begin_object();
  w.field("cores", plan.cpu.cores);
  w.field("threads", plan.cpu.threads);
  w.field("vcpus", plan.cpu.vcpus);
  w.field("emulator", plan.cpu.emulator);
  w.field("iothread", plan.cpu.iothread);
  w.field("host", plan.cpu.host);
  w.field("node", plan.cpu.node);
  w.field("l3", plan.cpu.l3);
  w.end_object();
  w.key("memory");
  w.begin_object();
  w.field("kib", plan.memory.kib);
  w.field("page_kib", plan.memory.page_kib);
  w.field("pages", plan.memory.pages);
  w.field("node", plan.memory.node);
  w.field("locked", plan.memory.locked);
  w.end_object();
  w.key("devices");
  w.begin_array();
  for (const auto& f : plan.passed) {
    w.begin_object();
    w.field("host", f.host.str());
    w.field("guest", fmt::format("0000:{:02x}:00.{}", f.guest_bus, f.guest_function));
    w.field("gpu", f.gpu);
    w.end_object();
  }
  w.end_array();
  w.key("disks");
  w.begin_array();
  for (const auto& d : plan.disks) {
    static const char* const kRoles[] = {"disk", "media", "installer", "drivers"};
    w.begin_object();
    w.field("source", d.source);
    w.field("role", kRoles[static_cast<int>(d.role)]);
    w.field("bus", (d.cdrom && plan.legacy) ? "ide" : disk_bus_name(d.bus));
    w.field("format", d.format);
    w.field("cache", d.cdrom ? std::optional<std::string>() : std::optional<std::string>(d.io.cache));
    w.field("io", d.cdrom ? std::optional<std::string>() : std::optional<std::string>(d.io.io));
    w.field("boot", d.boot > 0 ? std::optional<int>(d.boot) : std::nullopt);
    w.end_object();
  }
  w.end_array();
  w.key("images");
  w.begin_array();
  for (const auto& i : plan.images) {
    w.begin_object();
    w.field("path", i.path);
    w.field("format", i.format);
    w.field("size_mib", i.size_mib);
    w.field("command", i.argv());
    w.end_object();
  }
  w.end_array();
  w.key("usb");
  w.begin_array();
  for (const auto& u : plan.usb) {
    w.begin_object();
    w.field("id", u.host.id());
    w.field("port", u.host.port);
    w.end_object();
  }
  w.end_array();
  w.key("network");
  w.begin_object();
  static const char* const kModes[] = {"nat", "bridge", "macvtap", "sriov", "none"};
  w.field("mode", kModes[static_cast<int>(plan.net.mode)]);
  w.field("source", plan.net.mode == NetworkSpec::Mode::none ? std::optional<std::string>() : plan.net.source);
  w.field("vf", plan.net.vf ? std::optional<std::string>(plan.net.vf->str()) : std::nullopt);
  w.end_object();
  w.field("audio", audio_backend_name(plan.audio));
  w.field("iothreads", plan.iothreads);
  w.key("hide");
  w.begin_object();
  w.field("kvm", plan.hide.kvm_hidden);
  w.field("vendor_id", plan.hide.vendor_id.empty() ? std::optional<std::string>() : plan.hide.vendor_id);
  w.field("cpuid_bit", !plan.hide.cpuid_bit_off);
  w.end_object();
  w.key("mmio64");
  w.begin_object();
  w.field("bar_bytes", static_cast<long long>(plan.mmio.bar_bytes));
  w.field("window_mib", plan.mmio.window_bytes
                            ? std::optional<long long>(static_cast<long long>(plan.mmio.window_mib()))
                            : std::nullopt);
  w.field("phys_bits", plan.mmio.window_bytes ? std::optional<int>(plan.mmio.phys_bits) : std::nullopt);
  w.end_object();
  w.field("tune", tune_actions(plan));
  w.field("next_steps", plan.next_steps);
  w.field("warnings", plan.warnings);
  w.field("xml", xml);
  w.end_object();
  w.finish();
}

}  // namespace vfioctl
