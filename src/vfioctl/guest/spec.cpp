#include "vfioctl/guest/spec.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <utility>

#include "vfioctl/guest/spec_parser.h"
#include "vfioctl/host/selector.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/input_file.h"
#include "vfioctl/util/limits.h"
#include "vfioctl/util/strings.h"

namespace vfioctl {

const char* preset_name(Preset p) {
  switch (p) {
    case Preset::windows_gaming: return "windows-gaming";
    case Preset::windows_workstation: return "windows-workstation";
    case Preset::linux_desktop: return "linux-desktop";
    case Preset::linux_server: return "linux-server";
    case Preset::legacy_windows: return "legacy-windows";
  }
  return "linux-desktop";
}

bool preset_is_windows(Preset p) {
  return p == Preset::windows_gaming || p == Preset::windows_workstation || p == Preset::legacy_windows;
}

const char* audio_backend_name(AudioBackend b) {
  switch (b) {
    case AudioBackend::none: return "none";
    case AudioBackend::pipewire: return "pipewire";
    case AudioBackend::pulseaudio: return "pulseaudio";
    case AudioBackend::scream: return "scream";
  }
  return "none";
}

std::string UsbSpec::id() const { return fmt::format("{:04x}:{:04x}", vendor, product); }

const char* disk_bus_name(DiskBus b) {
  switch (b) {
    case DiskBus::virtio_scsi: return "virtio-scsi";
    case DiskBus::virtio_blk: return "virtio-blk";
    case DiskBus::sata: return "sata";
    case DiskBus::nvme: return "nvme";
  }
  return "virtio-scsi";
}

std::string SpecPos::str() const {
  if (line <= 0) return file;
  return file + ":" + std::to_string(line);
}

namespace spec_detail {

namespace {

const std::vector<std::string> kPresets = {"windows-gaming", "windows-workstation", "linux-desktop", "linux-server",
                                           "legacy-windows"};
const std::vector<std::string> kWindowsOs = {"win11",   "win10",   "win8.1",  "win8",      "win7",    "win2k25",
                                             "win2k22", "win2k19", "win2k16", "win2k12r2", "win2k12", "win2k8r2"};
const std::vector<std::string> kHugepages = {"auto", "2M", "1G", "off"};
const std::vector<std::string> kBuses = {"virtio-scsi", "virtio-blk", "sata", "nvme"};
const std::vector<std::string> kFormats = {"raw", "qcow2"};
const std::vector<std::string> kKinds = {"disk", "cdrom"};

const std::vector<std::string> kTopKeys = {"preset",      "os",    "name",    "memory",      "hugepages",
                                           "cpus",        "cores", "threads", "passthrough", "romfile",
                                           "secure_boot", "tpm",   "nested"};
const std::vector<std::string> kTopTables = {"disk", "network", "input",  "looking_glass", "install",
                                             "usb",  "audio",   "smbios", "tune",          "hide"};
const char* const kTablesHelp =
    "[[disk]], [network], [input], [looking_glass], [install], [[usb]], [audio], [smbios], [tune], [hide]";
const std::vector<std::string> kDiskKeys = {"source", "bus", "size", "format", "kind"};

constexpr long long kMaxCores = 1024;

std::string selector_key(const Selector& s) {
  switch (s.kind) {
    case Selector::Kind::address: return "address " + s.address.str();
    case Selector::Kind::slot: return "slot " + s.address.str();
    case Selector::Kind::ids: return fmt::format("ids {:04x}:{:04x}", s.vendor_id, s.device_id);
    case Selector::Kind::device_class: return "class " + s.class_name;
  }
  return s.text;
}

}  // namespace

namespace {

bool bare_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

}  // namespace

// toml++ recurses once per part of a dotted key and per nesting level; its
// own limit covers nested values only. One pass with a small lexer (strings
// and comments skipped) finds the longest dotted chain ("a.b.c", "1.5") and
// the deepest nesting of [ and { first. Returns the line and the problem.
std::optional<std::pair<int, std::string>> toml_bounds_problem(std::string_view t) {
  int line = 1, parts = 0, depth = 0;
  bool after_dot = false;  // a '.' follows the last token of a chain
  auto token = [&]() -> std::optional<std::pair<int, std::string>> {
    parts = after_dot ? parts + 1 : 1;
    after_dot = false;
    if (parts > limits::kTomlKeyParts)
      return std::pair{line, fmt::format("a dotted key with more than {} parts; vfioctl reads at most {}",
                                         limits::kTomlKeyParts, limits::kTomlKeyParts)};
    return std::nullopt;
  };
  for (size_t i = 0; i < t.size();) {
    char c = t[i];
    if (c == '\n') {
      ++line;
      ++i;
      parts = 0;
      after_dot = false;
    } else if (c == ' ' || c == '\t' || c == '\r') {
      ++i;
    } else if (c == '#') {
      while (i < t.size() && t[i] != '\n') ++i;
    } else if (c == '"' || c == '\'') {
      bool multi = t.substr(i, 3) == std::string(3, c);
      size_t j = i + (multi ? 3 : 1);
      while (j < t.size()) {
        if (c == '"' && t[j] == '\\') {
          j += 2;
          continue;
        }
        if (t[j] == '\n') {
          if (!multi) break;  // toml++ reports the unterminated string
          ++line;
        }
        if (t[j] == c && (!multi || t.substr(j, 3) == std::string(3, c))) {
          j += multi ? 3 : 1;
          break;
        }
        ++j;
      }
      i = j;
      if (auto p = token()) return p;
    } else if (bare_key_char(c)) {
      while (i < t.size() && bare_key_char(t[i])) ++i;
      if (auto p = token()) return p;
    } else if (c == '.' && parts > 0) {
      after_dot = true;
      ++i;
    } else {
      if (c == '[' || c == '{') {
        if (++depth > limits::kTomlDepth)
          return std::pair{line, fmt::format("arrays or tables nested more than {} deep; vfioctl reads at most {}",
                                             limits::kTomlDepth, limits::kTomlDepth)};
      } else if (c == ']' || c == '}') {
        depth = std::max(0, depth - 1);
      }
      parts = 0;
      after_dot = false;
      ++i;
    }
  }
  return std::nullopt;
}

namespace {

// A control character (XML 1.0 cannot carry most; a tab or line break in an
// attribute becomes a space, silently changing a path) or U+FFFE/U+FFFF, as
// "U+0008"; nullopt when there is none. Spec strings end up in the domain
// XML and the QEMU script.
std::optional<std::string> non_xml_char(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) return fmt::format("U+{:04X}", c);
    if (c == 0xEF && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0xBF &&
        (static_cast<unsigned char>(s[i + 2]) == 0xBE || static_cast<unsigned char>(s[i + 2]) == 0xBF))
      return static_cast<unsigned char>(s[i + 2]) == 0xBE ? "U+FFFE" : "U+FFFF";
  }
  return std::nullopt;
}

}  // namespace

