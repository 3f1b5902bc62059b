#include "vfioctl/host/json.h"

#include <fmt/format.h>

namespace vfioctl {

namespace {

std::optional<std::string> hex_opt(const std::optional<uint16_t>& v) {
  if (!v) return std::nullopt;
  return hex4(*v);
}

std::optional<std::string> name_or_null(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return s;
}

}  // namespace

void write_json(JsonWriter& w, const PciDevice& dev) {
  w.begin_object();
  w.field("address", dev.address.str());
  w.field("vendor_id", hex_opt(dev.vendor_id));
  w.field("device_id", hex_opt(dev.device_id));
  if (auto c = dev.class_id())
    w.field("class", hex_digits(*c, 4));
  else
    w.field("class", nullptr);
  w.field("driver", dev.driver);
  w.field("subsystem_vendor_id", hex_opt(dev.subsystem_vendor_id));
  w.field("subsystem_device_id", hex_opt(dev.subsystem_device_id));
  if (dev.revision)
    w.field("revision", hex_digits(*dev.revision, 2));
  else
    w.field("revision", nullptr);
  w.field("vendor_name", name_or_null(dev.vendor_name));
  w.field("device_name", name_or_null(dev.device_name));
  w.field("class_name", name_or_null(dev.class_name));
  w.field("iommu_group", dev.iommu_group);
  w.field("bridge", dev.is_bridge());
  w.field("boot_vga", dev.boot_vga);
  w.field("reset_methods", dev.reset_methods);
  w.field("sriov_totalvfs", dev.sriov_totalvfs);
  w.field("sriov_numvfs", dev.sriov_numvfs);
  if (dev.physfn)
    w.field("physfn", dev.physfn->str());
  else
    w.field("physfn", nullptr);
  w.field("numa_node", dev.numa_node);
  if (dev.parent)
    w.field("parent", dev.parent->str());
  else
    w.field("parent", nullptr);
  w.field("notes", dev.notes);
  w.end_object();
}

void write_json(JsonWriter& w, const CpuTopology& topo) {
  w.key("cpus");
  w.begin_array();
  for (const auto& c : topo.cpus) {
    w.begin_object();
    w.field("cpu", c.id);
    w.field("package", c.package);
    w.field("die", c.die);
    w.field("core", c.core_id);
    w.field("cluster", c.cluster);
    w.field("siblings", c.siblings);
    w.field("l3", c.l3);
    w.field("node", c.node);
    if (c.kind == CoreKind::unknown)
      w.field("kind", nullptr);
    else
      w.field("kind", core_kind_name(c.kind));
    w.field("online", c.online);
    w.field("isolated", c.isolated);
    w.field("nohz_full", c.nohz_full);
    w.end_object();
  }
  w.end_array();
  w.field("cores", topo.cores());
  w.key("l3");
  w.begin_array();
  for (const auto& d : topo.l3) {
    w.begin_object();
    w.field("l3", d.index);
    w.field("cpus", d.cpus);
    w.field("size_kib", d.size_kib);
    w.end_object();
  }
  w.end_array();
  w.key("nodes");
  w.begin_array();
  for (const auto& n : topo.nodes) {
    w.begin_object();
    w.field("node", n.id);
    w.field("cpus", n.cpus);
    w.end_object();
  }
  w.end_array();
  w.field("isolated", topo.isolated);
  w.field("nohz_full", topo.nohz_full);
  w.field("hybrid", topo.hybrid);
}

void write_json(JsonWriter& w, const Memory& mem) {
  w.begin_object();
  w.field("total_kib", mem.total_kib());
  w.field("meminfo_kib", mem.meminfo_kib);
  w.key("hugepage_pools");
  w.begin_array();
  for (const auto& p : mem.pools) {
    w.begin_object();
    w.field("page_kib", p.page_kib);
    w.field("node", p.node);
    w.field("total", p.total);
    w.field("free", p.free);
    w.field("reserved", p.reserved);
    w.field("surplus", p.surplus);
    w.end_object();
  }
  w.end_array();
  w.field("thp_enabled", mem.thp_enabled);
  w.field("thp_defrag", mem.thp_defrag);
  w.end_object();
}

void write_json(JsonWriter& w, const Kernel& k) {
  w.begin_object();
  w.field("release", k.release);
  w.field("cmdline", k.cmdline);
  w.key("args");
  w.begin_array();
  for (const auto& a : k.args) {
    w.begin_object();
    w.field("key", a.key);
    w.field("value", a.value);
    w.end_object();
  }
  w.end_array();
  w.field("loaded_modules", k.loaded);
  if (k.builtin_known)
    w.field("builtin_modules", k.builtin);
  else
    w.field("builtin_modules", nullptr);
  w.field("module_params", k.params);
  w.end_object();
}

void write_json(JsonWriter& w, const Platform& p) {
  w.begin_object();
  w.field("vendor", cpu_vendor_name(p.vendor));
  w.field("vendor_id", p.vendor_id);
  w.field("model_name", p.model_name);
  w.field("flags", p.flags);
  w.key("iommu_units");
  w.begin_array();
  for (const auto& u : p.iommu_units) {
    w.begin_object();
    w.field("name", u.name);
    w.field("kind", u.kind);
    w.end_object();
  }
  w.end_array();
  w.field("kvm_device", p.kvm_device);
  w.end_object();
}

void write_json(JsonWriter& w, const Notes& notes) {
  w.begin_array();
  for (const auto& n : notes) {
    w.begin_object();
    w.field("path", n.path);
    w.field("message", n.message);
    w.end_object();
  }
  w.end_array();
}

}  // namespace vfioctl
