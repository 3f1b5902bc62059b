#include "vfioctl/runtime/domain_tune.h"

#include <fmt/format.h>
#include <pugixml.hpp>

#include <algorithm>
#include <map>
#include <set>

#include "vfioctl/host/kernel.h"
#include "vfioctl/util/cpulist.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/names.h"
#include "vfioctl/util/strings.h"
#include "vfioctl/util/xml_check.h"

namespace vfioctl::runtime {

bool DomainTune::wants(const std::string& action) const {
  return std::find(actions.begin(), actions.end(), action) != actions.end();
}

namespace {

// A libvirt size in KiB: -1 for a unit libvirt does not know, -2 for a
// negative size or one past 2^53 KiB (8 EiB: more than any machine, and room
// for the hook's arithmetic on it).
long long to_kib(long long value, std::string unit) {
  std::transform(unit.begin(), unit.end(), unit.begin(), [](unsigned char c) { return std::tolower(c); });
  // (multiplier, divisor) of the unit against KiB.
  static const std::map<std::string, std::pair<long long, long long>> units = {
      {"", {1, 1}},
      {"k", {1, 1}},
      {"kib", {1, 1}},
      {"b", {1, 1024}},
      {"bytes", {1, 1024}},
      {"kb", {1000, 1024}},
      {"m", {1024, 1}},
      {"mib", {1024, 1}},
      {"mb", {1000 * 1000, 1024}},
      {"g", {1024 * 1024, 1}},
      {"gib", {1024 * 1024, 1}},
      {"gb", {1000 * 1000 * 1000, 1024}},
      {"t", {1024LL * 1024 * 1024, 1}},
      {"tib", {1024LL * 1024 * 1024, 1}},
  };
  auto it = units.find(unit);
  if (it == units.end()) return -1;
  if (value < 0) return -2;
  long long scaled = 0;
  if (__builtin_mul_overflow(value, it->second.first, &scaled)) return -2;
  long long kib = scaled / it->second.second;
  return kib > (1LL << 53) ? -2 : kib;
}

}  // namespace

DomainTune parse_domain_tune(const std::string& xml) {
  if (auto p = xml_problem(xml))
    throw input_error(p->line
                          ? fmt::format("domain XML on stdin: line {}: not well-formed XML: {}", p->line, p->message)
                          : "domain XML on stdin: not well-formed XML: " + p->message);
  pugi::xml_document doc;
  auto ok = doc.load_buffer(xml.data(), xml.size());
  if (!ok) throw input_error(fmt::format("domain XML on stdin: {} at byte {}", ok.description(), ok.offset));
  auto dom = doc.child("domain");
  if (!dom) throw input_error("domain XML on stdin: no <domain> element (libvirt passes the domain XML to qemu hooks)");
  DomainTune t;
  t.name = trim(dom.child_value("name"));
  t.uuid = trim(dom.child_value("uuid"));
  std::string who = t.name.empty() ? "domain" : "domain '" + t.name + "'";

  for (auto m : dom.child("metadata").children()) {
    if (!is_tune_element(m)) continue;
    t.opted_in = true;
    std::vector<std::string> words;
    for (const auto& a : split_ws(m.attribute(kTuneActionsAttr).value())) words.emplace_back(a);
    std::string unknown;
    auto actions = tune_actions_in_order(words, &unknown);
    if (!actions)
      throw input_error(fmt::format("{}: <vfioctl:tune actions> has '{}', which is not one of {}", who, unknown,
                                    join(tune_action_names(), ", ")));
    t.actions = *actions;
  }
  // A tuned guest's name names its state file and log lines.
  if (t.opted_in) {
    if (auto problem = guest_name_problem(t.name))
      throw input_error(
          fmt::format("{}: {}: rename the guest ('virsh domrename OLD NEW') to have it tuned", who, *problem));
  }

  auto mem = dom.child("memory");
  if (mem) {
    long long v = 0;
    try {
      v = std::stoll(std::string(trim(mem.child_value())));
    } catch (...) {
      throw input_error(fmt::format("{}: <memory> '{}' is not a number", who, mem.child_value()));
    }
    t.memory_kib = to_kib(v, mem.attribute("unit").value());
    if (t.memory_kib == -1)
      throw input_error(
          fmt::format("{}: <memory unit='{}'> is not a unit libvirt knows", who, mem.attribute("unit").value()));
    if (t.memory_kib < 0)
      throw input_error(fmt::format("{}: <memory> '{}' is not a size a machine has", who, mem.child_value()));
  }

  if (auto hp = dom.child("memoryBacking").child("hugepages")) {
    t.hugepage_kib = 0;
    // A <page> without nodeset is the size for the whole guest; with one,
    // the first page element still gives the size vfioctl reserves.
    for (auto page : hp.children("page")) {
      long long size = page.attribute("size").as_llong(0);
      long long kib = to_kib(size, page.attribute("unit").value());
      if (kib <= 0)
        throw input_error(fmt::format("{}: <hugepages><page size='{}' unit='{}'> is not a page size", who,
                                      page.attribute("size").value(), page.attribute("unit").value()));
      t.hugepage_kib = kib;
      if (!page.attribute("nodeset")) break;
    }
  }

  if (auto nm = dom.child("numatune").child("memory")) {
    auto nodes = parse_libvirt_cpuset(nm.attribute("nodeset").value());
    if (nodes && nodes->size() == 1) t.node = nodes->front();
  }

  std::set<int> cpus;
  for (auto pin : dom.child("cputune").children("vcpupin")) {
    std::string set = pin.attribute("cpuset").value();
    auto c = parse_libvirt_cpuset(set);
    if (!c)
      throw input_error(fmt::format("{}: <vcpupin vcpu='{}' cpuset='{}'> is not a CPU list", who,
                                    pin.attribute("vcpu").value(), set));
    cpus.insert(c->begin(), c->end());
  }
  if (cpus.empty()) {
    if (auto set = dom.child("vcpu").attribute("cpuset")) {
      auto c = parse_libvirt_cpuset(set.value());
      if (!c) throw input_error(fmt::format("{}: <vcpu cpuset='{}'> is not a CPU list", who, set.value()));
      cpus.insert(c->begin(), c->end());
    }
  }
  t.vcpu_cpus.assign(cpus.begin(), cpus.end());
  return t;
}

DomainTune tune_request(const TuneRequest& r) {
  DomainTune t;
  t.name = r.name;
  t.opted_in = true;
  if (auto problem = guest_name_problem(r.name)) throw input_error(fmt::format("tune: {}", *problem));
  std::string text = r.actions;
  std::replace(text.begin(), text.end(), ',', ' ');
  std::vector<std::string> words;
  for (const auto& a : split_ws(text)) words.emplace_back(a);
  std::string unknown;
  auto actions = tune_actions_in_order(words, &unknown);
  if (!actions)
    throw input_error(fmt::format("--actions: '{}' is not one of {}", unknown, join(tune_action_names(), ", ")));
  if (actions->empty()) throw input_error("--actions: name at least one of " + join(tune_action_names(), ", "));
  t.actions = *actions;
  if (!r.cpus.empty()) {
    auto c = parse_cpulist(r.cpus);
    if (!c || c->empty()) throw input_error(fmt::format("--cpus '{}': not a CPU list (like 2-5 or 2,3,8,9)", r.cpus));
    t.vcpu_cpus = *c;
  }
  if (!r.memory.empty()) {
    auto kib = size_kib(r.memory);
    if (!kib || *kib <= 0) throw input_error(fmt::format("--memory '{}': not a size (like 8G or 512M)", r.memory));
    t.memory_kib = *kib;
  }
  if (!r.hugepages.empty()) {
    if (r.hugepages == "default") {
      t.hugepage_kib = 0;
    } else {
      auto kib = size_kib(r.hugepages);
      if (!kib || *kib <= 4)
        throw input_error(fmt::format("--hugepages '{}': not a page size (2M, 1G or default)", r.hugepages));
      t.hugepage_kib = *kib;
    }
  }
  if (t.wants("hugepages") && (!t.hugepage_kib || t.memory_kib == 0))
    throw input_error("--actions hugepages needs --memory and --hugepages (the guest's size and its page size)");
  if (r.node && *r.node < 0) throw input_error(fmt::format("--node {}: not a NUMA node", *r.node));
  t.node = r.node;
  bool cpu_work = t.wants("isolate") || t.wants("governor") || t.wants("irq");
  if (cpu_work && t.vcpu_cpus.empty())
    throw input_error("--actions isolate, governor and irq need --cpus (the CPUs the vCPUs are pinned to)");
  return t;
}

}  // namespace vfioctl::runtime