// Every key and string in the spec, before any is used: a control
// character is refused at its line.
void SpecParser::check_text(const toml::node& n) const {
  auto check = [&](const toml::node& at, std::string_view s, const char* what) {
    if (auto c = non_xml_char(s))
      fail(at, fmt::format("{} holds the control character {}, which a domain XML cannot carry as written; remove it",
                           what, *c));
  };
  if (const auto* t = n.as_table()) {
    for (const auto& [key, value] : *t) {
      check(value, key.str(), "a key");
      check_text(value);
    }
  } else if (const auto* a = n.as_array()) {
    for (const auto& e : *a) check_text(e);
  } else if (const auto* str = n.as_string()) {
    check(n, str->get(), "the string");
  }
}

GuestSpec SpecParser::parse(const std::string& text) {
  if (text.size() > limits::kSpecBytes)
    throw input_error(
        fmt::format("{}: the spec is larger than {} MiB; a guest spec is a few KiB", m_file, limits::kSpecBytes >> 20));
  if (auto problem = toml_bounds_problem(text)) throw input_error(at_line(problem->first) + ": " + problem->second);
  toml::table root;
  try {
    root = toml::parse(std::string_view(text), std::string_view(m_file));
  } catch (const toml::parse_error& e) {
    throw input_error(
        fmt::format("{}: invalid TOML: {}", at_line(static_cast<int>(e.source().begin.line)), e.description()));
  }
  check_text(root);
  GuestSpec spec;
  spec.file = m_file;
  spec.network.pos = SpecPos{m_file, 0};
  spec.network.source_pos = spec.network.pos;
  spec.input.pos = SpecPos{m_file, 0};
  spec.memory_pos = SpecPos{m_file, 0};
  spec.cpus_pos = SpecPos{m_file, 0};
  spec.passthrough_pos = SpecPos{m_file, 0};
  spec.hide.pos = SpecPos{m_file, 0};

  check_top_keys(root);
  parse_preset_os(root, spec);
  parse_name(root, spec);
  parse_memory(root, spec);
  parse_hugepages(root, spec);
  parse_cpus(root, spec);
  parse_passthrough(root, spec);
  parse_firmware(root, spec);
  parse_disks(root, spec);
  parse_network(root, spec);
  parse_input(root, spec);
  parse_looking_glass(root, spec);
  parse_tune(root, spec);
  parse_install(root, spec);
  parse_usb(root, spec);
  parse_audio(root, spec);
  parse_smbios(root, spec);
  parse_hide(root, spec);
  if (const auto* n = root.get("nested")) {
    spec.nested = bool_of(*n, "nested");
    spec.nested_pos = pos(*n);
  }
  return spec;
}

