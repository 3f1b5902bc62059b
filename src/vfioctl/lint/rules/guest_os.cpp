// The guest's CPU model, Windows settings (Hyper-V enlightenments, clock,
// timers) and firmware (Secure Boot and SMM).
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "vfioctl/host/host.h"
#include "vfioctl/lint/rules/checks.h"
#include "vfioctl/lint/rules/qemu_option.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::lint {

namespace {

std::string windows_what(const Domain& d) {
  std::string_view name = d.windows_evidence.name();
  if (name == "hyperv" || d.windows_evidence == d.hyperv) return "Windows guest";
  return fmt::format("Windows guest ({})", d.windows_evidence.attribute("id").value());
}

pugi::xml_node timer(const Domain& d, const char* name) {
  return d.root().child("clock").find_child_by_attribute("timer", "name", name);
}

// QEMU's Intel CPU models (libvirt's cpu_map), by the start of their names.
bool intel_model(std::string_view model) {
  static const char* const kPrefixes[] = {
      "skylake",         "cascadelake", "cooperlake", "icelake",   "haswell",        "broadwell",     "ivybridge",
      "sandybridge",     "westmere",    "nehalem",    "penryn",    "conroe",         "merom",         "core2duo",
      "coreduo",         "n270",        "snowridge",  "denverton", "sapphirerapids", "graniterapids", "sierraforest",
      "clearwaterforest"};
  std::string m = to_lower(trim(model));
  for (const char* p : kPrefixes) {
    if (starts_with(m, p)) return true;
  }
  return false;
}

// Edits that give the guest <timer name='hypervclock' present='yes'/>: in
// place, appended to <clock>, or with a new <clock>. (L014 and L029.)
void hypervclock_on(const Domain& d, EditSet& edits) {
  const XmlEditor& ed = d.editor();
  pugi::xml_node clock = d.root().child("clock");
  NewElement t{"timer", {{"name", "hypervclock"}, {"present", "yes"}}, {}, {}};
  if (pugi::xml_node hv_clock = timer(d, "hypervclock"))
    edits.add(ed.set_attr(hv_clock, "present", "yes"));
  else if (clock)
    edits.add(ed.append(clock, t));
  else
    edits.add(ed.insert(d.root(), NewElement{"clock", {}, {t}, {}}, domain_children_before("clock")));
}

// <cpu> clears the hypervisor bit (<feature policy='disable' name='hypervisor'/>,
// or 'forbid'): the guest takes itself for bare metal.
bool hypervisor_bit_off(const Domain& d) {
  for (pugi::xml_node f : d.root().child("cpu").children("feature")) {
    if (attr_is(f, "name", "hypervisor") && (attr_is(f, "policy", "disable") || attr_is(f, "policy", "forbid")))
      return true;
  }
  return false;
}

}  // namespace

// L013
void check_cpu_mode(const Domain& d, const Host*, Emitter& out) {
  // Under a -cpu override <cpu> does nothing: L025 judges the override.
  // A device passed by a raw -device vfio-pci (L027) makes a passthrough
  // guest as much as a <hostdev>.
  bool raw_vfio = false;
  for (const OptionUse& u : option_uses(d, "device"))
    if (device_driver(parse_option(u.value)) == "vfio-pci") raw_vfio = true;
  if ((d.pci_hostdevs.empty() && !raw_vfio) || d.cpu_override) return;
  pugi::xml_node cpu = d.root().child("cpu");
  std::string fix = "use <cpu mode='host-passthrough' check='none' migratable='off'> (keep its <topology>)";
  const XmlEditor& ed = d.editor();
  EditSet edits;
  if (!cpu) {
    edits.add(ed.insert(d.root(), NewElement{"cpu", {{"mode", "host-passthrough"}, {"check", "none"}}, {}, {}},
                        domain_children_before("cpu")));
    out.add(d.vcpu_node, "no <cpu>: a guest with passed-through PCI devices gets QEMU's default CPU model", fix, edits);
    return;
  }
  std::string mode = cpu.attribute("mode").value();
  if (mode == "host-passthrough" || mode == "maximum") return;
  // The model, its vendor and how it must match go; topology, cache and
  // features stay.
  edits.add(ed.set_attr(cpu, "mode", "host-passthrough"));
  if (cpu.attribute("match")) edits.add(ed.remove_attr(cpu, "match"));
  for (const char* gone : {"model", "vendor"}) {
    for (pugi::xml_node n : cpu.children(gone)) edits.add(ed.remove(n));
  }
  out.add(cpu,
          fmt::format("cpu mode='{}'{} in a guest with passed-through PCI devices", mode.empty() ? "custom" : mode,
                      mode.empty() ? " (the default)" : ""),
          fix, edits);
}

