#include "vfioctl/host/json.h"

#include <fmt/format.h>

namespace vfioctl {

using nlohmann::json;

namespace {

template <typename T>
json opt(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

json hex_opt(const std::optional<uint16_t>& v) {
  return v ? json(hex4(*v)) : json(nullptr);
}

json name_or_null(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

}  // namespace

json to_json(const PciDevice& dev) {
  json j;
  j["address"] = dev.address.str();
  j["vendor_id"] = hex_opt(dev.vendor_id);
  j["device_id"] = hex_opt(dev.device_id);
  j["class"] = dev.class_id() ? json(fmt::format("{:04x}", *dev.class_id())) : json(nullptr);
  j["driver"] = opt(dev.driver);
  j["subsystem_vendor_id"] = hex_opt(dev.subsystem_vendor_id);
  j["subsystem_device_id"] = hex_opt(dev.subsystem_device_id);
  j["revision"] = dev.revision ? json(fmt::format("{:02x}", *dev.revision)) : json(nullptr);
  j["vendor_name"] = name_or_null(dev.vendor_name);
  j["device_name"] = name_or_null(dev.device_name);
  j["class_name"] = name_or_null(dev.class_name);
  j["iommu_group"] = opt(dev.iommu_group);
  j["bridge"] = dev.is_bridge();
  j["boot_vga"] = opt(dev.boot_vga);
  j["reset_methods"] = opt(dev.reset_methods);
  j["sriov_totalvfs"] = opt(dev.sriov_totalvfs);
  j["sriov_numvfs"] = opt(dev.sriov_numvfs);
  j["physfn"] = dev.physfn ? json(dev.physfn->str()) : json(nullptr);
  j["numa_node"] = opt(dev.numa_node);
  j["parent"] = dev.parent ? json(dev.parent->str()) : json(nullptr);
  j["notes"] = dev.notes;
  return j;
}

json to_json(const CpuTopology& topo) {
  json cpus = json::array();
  for (const auto& c : topo.cpus) {
    json j;
    j["cpu"] = c.id;
    j["package"] = opt(c.package);
    j["die"] = opt(c.die);
    j["core"] = opt(c.core_id);
    j["cluster"] = opt(c.cluster);
    j["siblings"] = c.siblings;
    j["l3"] = opt(c.l3);
    j["node"] = opt(c.node);
    j["kind"] = c.kind == CoreKind::unknown ? json(nullptr) : json(core_kind_name(c.kind));
    j["online"] = c.online;
    j["isolated"] = c.isolated;
    j["nohz_full"] = c.nohz_full;
    cpus.push_back(std::move(j));
  }
  json l3 = json::array();
  for (const auto& d : topo.l3) {
    l3.push_back({{"l3", d.index}, {"cpus", d.cpus}, {"size_kib", opt(d.size_kib)}});
  }
  json nodes = json::array();
  for (const auto& n : topo.nodes) nodes.push_back({{"node", n.id}, {"cpus", n.cpus}});
  json cores = json::array();
  for (const auto& c : topo.cores()) cores.push_back(c);
  return {{"cpus", cpus}, {"cores", cores}, {"l3", l3}, {"nodes", nodes},
          {"isolated", topo.isolated}, {"nohz_full", topo.nohz_full}, {"hybrid", topo.hybrid}};
}

json to_json(const Memory& mem) {
  json pools = json::array();
  for (const auto& p : mem.pools) {
    pools.push_back({{"page_kib", p.page_kib}, {"node", opt(p.node)}, {"total", opt(p.total)},
                     {"free", opt(p.free)}, {"reserved", opt(p.reserved)}, {"surplus", opt(p.surplus)}});
  }
  return {{"total_kib", opt(mem.total_kib())}, {"meminfo_kib", mem.meminfo_kib},
          {"hugepage_pools", pools}, {"thp_enabled", opt(mem.thp_enabled)},
          {"thp_defrag", opt(mem.thp_defrag)}};
}

json to_json(const Kernel& k) {
  json args = json::array();
  for (const auto& a : k.args) args.push_back({{"key", a.key}, {"value", opt(a.value)}});
  return {{"release", opt(k.release)}, {"cmdline", opt(k.cmdline)}, {"args", args},
          {"loaded_modules", k.loaded},
          {"builtin_modules", k.builtin_known ? json(k.builtin) : json(nullptr)},
          {"module_params", k.params}};
}

json to_json(const Platform& p) {
  json units = json::array();
  for (const auto& u : p.iommu_units) units.push_back({{"name", u.name}, {"kind", u.kind}});
  return {{"vendor", cpu_vendor_name(p.vendor)}, {"vendor_id", opt(p.vendor_id)},
          {"model_name", opt(p.model_name)}, {"flags", p.flags}, {"iommu_units", units},
          {"kvm_device", p.kvm_device}};
}

json to_json(const Notes& notes) {
  json out = json::array();
  for (const auto& n : notes) out.push_back({{"path", n.path}, {"message", n.message}});
  return out;
}

}  // namespace vfioctl