void SpecParser::check_top_keys(const toml::table& root) const {
  std::vector<std::string> all = kTopKeys;
  all.insert(all.end(), kTopTables.begin(), kTopTables.end());
  for (const auto& e : entries(root)) {
    if (std::find(all.begin(), all.end(), e.key) != all.end()) continue;
    if (e.node->is_table() || is_array_of_tables(*e.node)) {
      const char* open = e.node->is_table() ? "[" : "[[";
      const char* close = e.node->is_table() ? "]" : "]]";
      std::string near = nearest(e.key, kTopTables, kSpecTypo);
      if (!near.empty())
        fail_at(e.line,
                fmt::format("unknown table {}{}{}; did you mean {}{}{}?", open, e.key, close, open, near, close));
      fail_at(e.line, fmt::format("unknown table {}{}{} (tables: {})", open, e.key, close, kTablesHelp));
    }
    // A plain value is a misspelt key, not a table.
    std::string near = nearest(e.key, kTopKeys, kSpecTypo);
    if (!near.empty()) fail_at(e.line, fmt::format("unknown key '{}'; did you mean '{}'?", e.key, near));
    fail_at(e.line, fmt::format("unknown key '{}' (keys: {}; tables: {})", e.key, join(kTopKeys, ", "), kTablesHelp));
  }
}

// ---- the keys ----

void SpecParser::parse_preset_os(const toml::table& root, GuestSpec& spec) const {
  if (const auto* n = root.get("preset")) {
    std::string p = choice_of(*n, "preset", kPresets);
    if (p == "windows-gaming")
      spec.preset = Preset::windows_gaming;
    else if (p == "windows-workstation")
      spec.preset = Preset::windows_workstation;
    else if (p == "linux-desktop")
      spec.preset = Preset::linux_desktop;
    else if (p == "legacy-windows")
      spec.preset = Preset::legacy_windows;
    else
      spec.preset = Preset::linux_server;
  }
  bool windows = preset_is_windows(spec.preset);
  const auto* n = root.get("os");
  if (!n) {
    spec.os = spec.preset == Preset::legacy_windows ? "win7" : windows ? "win11" : "linux";
    return;
  }
  std::string os = string_of(*n, "os", windows ? "win11" : "debian12");
  bool well_formed = !os.empty() && os.size() <= 32 && all_chars(os, ".-") && os == to_lower(os);
  if (!well_formed)
    fail(*n, fmt::format("os '{}' is not an os id: use lower-case letters, digits, '.' and '-', like \"win11\" "
                         "or \"debian12\"",
                         os));
  bool is_windows_os = std::find(kWindowsOs.begin(), kWindowsOs.end(), os) != kWindowsOs.end();
  if (windows && !is_windows_os)
    fail(*n, fmt::format("os '{}' is not a Windows version for preset '{}': one of {}{}", os, preset_name(spec.preset),
                         join(kWindowsOs, ", "), did_you_mean(os, kWindowsOs, kSpecTypo)));
  if (!windows && is_windows_os)
    fail(*n, fmt::format("os '{}' is Windows but preset '{}' is for Linux: use preset = \"windows-gaming\" or "
                         "\"windows-workstation\"",
                         os, preset_name(spec.preset)));
  if (spec.preset == Preset::legacy_windows && os == "win11")
    fail(*n,
         "os 'win11' needs UEFI, Secure Boot and a TPM, which preset 'legacy-windows' (SeaBIOS) does not have; "
         "use preset = \"windows-gaming\" or \"windows-workstation\"");
  spec.os = os;
}