// L014
void check_windows_hyperv(const Domain& d, const Host*, Emitter& out) {
  // Under a -cpu override the enlightenments and the hypervclock timer
  // are the override's hv-* flags: <hyperv> does nothing, and adding to it
  // can stop the guest from starting.
  if (!d.windows || d.cpu_override) return;
  // Windows reads the enlightenments only behind the hypervisor bit: a guest
  // that hides it chose bare metal over them.
  if (hypervisor_bit_off(d)) return;
  // What an enlightenment already on needs is L029's (an error, with its
  // own fix): not asked twice here.
  std::set<std::string> l029;
  if (auto on = hyperv_enabled(d))
    for (const auto& m : hyperv_missing(*on)) l029.insert(m);
  const XmlEditor& ed = d.editor();
  EditSet edits;
  auto enlightenment = [](const char* name) {
    NewElement e{name, {{"state", "on"}}, {}, {}};
    if (std::string_view(name) == "spinlocks") e.attrs.emplace_back("retries", "8191");
    return e;
  };
  const char* const kSet[] = {"relaxed", "vapic", "spinlocks", "vpindex", "synic", "stimer"};
  pugi::xml_node hv_clock = timer(d, "hypervclock");
  auto clock_edits = [&] { hypervclock_on(d, edits); };
  if (!d.hyperv) {
    NewElement hv{"hyperv", {{"mode", "custom"}}, {}, {}};
    for (const char* name : kSet) hv.children.push_back(enlightenment(name));
    if (d.features)
      edits.add(ed.append(d.features, hv));
    else
      edits.add(ed.insert(d.root(), NewElement{"features", {}, {hv}, {}}, domain_children_before("features")));
    if (!hv_clock || attr_is(hv_clock, "present", "no")) clock_edits();
    out.add(d.features ? d.features : d.root(),
            fmt::format("{} without Hyper-V enlightenments (no <hyperv> in <features>)", windows_what(d)),
            "add <hyperv mode='custom'> to <features> with relaxed, vapic, spinlocks (retries='8191'), vpindex, "
            "synic and stimer on, and <timer name='hypervclock' present='yes'/> to <clock>",
            edits);
    return;
  }
  if (attr_is(d.hyperv, "mode", "passthrough")) return;
  std::vector<std::string> missing, fixes;
  std::vector<NewElement> added;
  for (const char* name : kSet) {
    pugi::xml_node n = d.hyperv.child(name);
    if (n && attr_is(n, "state", "on")) continue;
    if (l029.count(name)) continue;
    missing.push_back(name);
    fixes.push_back(std::string_view(name) == "spinlocks" ? "<spinlocks state='on' retries='8191'/>"
                                                          : fmt::format("<{} state='on'/>", name));
    if (!n)
      added.push_back(enlightenment(name));
    else
      edits.add(ed.set_attr(n, "state", "on"));
  }
  if (!added.empty()) edits.add(ed.append(d.hyperv, added));
  bool no_clock = (!hv_clock || attr_is(hv_clock, "present", "no")) && !l029.count("time");
  if (no_clock) clock_edits();
  if (missing.empty() && !no_clock) return;
  std::vector<std::string> what = missing;
  if (no_clock) what.push_back("the hypervclock timer");
  std::string fix;
  if (!fixes.empty()) fix = "add " + join(fixes, " ") + " to <hyperv>";
  if (no_clock)
    fix += std::string(fix.empty() ? "add" : ", and") + " <timer name='hypervclock' present='yes'/> to <clock>";
  out.add(d.hyperv, fmt::format("{} without Hyper-V {}", windows_what(d), join(what, ", ")), fix, edits);
}

