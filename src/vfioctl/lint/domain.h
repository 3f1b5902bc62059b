// Domain: one libvirt domain XML, parsed once with the positions of its
// elements, and the facts most lint rules ask about (vCPUs and pins, memory
// and hugepages, PCI host devices, whether it is a Windows guest).
// Rules read these facts or walk the XML themselves; nothing here judges.
#pragma once

#include <memory>
#include <optional>
#include <pugixml.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "vfioctl/util/cpulist.h"

namespace vfioctl::lint {

// A libvirt scaled size in bytes: value plus unit ("16", "GiB"). Units as
// libvirt reads them: b/bytes, k/KiB = 1024, KB = 1000, M/MiB, MB, G/GiB, GB,
// T/TiB, TB, P/PiB, PB, E/EiB, EB. `default_unit` applies when unit is empty.
std::optional<unsigned long long> parse_scaled(std::string_view value, std::string_view unit,
                                               unsigned long long default_unit);

// An unsigned number the way libvirt reads attributes: "0x1f" hex, "17"
// decimal. nullopt otherwise.
std::optional<unsigned long> parse_number(std::string_view text);

// "12 GiB", "2 MiB", "4 KiB", "1536 MiB": the largest binary unit that
// divides the value.
std::string format_kib(unsigned long long kib);

struct PciLocation {
  unsigned domain = 0, bus = 0, slot = 0, function = 0;
  bool same_slot(const PciLocation& o) const { return domain == o.domain && bus == o.bus && slot == o.slot; }
  std::string str() const;        // "0000:01:00.0"
  std::string short_str() const;  // "01:00.0" in domain 0
  std::string slot_str() const;   // "01:00"
};

struct VcpuPin {
  int vcpu = 0;
  std::vector<int> cpus;  // empty when the cpuset does not parse
  std::string cpuset;     // as written
  pugi::xml_node node;
};

struct ThreadPin {
  int iothread = 0;  // 0 for the emulator
  std::vector<int> cpus;
  std::string cpuset;
  pugi::xml_node node;
};

struct PciHostdev {
  PciLocation host;                  // <source><address .../>
  std::optional<PciLocation> guest;  // <address type='pci' .../>, when given
  bool multifunction = false;        // the guest address says multifunction='on'
  pugi::xml_node node;               // the <hostdev>
};

// One <qemu:arg value='...'/> of a <qemu:commandline> (namespace
// http://libvirt.org/schemas/domain/qemu/1.0, whatever its prefix).
struct QemuArg {
  std::string value;
  pugi::xml_node node;
};

struct HugepageSize {
  unsigned long long kib = 0;
  pugi::xml_node node;  // <page>, or <hugepages> for the default
};

struct ParseResult;
class XmlEditor;

class Domain {
 public:
  Domain(const Domain&) = delete;
  Domain& operator=(const Domain&) = delete;
  ~Domain();

  // The whole document and its <domain> element.
  const pugi::xml_document& doc() const { return m_doc; }
  // The text as parsed (positions of nodes refer to it).
  const std::string& text() const { return m_text; }
  // Edits of that text, for --fix (made on first use).
  const XmlEditor& editor() const;
  pugi::xml_node root() const { return m_root; }

  // 1-based line of an element; 0 for a null node.
  int line(pugi::xml_node n) const;
  // Line of the first node matching: the element itself, else its nearest
  // ancestor that exists (for "missing X" findings).
  int line_or_root(pugi::xml_node n) const { return n ? line(n) : line(m_root); }

  // <vcpu> count (maximum) and element.
  std::optional<int> vcpus;
  pugi::xml_node vcpu_node;
  // vCPUs that are offline when the guest starts: beyond <vcpu current=N>,
  // or <vcpus><vcpu id=I enabled='no'/> (hot-pluggable later).
  std::set<int> vcpus_offline;
  bool vcpu_online(int id) const { return !vcpus_offline.count(id); }
  std::vector<VcpuPin> vcpupins;  // in document order
  std::optional<ThreadPin> emulatorpin;
  std::vector<ThreadPin> iothreadpins;
  pugi::xml_node cputune;

  // Iothreads declared: <iothreadids> ids when present, else 1..<iothreads>.
  std::vector<int> iothread_ids;

  std::optional<unsigned long long> memory_kib;  // <memory>
  pugi::xml_node memory_node;
  pugi::xml_node memory_backing;
  pugi::xml_node hugepages;              // <memoryBacking><hugepages>
  std::vector<HugepageSize> page_sizes;  // the <page> sizes given
  pugi::xml_node locked;

  std::vector<PciHostdev> pci_hostdevs;
  pugi::xml_node features;
  pugi::xml_node hyperv;  // <features><hyperv>
  // Windows, by the first signal there is (docs/rules.md, "Which OS"): a
  // libosinfo id in <metadata> decides; else isa-applesmc on the QEMU
  // command line means macOS; else <hyperv> means Windows.
  bool windows = false;
  pugi::xml_node windows_evidence;

  // The last -cpu among the QEMU arguments (its <qemu:arg>), if any: QEMU
  // takes the last -cpu, so it replaces the CPU libvirt builds from <cpu>
  // and <hyperv> (docs/rules.md, "A -cpu override").
  pugi::xml_node cpu_override;

  // Extra QEMU arguments, in order, from every <qemu:commandline>.
  std::vector<QemuArg> qemu_args;

  friend ParseResult parse_domain(std::string text);

 private:
  Domain() = default;
  void collect();

  std::string m_text;
  pugi::xml_document m_doc;
  pugi::xml_node m_root;
  std::vector<size_t> m_line_starts;  // byte offset of each line's first byte
  mutable std::unique_ptr<XmlEditor> m_editor;
};

struct ParseResult {
  std::unique_ptr<Domain> domain;  // null on failure
  std::string error;               // what went wrong
  int line = 0;                    // where, when known
};

// The namespace URI of libvirt's QEMU command-line extension.
inline constexpr const char* kQemuNamespace = "http://libvirt.org/schemas/domain/qemu/1.0";

// The namespace URI an element's name prefix is bound to (xmlns:PREFIX on it
// or an ancestor); empty when unprefixed or unbound.
std::string namespace_of(pugi::xml_node n);
// The element's name without its prefix.
std::string_view local_name(pugi::xml_node n);

// Parses a domain XML (comments kept). Fails on malformed XML and on a
// document whose root is not <domain>.
ParseResult parse_domain(std::string text);

}  // namespace vfioctl::lint