void SpecParser::parse_name(const toml::table& root, GuestSpec& spec) const {
  const auto* n = root.get("name");
  if (!n) return;
  std::string name = string_of(*n, "name", "win11-gaming");
  if (name.empty()) fail(*n, "name is empty; leave it out for a generated name");
  if (name.size() > 64) fail(*n, fmt::format("name is {} characters long; at most 64", name.size()));
  for (char c : name) {
    if (!all_chars(std::string_view(&c, 1), "_.+-"))
      fail(*n, fmt::format("name '{}' holds '{}': use letters, digits, '_', '.', '+' and '-'", name, c));
  }
  // The name becomes file names (NAME.xml, NAME.qcow2, /run/vfioctl/guests/NAME.json)
  // and an argument of virsh.
  if (name == "." || name == "..")
    fail(*n, fmt::format("name '{}' is a directory's name in every path it would make; choose another", name));
  if (name.front() == '-')
    fail(*n, fmt::format("name '{}' starts with '-': virsh and qemu-img would read it as an option", name));
  spec.name = name;
}

void SpecParser::parse_memory(const toml::table& root, GuestSpec& spec) const {
  const auto* n = root.get("memory");
  if (!n) throw input_error(fmt::format("{}: memory is required, like memory = \"16G\"", m_file));
  spec.memory_mib = size_of(*n, "memory", "16G");
  spec.memory_pos = pos(*n);
  if (spec.memory_mib < kMinMemoryMib)
    fail(*n, fmt::format("memory '{}' is less than the minimum, 256M", n->as_string()->get()));
}

void SpecParser::parse_hugepages(const toml::table& root, GuestSpec& spec) const {
  const auto* n = root.get("hugepages");
  if (!n) return;
  if (const auto* b = n->as_boolean()) {
    if (!b->get()) {
      spec.hugepage_kib = 0;
      spec.hugepages_off = true;
    }
    return;
  }
  if (const auto* s = n->as_string()) {
    if (s->get() == "2MiB") {
      spec.hugepage_kib = 2048;
    } else if (s->get() == "1GiB") {
      spec.hugepage_kib = 1024 * 1024;
    }
  }
  if (!spec.hugepage_kib) {
    std::string v = choice_of(*n, "hugepages", kHugepages);
    if (v == "auto") return;
    if (v == "off") {
      spec.hugepage_kib = 0;
      spec.hugepages_off = true;
      return;
    }
    spec.hugepage_kib = v == "2M" ? 2048 : 1024 * 1024;
  }
  long long page_mib = *spec.hugepage_kib / 1024;
  if (spec.memory_mib % page_mib != 0)
    fail(*n, fmt::format("hugepages '{}' needs memory in whole {} pages; memory is {} (use {} or {})",
                         n->as_string()->get(), page_mib == 2 ? "2M" : "1G", size_text_mib(spec.memory_mib, kSpecSize),
                         size_text_mib(spec.memory_mib / page_mib * page_mib, kSpecSize),
                         size_text_mib((spec.memory_mib / page_mib + 1) * page_mib, kSpecSize)));
}