// L015
void check_windows_clock(const Domain& d, const Host*, Emitter& out) {
  if (!d.windows) return;
  // An -rtc among the QEMU arguments is merged after libvirt's: its base wins.
  auto rtc = option_uses(d, "rtc");
  if (!rtc.empty()) {
    auto base = parse_option(rtc.back().value).last("base");
    if (base && *base != "utc") return;
  }
  pugi::xml_node clock = d.root().child("clock");
  std::string offset = clock.attribute("offset").value();
  std::string fix = "set <clock offset='localtime'> (or make Windows keep UTC: RealTimeIsUniversal=1 in its registry)";
  if (!offset.empty() && offset != "utc") return;
  EditSet edits;
  if (clock) {
    edits.add(d.editor().set_attr(clock, "offset", "localtime"));
  } else {
    edits.add(d.editor().insert(d.root(), NewElement{"clock", {{"offset", "localtime"}}, {}, {}},
                                domain_children_before("clock")));
  }
  if (offset == "utc") {
    out.add(clock, fmt::format("{} with clock offset='utc'", windows_what(d)), fix, edits);
  } else {
    out.add(clock ? clock : d.root(),
            fmt::format("{} without a clock offset: libvirt's default is UTC", windows_what(d)), fix, edits);
  }
}

// L016
void check_windows_hpet(const Domain& d, const Host*, Emitter& out) {
  if (!d.windows) return;
  pugi::xml_node hpet = timer(d, "hpet");
  if (hpet && attr_is(hpet, "present", "no")) return;
  std::string fix = "add <timer name='hpet' present='no'/> to <clock> (with <timer name='hypervclock' present='yes'/>)";
  const XmlEditor& ed = d.editor();
  EditSet edits;
  if (hpet) {
    edits.add(ed.set_attr(hpet, "present", "no"));
    out.add(hpet, fmt::format("{} with the HPET timer present", windows_what(d)), fix, edits);
  } else {
    pugi::xml_node clock = d.root().child("clock");
    NewElement t{"timer", {{"name", "hpet"}, {"present", "no"}}, {}, {}};
    if (clock)
      edits.add(ed.append(clock, t));
    else
      edits.add(ed.insert(d.root(), NewElement{"clock", {}, {t}, {}}, domain_children_before("clock")));
    out.add(clock ? clock : d.root(),
            fmt::format("{} without <timer name='hpet' present='no'/>: QEMU gives it an HPET", windows_what(d)), fix,
            edits);
  }
}

