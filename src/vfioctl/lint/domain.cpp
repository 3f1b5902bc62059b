#include "vfioctl/lint/domain.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <set>

#include "vfioctl/lint/edit.h"
#include "vfioctl/util/strings.h"
#include "vfioctl/util/units.h"
#include "vfioctl/util/xml_check.h"

namespace vfioctl::lint {

namespace {

std::optional<long> parse_long(std::string_view s) {
  s = trim(s);
  if (s.empty() || s.size() > 18) return std::nullopt;
  long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::optional<PciLocation> pci_location(pugi::xml_node address) {
  if (!address) return std::nullopt;
  PciLocation l;
  auto domain = parse_number(address.attribute("domain").value());
  auto bus = parse_number(address.attribute("bus").value());
  auto slot = parse_number(address.attribute("slot").value());
  auto function = parse_number(address.attribute("function").value());
  // libvirt defaults a missing domain to 0; bus, slot and function are required.
  if (!bus || !slot || !function) return std::nullopt;
  l.domain = domain ? static_cast<unsigned>(*domain) : 0;
  l.bus = static_cast<unsigned>(*bus);
  l.slot = static_cast<unsigned>(*slot);
  l.function = static_cast<unsigned>(*function);
  return l;
}

ThreadPin thread_pin(pugi::xml_node n, int id) {
  ThreadPin p;
  p.iothread = id;
  p.cpuset = n.attribute("cpuset").value();
  p.cpus = parse_libvirt_cpuset(p.cpuset).value_or(std::vector<int>{});
  p.node = n;
  return p;
}

bool is_windows_os_id(std::string_view id) { return starts_with(id, "http://microsoft.com/win"); }

}  // namespace

std::optional<unsigned long long> parse_scaled(std::string_view value, std::string_view unit,
                                               unsigned long long default_unit) {
  auto v = parse_long(value);
  if (!v) return std::nullopt;
  unit = trim(unit);
  unsigned long long scale = default_unit;
  if (!unit.empty()) {
    std::string u = to_lower(unit);
    if (u == "b" || u == "bytes") {
      scale = 1;
    } else {
      unsigned long long base;
      std::string rest = u.substr(1);
      if (rest.empty() || rest == "ib")
        base = 1024;
      else if (rest == "b")
        base = 1000;
      else
        return std::nullopt;
      int power;
      switch (u[0]) {
        case 'k': power = 1; break;
        case 'm': power = 2; break;
        case 'g': power = 3; break;
        case 't': power = 4; break;
        case 'p': power = 5; break;
        case 'e': power = 6; break;
        default: return std::nullopt;
      }
      scale = 1;
      for (int i = 0; i < power; ++i) scale *= base;
    }
  }
  unsigned long long n = static_cast<unsigned long long>(*v);
  if (scale && n > ~0ULL / scale) return std::nullopt;
  return n * scale;
}

std::optional<unsigned long> parse_number(std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  if (starts_with(text, "0x") || starts_with(text, "0X")) {
    if (text.size() == 2) return std::nullopt;
    return parse_hex(text);
  }
  auto v = parse_long(text);
  if (!v) return std::nullopt;
  return static_cast<unsigned long>(*v);
}

std::string format_kib(unsigned long long kib) {
  // At most 2^64 bytes: fits in a long long.
  return size_text_kib(static_cast<long long>(kib), {.spelled = true, .fit = Fit::whole});
}

std::string_view local_name(pugi::xml_node n) {
  std::string_view name = n.name();
  size_t colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

std::string namespace_of(pugi::xml_node n) {
  std::string_view name = n.name();
  size_t colon = name.find(':');
  if (colon == std::string_view::npos) return {};
  std::string attr = "xmlns:" + std::string(name.substr(0, colon));
  for (pugi::xml_node a = n; a && a.type() == pugi::node_element; a = a.parent()) {
    if (pugi::xml_attribute x = a.attribute(attr.c_str())) return x.value();
  }
  return {};
}

std::string PciLocation::str() const { return fmt::format("{:04x}:{:02x}:{:02x}.{:x}", domain, bus, slot, function); }

std::string PciLocation::short_str() const {
  return domain ? str() : fmt::format("{:02x}:{:02x}.{:x}", bus, slot, function);
}

std::string PciLocation::slot_str() const {
  return domain ? fmt::format("{:04x}:{:02x}:{:02x}", domain, bus, slot) : fmt::format("{:02x}:{:02x}", bus, slot);
}

Domain::~Domain() = default;

const XmlEditor& Domain::editor() const {
  if (!m_editor) m_editor = std::make_unique<XmlEditor>(*this);
  return *m_editor;
}

int Domain::line(pugi::xml_node n) const {
  if (!n) return 0;
  ptrdiff_t off = n.offset_debug();
  if (off < 0) return 0;
  auto it = std::upper_bound(m_line_starts.begin(), m_line_starts.end(), static_cast<size_t>(off));
  return static_cast<int>(it - m_line_starts.begin());
}

void Domain::collect() {
  pugi::xml_node d = m_root;

  vcpu_node = d.child("vcpu");
  if (vcpu_node) {
    if (auto n = parse_long(vcpu_node.text().get()); n && *n > 0 && *n < 100000) vcpus = static_cast<int>(*n);
  }
  // Offline at start: the per-vCPU list decides where there is one, else
  // the count beyond current=.
  pugi::xml_node list = d.child("vcpus");
  if (list) {
    for (pugi::xml_node v : list.children("vcpu")) {
      auto id = parse_long(v.attribute("id").value());
      if (id && *id >= 0 && *id < 100000 && std::string_view(v.attribute("enabled").value()) == "no")
        vcpus_offline.insert(static_cast<int>(*id));
    }
  } else if (vcpus) {
    if (auto cur = parse_long(vcpu_node.attribute("current").value()); cur && *cur > 0 && *cur < *vcpus) {
      for (int id = static_cast<int>(*cur); id < *vcpus; ++id) vcpus_offline.insert(id);
    }
  }

  cputune = d.child("cputune");
  for (pugi::xml_node n : cputune.children()) {
    std::string_view name = n.name();
    if (name == "vcpupin") {
      auto id = parse_long(n.attribute("vcpu").value());
      if (!id) continue;
      VcpuPin p;
      p.vcpu = static_cast<int>(*id);
      p.cpuset = n.attribute("cpuset").value();
      p.cpus = parse_libvirt_cpuset(p.cpuset).value_or(std::vector<int>{});
      p.node = n;
      vcpupins.push_back(std::move(p));
    } else if (name == "emulatorpin" && !emulatorpin) {
      emulatorpin = thread_pin(n, 0);
    } else if (name == "iothreadpin") {
      auto id = parse_long(n.attribute("iothread").value());
      if (id) iothreadpins.push_back(thread_pin(n, static_cast<int>(*id)));
    }
  }

  std::set<int> ids;
  for (pugi::xml_node t : d.child("iothreadids").children("iothread")) {
    if (auto id = parse_long(t.attribute("id").value())) ids.insert(static_cast<int>(*id));
  }
  long count = parse_long(d.child("iothreads").text().get()).value_or(0);
  // libvirt numbers iothreads beyond the listed ids itself, lowest free first.
  for (int next = 1; static_cast<long>(ids.size()) < count && next < 100000; ++next) ids.insert(next);
  iothread_ids.assign(ids.begin(), ids.end());

  memory_node = d.child("memory");
  if (memory_node) {
    if (auto bytes = parse_scaled(memory_node.text().get(), memory_node.attribute("unit").value(), 1024)) {
      memory_kib = *bytes / 1024;
    }
  }
  memory_backing = d.child("memoryBacking");
  hugepages = memory_backing.child("hugepages");
  for (pugi::xml_node page : hugepages.children("page")) {
    auto bytes = parse_scaled(page.attribute("size").value(), page.attribute("unit").value(), 1024);
    if (bytes && *bytes >= 1024) page_sizes.push_back({*bytes / 1024, page});
  }
  locked = memory_backing.child("locked");

  for (pugi::xml_node h : d.child("devices").children("hostdev")) {
    if (std::string_view(h.attribute("type").value()) != "pci") continue;
    std::string_view mode = h.attribute("mode").value();
    if (!mode.empty() && mode != "subsystem") continue;
    auto host = pci_location(h.child("source").child("address"));
    if (!host) continue;
    PciHostdev dev;
    dev.host = *host;
    dev.node = h;
    pugi::xml_node a = h.child("address");
    if (a && std::string_view(a.attribute("type").value()) == "pci") {
      dev.guest = pci_location(a);
      dev.multifunction = std::string_view(a.attribute("multifunction").value()) == "on";
    }
    pci_hostdevs.push_back(dev);
  }

  features = d.child("features");
  hyperv = features.child("hyperv");

  for (pugi::xml_node cl : d.children()) {
    if (local_name(cl) != "commandline" || namespace_of(cl) != kQemuNamespace) continue;
    for (pugi::xml_node arg : cl.children()) {
      if (arg.type() != pugi::node_element || local_name(arg) != "arg") continue;
      qemu_args.push_back({arg.attribute("value").value(), arg});
    }
  }

  for (const auto& a : qemu_args) {
    std::string_view v = trim(a.value);
    if (v == "-cpu" || v == "--cpu" || starts_with(v, "-cpu ") || starts_with(v, "--cpu ")) cpu_override = a.node;
  }

  // Which OS, most reliable signal first: the libosinfo id virt-install
  // and virt-manager write; QEMU's Apple SMC on the command line (macOS);
  // only then <hyperv>, which Linux guests carry too.
  pugi::xml_node os = d.child("metadata").find_node([](pugi::xml_node n) {
    std::string_view name = n.name();
    return (name == "os" || ends_with(name, ":os")) && !std::string_view(n.attribute("id").value()).empty();
  });
  auto applesmc = std::find_if(qemu_args.begin(), qemu_args.end(),
                               [](const QemuArg& a) { return a.value.find("isa-applesmc") != std::string::npos; });
  if (os) {
    windows = is_windows_os_id(os.attribute("id").value());
    if (windows) windows_evidence = os;
  } else if (applesmc != qemu_args.end()) {
    windows = false;
  } else if (hyperv) {
    windows = true;
    windows_evidence = hyperv;
  }
}

ParseResult parse_domain(std::string text) {
  ParseResult r;
  std::unique_ptr<Domain> d(new Domain());
  d->m_text = std::move(text);
  const std::string& t = d->m_text;
  d->m_line_starts.push_back(0);
  for (size_t i = t.find('\n'); i != std::string::npos; i = t.find('\n', i + 1)) d->m_line_starts.push_back(i + 1);
  // libvirt refuses what libxml2 refuses (invalid UTF-8, undefined
  // entities, control characters, nesting past limits::kXmlDepth): so does
  // lint, before pugixml (lenient about all of them) or a recursive rule
  // sees the text.
  if (auto p = xml_problem(t)) {
    r.error = "not well-formed XML: " + p->message;
    r.line = p->line;
    return r;
  }
  pugi::xml_parse_result pr =
      d->m_doc.load_buffer(t.data(), t.size(), pugi::parse_default | pugi::parse_comments, pugi::encoding_utf8);
  auto line_at = [&](ptrdiff_t off) {
    if (off < 0) return 0;
    auto it = std::upper_bound(d->m_line_starts.begin(), d->m_line_starts.end(), static_cast<size_t>(off));
    return static_cast<int>(it - d->m_line_starts.begin());
  };
  if (!pr) {
    r.error = std::string("not well-formed XML: ") + pr.description();
    r.line = line_at(pr.offset);
    return r;
  }
  pugi::xml_node root = d->m_doc.document_element();
  if (!root) {
    r.error = "no XML element in the file";
    return r;
  }
  if (std::string_view(root.name()) != "domain") {
    r.error = fmt::format("not a libvirt domain: the root element is <{}>, not <domain>", root.name());
    r.line = d->line(root);
    return r;
  }
  d->m_root = root;
  d->collect();
  r.domain = std::move(d);
  return r;
}

}  // namespace vfioctl::lint