void SpecParser::parse_cpus(const toml::table& root, GuestSpec& spec) const {
  const auto* cpus = root.get("cpus");
  const auto* cores = root.get("cores");
  const auto* threads = root.get("threads");
  if (cpus && cores) {
    const auto* later = cpus->source().begin.line > cores->source().begin.line ? cpus : cores;
    fail(*later, fmt::format("cpus and cores are both set (lines {} and {}); keep one: cpus = \"6c12t\", or cores "
                             "= 6 with threads = 2",
                             cpus->source().begin.line, cores->source().begin.line));
  }
  if (cpus && threads)
    fail(*threads, "threads goes with cores, not with cpus: cpus = \"NcMt\" already says M threads on N cores");
  if (cpus) {
    spec.cpus_pos = pos(*cpus);
    if (const auto* i = cpus->as_integer()) {
      long long v = i->get();
      if (v >= 2 && v <= 2 * kMaxCores && v % 2 == 0)
        fail(*cpus, fmt::format("cpus must be a string: write cpus = \"{}c{}t\" ({} cores with 2 threads each), "
                                "cpus = \"{}c{}t\", or cpus = \"auto\"",
                                v / 2, v, v / 2, v, v));
      if (v >= 1 && v <= kMaxCores)
        fail(*cpus, fmt::format("cpus must be a string: write cpus = \"{}c{}t\" or cpus = \"auto\"", v, v));
    }
    std::string s = string_of(*cpus, "cpus", "6c12t");
    if (s == "auto") return;
    auto bad_form = [&]() {
      std::string near = nearest(s, {"auto"}, kSpecTypo);
      fail(*cpus, fmt::format("cpus '{}' is not \"NcMt\" (N cores, M threads, like \"6c12t\") or \"auto\"{}", s,
                              near.empty() ? "" : "; did you mean 'auto'?"));
    };
    std::string lower = to_lower(s);
    size_t c = lower.find('c');
    if (c == std::string::npos || lower.empty() || lower.back() != 't') bad_form();
    std::string_view n_text = std::string_view(lower).substr(0, c);
    std::string_view m_text = std::string_view(lower).substr(c + 1, lower.size() - c - 2);
    auto is_digits = [](std::string_view v) {
      return !v.empty() && v.size() <= 6 &&
             std::all_of(v.begin(), v.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
    };
    if (!is_digits(n_text) || !is_digits(m_text)) bad_form();
    long long n = *parse_int(n_text);
    long long m = *parse_int(m_text);
    if (n < 1 || n > kMaxCores) fail(*cpus, fmt::format("cpus '{}': cores must be 1 to {}", s, kMaxCores));
    if (m % n != 0 || m / n < 1 || m / n > 2)
      fail(*cpus, fmt::format("cpus '{}': threads must be 1 or 2 per core, so M is N or 2N: \"{}c{}t\" or "
                              "\"{}c{}t\"",
                              s, n, n, n, 2 * n));
    spec.cpus_auto = false;
    spec.cores = static_cast<int>(n);
    spec.threads = static_cast<int>(m / n);
    return;
  }
  if (cores) {
    spec.cpus_pos = pos(*cores);
    long long n = int_of(*cores, "cores", "6");
    if (n < 1 || n > kMaxCores) fail(*cores, fmt::format("cores must be 1 to {}, not {}", kMaxCores, n));
    spec.cpus_auto = false;
    spec.cores = static_cast<int>(n);
  }
  if (threads) {
    if (!cores) spec.cpus_pos = pos(*threads);
    long long t = int_of(*threads, "threads", "2");
    if (t != 1 && t != 2) fail(*threads, fmt::format("threads must be 1 or 2 (threads per core), not {}", t));
    spec.threads = static_cast<int>(t);
  }
}

void SpecParser::parse_passthrough(const toml::table& root, GuestSpec& spec) const {
  const auto* n = root.get("passthrough");
  if (!n) return;
  spec.passthrough_pos = pos(*n);
  const auto* arr = n->as_array();
  if (!arr) {
    if (const auto* s = n->as_string())
      fail(*n, fmt::format("passthrough must be an array: write passthrough = [\"{}\"]", s->get()));
    fail(*n, fmt::format("passthrough must be an array of selectors like [\"gpu\"], not {}", kind_name(*n)));
  }
  std::map<std::string, int> seen;  // canonical selector -> line
  for (const auto& e : *arr) {
    const auto* s = e.as_string();
    if (!s)
      fail(e, fmt::format("passthrough entries must be strings like \"gpu\" or \"01:00.0\", not {}", kind_name(e)));
    auto sel = parse_selector(s->get());
    if (!sel) {
      std::string near = nearest(s->get(), selector_kinds(), kSpecTypo);
      if (!near.empty()) fail(e, fmt::format("passthrough '{}' is not a selector; did you mean '{}'?", s->get(), near));
      fail(e, fmt::format("passthrough '{}' is not a selector: {}", s->get(), selector_help()));
    }
    int line = static_cast<int>(e.source().begin.line);
    auto [it, fresh] = seen.emplace(selector_key(*sel), line);
    if (!fresh) fail(e, fmt::format("passthrough lists '{}' twice (also line {})", s->get(), it->second));
    spec.passthrough.push_back(s->get());
  }
}

void SpecParser::parse_firmware(const toml::table& root, GuestSpec& spec) const {
  if (const auto* n = root.get("romfile")) {
    spec.romfile = absolute_path_of(*n, "romfile", "/var/lib/libvirt/vbios/gpu.rom");
    if (spec.passthrough.empty())
      fail(*n, "romfile is for a passed GPU, but passthrough is empty; add passthrough = [\"gpu\"]");
  }
  spec.secure_boot = spec.os == "win11";
  spec.tpm = spec.os == "win11";
  if (const auto* n = root.get("secure_boot")) {
    spec.secure_boot = bool_of(*n, "secure_boot");
    if (spec.secure_boot && spec.preset == Preset::legacy_windows)
      fail(*n, "secure_boot needs UEFI; preset 'legacy-windows' boots with SeaBIOS (a BIOS)");
  }
  if (const auto* n = root.get("tpm")) spec.tpm = bool_of(*n, "tpm");
}

void SpecParser::parse_disks(const toml::table& root, GuestSpec& spec) const {
  const auto* n = root.get("disk");
  if (!n) return;
  const auto* arr = n->as_array();
  if (!arr || !std::all_of(arr->begin(), arr->end(), [](const toml::node& e) { return e.is_table(); }))
    fail(*n, "disk must be an array of tables: write [[disk]] with source = \"...\" (one [[disk]] per disk)");
  std::map<std::string, int> sources;  // source -> line
  for (const auto& e : *arr) {
    const auto& t = *e.as_table();
    check_keys(t, kDiskKeys, "[[disk]]");
    DiskSpec d;
    d.pos = pos(e);
    const auto* src = t.get("source");
    if (!src) fail(e, "[[disk]] has no source; add source = \"/dev/disk/by-id/...\" or an image path");
    d.source = absolute_path_of(*src, "disk.source", "/dev/disk/by-id/nvme-...");
    d.source_pos = pos(*src);
    d.size_pos = d.source_pos;
    bool device = starts_with(d.source, "/dev/");
    auto [it, fresh] = sources.emplace(d.source, d.pos.line);
    if (!fresh)
      fail(*src, fmt::format("disk.source '{}' is already used by the disk on line {}", d.source, it->second));

    const auto* kind = t.get("kind");
    d.cdrom = kind && choice_of(*kind, "disk.kind", kKinds) == "cdrom";

    d.bus_pos = d.pos;
    if (const auto* bus = t.get("bus")) {
      d.bus_pos = pos(*bus);
      std::string b = choice_of(*bus, "disk.bus", kBuses);
      if (b == "virtio-scsi")
        d.bus = DiskBus::virtio_scsi;
      else if (b == "virtio-blk")
        d.bus = DiskBus::virtio_blk;
      else if (b == "sata")
        d.bus = DiskBus::sata;
      else
        d.bus = DiskBus::nvme;
      if (d.cdrom && d.bus != DiskBus::sata)
        fail(*bus, fmt::format("disk.bus '{}' cannot hold install media (kind = \"cdrom\"); use bus = \"sata\" "
                               "or leave bus out",
                               b));
    } else if (d.cdrom) {
      d.bus = DiskBus::sata;
    }

    if (const auto* size = t.get("size")) {
      if (d.cdrom) fail(*size, "disk.size is for a new image; install media (kind = \"cdrom\") have their size");
      if (device) fail(*size, fmt::format("disk.size is for a new image, but source '{}' is a device", d.source));
      d.size_mib = size_of(*size, "disk.size", "100G");
      d.size_pos = pos(*size);
      if (*d.size_mib <= 0) fail(*size, fmt::format("disk.size '{}' must be more than 0", size->as_string()->get()));
    }

    if (const auto* format = t.get("format")) {
      d.format = choice_of(*format, "disk.format", kFormats);
      if (d.cdrom && d.format != "raw")
        fail(*format, "disk.format must be \"raw\" for install media (kind = \"cdrom\"): ISO images are raw");
    } else if (!device && ends_with(to_lower(d.source), ".qcow2") && !d.cdrom) {
      d.format = "qcow2";
    } else {
      d.format = "raw";
    }
    spec.disks.push_back(std::move(d));
  }
}

}  // namespace spec_detail

std::optional<long long> parse_size_mib(const std::string& text) {
  spec_detail::SizeResult r = spec_detail::parse_size(text);
  if (r.problem != spec_detail::SizeProblem::none) return std::nullopt;
  return r.mib;
}

GuestSpec parse_guest_spec(const std::string& text, const std::string& file) {
  return spec_detail::SpecParser(file).parse(text);
}

GuestSpec load_guest_spec(const std::string& path) {
  return parse_guest_spec(read_input_file(path, "the spec", limits::kSpecBytes), path);
}

}  // namespace vfioctl