// L017
void check_vendor_id(const Domain& d, const Host*, Emitter& out) {
  pugi::xml_node v = d.hyperv.child("vendor_id");
  if (!v || attr_is(v, "state", "off")) return;
  std::string value = v.attribute("value").value();
  if (value.size() <= 12) return;
  size_t cut = 12;
  while (cut > 0 && (static_cast<unsigned char>(value[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 character
  EditSet edits;
  edits.add(d.editor().set_attr(v, "value", value.substr(0, cut)));
  out.add(v, fmt::format("Hyper-V vendor_id '{}' is {} characters long; at most 12 are allowed", value, value.size()),
          fmt::format("use at most 12 characters, e.g. value='{}'", value.substr(0, cut)), edits);
}

// L018
void check_spinlocks(const Domain& d, const Host*, Emitter& out) {
  pugi::xml_node s = d.hyperv.child("spinlocks");
  if (!s || !attr_is(s, "state", "on")) return;
  std::string text = s.attribute("retries").value();
  EditSet edits;
  edits.add(d.editor().set_attr(s, "retries", "8191"));
  if (text.empty()) {
    out.add(s, "Hyper-V spinlocks are on without a retries count", "add retries='8191'", edits);
    return;
  }
  auto retries = parse_number(text);
  if (retries && *retries >= 4095) return;
  out.add(s, fmt::format("Hyper-V spinlocks retries='{}' is below the minimum of 4095", text), "set retries='8191'",
          edits);
}

// L026
void check_topoext_intel(const Domain& d, const Host* host, Emitter& out) {
  pugi::xml_node cpu = d.root().child("cpu");
  pugi::xml_node f = cpu.find_child_by_attribute("feature", "name", "topoext");
  std::string policy = f.attribute("policy").value();
  if (!f || (policy != "require" && policy != "force")) return;
  std::string mode = cpu.attribute("mode").value();
  std::string model(trim(cpu.child("model").text().get()));
  std::string vendor = to_lower(trim(cpu.child("vendor").text().get()));
  std::string on;
  if (vendor == "intel") {
    on = "a CPU of <vendor>Intel</vendor>";
  } else if ((mode.empty() || mode == "custom") && intel_model(model)) {
    on = fmt::format("the Intel CPU model {}", model);
  } else if (host && host->platform.vendor == CpuVendor::intel &&
             (mode == "host-passthrough" || mode == "host-model" || mode == "maximum")) {
    on = fmt::format("cpu mode='{}' on this host's Intel CPU{}", mode,
                     host->platform.model_name ? " (" + *host->platform.model_name + ")" : "");
  }
  if (on.empty()) return;
  out.add(f, fmt::format("feature topoext (policy='{}') on {}: topoext is an AMD feature", policy, on),
          "remove <feature policy='" + policy + "' name='topoext'/> (it belongs to guests on AMD CPUs)");
}

// L024
void check_secure_boot(const Domain& d, const Host*, Emitter& out) {
  pugi::xml_node os = d.root().child("os");
  pugi::xml_node loader = os.child("loader");
  pugi::xml_node fw_secure = os.child("firmware").find_child_by_attribute("feature", "name", "secure-boot");
  bool loader_secure = attr_is(loader, "secure", "yes");
  bool fw_wants = attr_is(fw_secure, "enabled", "yes");
  pugi::xml_node smm = d.features.child("smm");
  bool smm_on = feature_on(smm);
  std::string smm_fix = smm ? "set <smm state='on'/> in <features>" : "add <smm state='on'/> to <features>";
  // The edits that turn SMM on, made only for a finding that offers them
  // (most domains have neither a Secure Boot loader nor SMM).
  auto make_smm_edits = [&]() {
    EditSet e;
    if (!smm_on) feature_on_edits(d, "smm", e);
    return e;
  };
  if (loader_secure && !smm_on) {
    EditSet smm_edits = make_smm_edits();
    out.add(loader, fmt::format("Secure Boot loader (secure='yes') with {}", smm ? "smm off" : "no <smm> feature"),
            smm_fix, smm_edits);
    return;
  }
  if (fw_wants && !smm_on) {
    EditSet smm_edits = make_smm_edits();
    if (smm) {
      out.add(smm, "Secure Boot firmware (secure-boot enabled) with smm off", smm_fix, smm_edits);
    } else {
      out.add(fw_secure, Severity::warn,
              "Secure Boot firmware (secure-boot enabled) without <smm state='on'/>: only a libvirt that turns SMM "
              "on by itself accepts it",
              smm_fix, "");
      out.with_edits(smm_edits);
    }
    return;
  }
  std::string path = to_lower(loader.text().get());
  bool secboot_build = path.find("secboot") != std::string::npos || ends_with(path, ".ms.fd");
  if (secboot_build && !loader_secure && !fw_wants) {
    out.add(loader, Severity::warn,
            fmt::format("loader {} is a Secure Boot build, but it is not marked secure='yes'{}", loader.text().get(),
                        smm_on ? "" : " and smm is not on"),
            std::string("add secure='yes' to <loader>") + (smm_on ? "" : " and <smm state='on'/> to <features>"),
            "Without secure='yes' libvirt does not put the firmware's flash behind SMM, so the guest's operating "
            "system can rewrite the Secure Boot variables and Secure Boot protects nothing.");
    // secure='yes' needs SMM, which needs a q35 machine.
    EditSet edits = make_smm_edits();
    if (std::string_view(os.child("type").attribute("machine").value()).find("q35") == std::string_view::npos) {
      edits.fail();
    }
    edits.add(d.editor().set_attr(loader, "secure", "yes"));
    out.with_edits(edits);
  }
}

// --- Hyper-V dependencies -------------------------------------------------

const std::vector<HypervDependency>& hyperv_dependencies() {
  static const std::vector<HypervDependency> table = {
      {"synic", {"vpindex"}},
      {"stimer", {"vpindex", "synic", "time"}},
      {"stimer_direct", {"vpindex", "synic", "time", "stimer"}},
      {"tlbflush", {"vpindex"}},
      {"tlbflush_ext", {"tlbflush"}},
      {"tlbflush_direct", {"vapic"}},
      {"ipi", {"vpindex"}},
      {"evmcs", {"vapic"}},
      {"syndbg", {"relaxed", "time", "vapic", "vpindex", "synic", "runtime", "stimer"}},
  };
  return table;
}

std::optional<std::set<std::string>> hyperv_enabled(const Domain& d) {
  std::set<std::string> on;
  if (d.cpu_override) {
    auto uses = option_uses(d, "cpu");
    if (uses.empty()) return on;
    QemuOption o = parse_option(uses.back().value);
    // Later flags override earlier ones, as QEMU applies them in order.
    for (const QemuProp& p : o.props) {
      std::string name = p.name;
      std::replace(name.begin(), name.end(), '-', '_');
      if (!starts_with(name, "hv_")) continue;
      name = name.substr(3);
      if (name == "passthrough" && qemu_bool(p.value) != false) return std::nullopt;
      if (name == "spinlocks" || name == "vendor_id" || starts_with(name, "version_id")) {
        on.insert(name);
        continue;
      }
      if (qemu_bool(p.value) == true)
        on.insert(name);
      else if (qemu_bool(p.value) == false)
        on.erase(name);
    }
    return on;
  }
  if (!d.hyperv) return on;
  if (attr_is(d.hyperv, "mode", "passthrough")) return std::nullopt;
  for (pugi::xml_node f : d.hyperv.children()) {
    if (f.type() != pugi::node_element || !feature_on(f)) continue;
    std::string name = f.name();
    on.insert(name);
    if (name == "stimer" && feature_on(f.child("direct"))) on.insert("stimer_direct");
    if (name == "tlbflush" && feature_on(f.child("direct"))) on.insert("tlbflush_direct");
    if (name == "tlbflush" && feature_on(f.child("extended"))) on.insert("tlbflush_ext");
  }
  pugi::xml_node clock = d.root().child("clock").find_child_by_attribute("timer", "name", "hypervclock");
  if (clock && attr_is(clock, "present", "yes")) on.insert("time");
  return on;
}

std::vector<std::string> hyperv_missing(const std::set<std::string>& on) {
  std::vector<std::string> out;
  for (const auto& dep : hyperv_dependencies()) {
    if (!on.count(std::string(dep.feature))) continue;
    for (auto need : dep.needs) {
      std::string n(need);
      if (!on.count(n) && std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
    }
  }
  return out;
}

namespace {

// How the XML names an enlightenment: "<synic>", "<timer name='hypervclock'>".
std::string xml_name(std::string_view qemu) {
  if (qemu == "time") return "<timer name='hypervclock'>";
  if (qemu == "stimer_direct") return "<stimer><direct>";
  if (qemu == "tlbflush_direct") return "<tlbflush><direct>";
  if (qemu == "tlbflush_ext") return "<tlbflush><extended>";
  return fmt::format("<{}>", qemu);
}

}  // namespace

// L029
void check_hyperv_dependencies(const Domain& d, const Host*, Emitter& out) {
  auto on = hyperv_enabled(d);
  if (!on) return;
  auto missing = hyperv_missing(*on);
  if (missing.empty()) return;
  // Which enabled enlightenment needs what, as QEMU says it.
  std::vector<std::string> why;
  for (const auto& dep : hyperv_dependencies()) {
    if (!on->count(std::string(dep.feature))) continue;
    std::vector<std::string> lacks;
    for (auto need : dep.needs)
      if (!on->count(std::string(need))) lacks.push_back("hv-" + std::string(need));
    if (!lacks.empty()) {
      std::string f = "hv-" + std::string(dep.feature);
      std::replace(f.begin(), f.end(), '_', '-');
      for (auto& l : lacks) std::replace(l.begin(), l.end(), '_', '-');
      why.push_back(fmt::format("{} requires {}", f, join(lacks, ", ")));
    }
  }
  if (d.cpu_override) {
    std::vector<std::string> flags;
    for (const auto& m : missing) {
      std::string f = "hv-" + m;
      std::replace(f.begin(), f.end(), '_', '-');
      flags.push_back(f);
    }
    out.add(d.cpu_override,
            fmt::format("the -cpu override turns on Hyper-V enlightenments without what they need ({}): QEMU refuses "
                        "to start the guest",
                        join(why, "; ")),
            fmt::format("add {} to the -cpu value", join(flags, ",")));
    return;
  }
  const XmlEditor& ed = d.editor();
  EditSet edits;
  std::vector<NewElement> added;
  std::vector<std::string> names;
  for (const auto& m : missing) {
    names.push_back(xml_name(m));
    if (m == "time") {
      hypervclock_on(d, edits);
      continue;
    }
    if (pugi::xml_node n = d.hyperv.child(m.c_str()))
      edits.add(ed.set_attr(n, "state", "on"));
    else
      added.push_back(NewElement{m, {{"state", "on"}}, {}, {}});
  }
  if (!added.empty()) edits.add(ed.append(d.hyperv, added));
  out.add(
      d.hyperv,
      fmt::format("Hyper-V enlightenments without what they need ({}): QEMU refuses to start the guest",
                  join(why, "; ")),
      fmt::format("turn on {} (state='on'; the clock as <timer name='hypervclock' present='yes'/>)", join(names, ", ")),
      edits);
}

}  // namespace vfioctl::lint
