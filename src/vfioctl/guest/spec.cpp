#include "vfioctl/guest/spec.h"

#include <fmt/format.h>

#include <toml++/toml.h>

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

#include "vfioctl/host/selector.h"
#include "vfioctl/util/error.h"
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

namespace {

// ---- sizes -----------------------------------------------------------------

enum class SizeProblem { none, malformed, decimal_unit, fraction, too_big };

struct SizeResult {
  long long mib = 0;
  SizeProblem problem = SizeProblem::none;
};

// "16G", "16GiB", "512M", "1.5G", "2T", "2048" (MiB). Units are binary and
// case-insensitive; the result must be a whole number of MiB.
SizeResult parse_size(std::string_view raw) {
  SizeResult r;
  std::string_view s = trim(raw);
  size_t i = 0;
  auto digits = [&](size_t& at) {
    size_t start = at;
    while (at < s.size() && s[at] >= '0' && s[at] <= '9') ++at;
    return at - start;
  };
  size_t int_start = i;
  size_t int_len = digits(i);
  if (int_len == 0) {
    r.problem = SizeProblem::malformed;
    return r;
  }
  std::string_view int_part = s.substr(int_start, int_len);
  std::string_view frac_part;
  if (i < s.size() && s[i] == '.') {
    ++i;
    size_t frac_start = i;
    size_t frac_len = digits(i);
    if (frac_len == 0) {
      r.problem = SizeProblem::malformed;
      return r;
    }
    frac_part = s.substr(frac_start, frac_len);
  }
  std::string unit = to_lower(trim(s.substr(i)));
  long long unit_mib = 0;
  if (unit.empty() || unit == "m" || unit == "mib") {
    unit_mib = 1;
  } else if (unit == "g" || unit == "gib") {
    unit_mib = 1024;
  } else if (unit == "t" || unit == "tib") {
    unit_mib = 1024LL * 1024;
  } else if (unit == "mb" || unit == "gb" || unit == "tb") {
    r.problem = SizeProblem::decimal_unit;
    return r;
  } else {
    r.problem = SizeProblem::malformed;
    return r;
  }
  // Strip leading zeros of the integer part and trailing zeros of the
  // fraction so that long but harmless spellings do not overflow.
  while (int_part.size() > 1 && int_part.front() == '0') int_part.remove_prefix(1);
  while (!frac_part.empty() && frac_part.back() == '0') frac_part.remove_suffix(1);
  if (int_part.size() > 15 || frac_part.size() > 6) {
    r.problem = int_part.size() > 15 ? SizeProblem::too_big : SizeProblem::fraction;
    return r;
  }
  long long scale = 1;
  for (size_t k = 0; k < frac_part.size(); ++k) scale *= 10;
  long long number = 0;
  for (char c : int_part) number = number * 10 + (c - '0');
  long long frac = 0;
  for (char c : frac_part) frac = frac * 10 + (c - '0');
  long long scaled = 0;
  long long total = 0;
  if (__builtin_mul_overflow(number, scale, &scaled) || __builtin_add_overflow(scaled, frac, &scaled) ||
      __builtin_mul_overflow(scaled, unit_mib, &total)) {
    r.problem = SizeProblem::too_big;
    return r;
  }
  if (total % scale != 0) {
    r.problem = SizeProblem::fraction;
    return r;
  }
  r.mib = total / scale;
  return r;
}

// "1536M" or "3G": the shortest exact spelling of a size.
std::string size_text(long long mib) {
  if (mib > 0 && mib % (1024LL * 1024) == 0) return std::to_string(mib / (1024LL * 1024)) + "T";
  if (mib > 0 && mib % 1024 == 0) return std::to_string(mib / 1024) + "G";
  return std::to_string(mib) + "M";
}

// ---- suggestions -----------------------------------------------------------

// The nearest choice, or "" when none is near enough to be a likely typo:
// within a third of the word's length (at least 2 edits, fewer than the
// choice's length), or a choice the word begins (3 characters or more).
std::string nearest(std::string_view word, const std::vector<std::string>& choices) {
  std::string w = to_lower(word);
  std::string best;
  size_t best_d = std::numeric_limits<size_t>::max();
  size_t limit = std::max<size_t>(2, w.size() / 3);
  for (const auto& c : choices) {
    std::string lc = to_lower(c);
    size_t d = edit_distance(w, lc);
    bool near = (d <= limit && d < lc.size()) || (w.size() >= 3 && starts_with(lc, w));
    if (near && d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& choices) {
  std::string s = nearest(word, choices);
  return s.empty() ? "" : "; did you mean '" + s + "'?";
}

std::string kind_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a number with a fraction";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

bool is_array_of_tables(const toml::node& n) {
  const auto* a = n.as_array();
  return a && !a->empty() && std::all_of(a->begin(), a->end(), [](const toml::node& e) { return e.is_table(); });
}

// ---- the choices -----------------------------------------------------------

const std::vector<std::string> kPresets = {"windows-gaming", "windows-workstation", "linux-desktop",
                                           "linux-server", "legacy-windows"};
const std::vector<std::string> kWindowsOs = {"win11",  "win10",   "win8.1",  "win8",      "win7",   "win2k25",
                                             "win2k22", "win2k19", "win2k16", "win2k12r2", "win2k12", "win2k8r2"};
const std::vector<std::string> kHugepages = {"auto", "2M", "1G", "off"};
const std::vector<std::string> kBuses = {"virtio-scsi", "virtio-blk", "sata", "nvme"};
const std::vector<std::string> kFormats = {"raw", "qcow2"};
const std::vector<std::string> kKinds = {"disk", "cdrom"};
const std::vector<std::string> kNetModes = {"nat", "bridge", "macvtap", "sriov", "none"};
const std::vector<std::string> kAudioBackends = {"pipewire", "pulseaudio", "scream", "none"};
const std::vector<std::string> kEvdev = {"auto", "none"};
const std::vector<std::string> kGrabToggles = {"ctrl-ctrl",   "alt-alt",    "shift-shift",
                                               "meta-meta",   "scrolllock", "ctrl-scrolllock"};

const std::vector<std::string> kTopKeys = {"preset", "os",          "name",     "memory",      "hugepages",
                                           "cpus",   "cores",       "threads",  "passthrough", "romfile",
                                           "secure_boot", "tpm", "nested"};
const std::vector<std::string> kTopTables = {"disk", "network", "input", "looking_glass", "install", "usb", "audio",
                                             "smbios", "tune"};
const char* const kTablesHelp =
    "[[disk]], [network], [input], [looking_glass], [install], [[usb]], [audio], [smbios], [tune]";
const std::vector<std::string> kDiskKeys = {"source", "bus", "size", "format", "kind"};
const std::vector<std::string> kNetworkKeys = {"mode", "bridge", "network", "mac", "dev", "pf"};
const std::vector<std::string> kInstallKeys = {"iso", "drivers"};
const std::vector<std::string> kUsbKeys = {"id", "port"};
const std::vector<std::string> kAudioKeys = {"backend"};
const std::vector<std::string> kSmbiosKeys = {"from_host", "keep_serials"};
const std::vector<std::string> kInputKeys = {"evdev", "grab_toggle"};
const std::vector<std::string> kLookingGlassKeys = {"resolution"};
const std::vector<std::string> kTuneKeys = {"actions"};
const std::vector<std::string> kTuneActions = {"hugepages", "isolate", "governor", "irq"};

constexpr long long kMinMemoryMib = 256;
constexpr long long kMaxCores = 1024;
constexpr int kMinResolution = 320;
constexpr int kMaxResolution = 16384;

bool all_chars(std::string_view s, std::string_view extra) {
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           extra.find(c) != std::string_view::npos;
  });
}

// ---- the parser ------------------------------------------------------------

class SpecParser {
 public:
  explicit SpecParser(std::string file) : m_file(std::move(file)) {}

  GuestSpec parse(const std::string& text) {
    toml::table root;
    try {
      root = toml::parse(std::string_view(text), std::string_view(m_file));
    } catch (const toml::parse_error& e) {
      throw input_error(fmt::format("{}: invalid TOML: {}", at_line(static_cast<int>(e.source().begin.line)),
                                    e.description()));
    }
    GuestSpec spec;
    spec.file = m_file;
    spec.network.pos = SpecPos{m_file, 0};
    spec.input.pos = SpecPos{m_file, 0};
    spec.memory_pos = SpecPos{m_file, 0};
    spec.cpus_pos = SpecPos{m_file, 0};
    spec.passthrough_pos = SpecPos{m_file, 0};

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
    if (const auto* n = root.get("nested")) {
      spec.nested = bool_of(*n, "nested");
      spec.nested_pos = pos(*n);
    }
    return spec;
  }

 private:
  std::string m_file;

  std::string at_line(int line) const { return SpecPos{m_file, line}.str(); }

  SpecPos pos(const toml::node& n) const { return SpecPos{m_file, static_cast<int>(n.source().begin.line)}; }

  [[noreturn]] void fail(const toml::node& n, const std::string& msg) const {
    throw input_error(pos(n).str() + ": " + msg);
  }

  [[noreturn]] void fail_at(int line, const std::string& msg) const {
    throw input_error(at_line(line) + ": " + msg);
  }

  // A table's entries in the order they appear in the file.
  struct Entry {
    std::string key;
    const toml::node* node;
    int line;
  };
  static std::vector<Entry> entries(const toml::table& t) {
    std::vector<Entry> out;
    for (auto&& [k, v] : t) {
      int line = static_cast<int>(k.source().begin.line);
      if (line == 0) line = static_cast<int>(v.source().begin.line);
      out.push_back(Entry{std::string(k.str()), &v, line});
    }
    std::stable_sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.line < b.line; });
    return out;
  }

  void check_top_keys(const toml::table& root) const {
    std::vector<std::string> all = kTopKeys;
    all.insert(all.end(), kTopTables.begin(), kTopTables.end());
    for (const auto& e : entries(root)) {
      if (std::find(all.begin(), all.end(), e.key) != all.end()) continue;
      if (e.node->is_table() || is_array_of_tables(*e.node)) {
        const char* open = e.node->is_table() ? "[" : "[[";
        const char* close = e.node->is_table() ? "]" : "]]";
        std::string near = nearest(e.key, kTopTables);
        if (!near.empty())
          fail_at(e.line, fmt::format("unknown table {}{}{}; did you mean {}{}{}?", open, e.key, close, open, near,
                                      close));
        fail_at(e.line, fmt::format("unknown table {}{}{} (tables: {})", open, e.key, close, kTablesHelp));
      }
      // A plain value is a misspelt key, not a table.
      std::string near = nearest(e.key, kTopKeys);
      if (!near.empty()) fail_at(e.line, fmt::format("unknown key '{}'; did you mean '{}'?", e.key, near));
      fail_at(e.line, fmt::format("unknown key '{}' (keys: {}; tables: {})", e.key, join(kTopKeys, ", "),
                                  kTablesHelp));
    }
  }

  void check_keys(const toml::table& t, const std::vector<std::string>& allowed, const std::string& where) const {
    for (const auto& e : entries(t)) {
      if (std::find(allowed.begin(), allowed.end(), e.key) != allowed.end()) continue;
      std::string near = nearest(e.key, allowed);
      if (!near.empty())
        fail_at(e.line, fmt::format("unknown key '{}' in {}; did you mean '{}'?", e.key, where, near));
      fail_at(e.line, fmt::format("unknown key '{}' in {} (keys: {})", e.key, where, join(allowed, ", ")));
    }
  }

  // ---- typed values ----

  std::string string_of(const toml::node& n, const std::string& key, const std::string& example) const {
    if (const auto* s = n.as_string()) return s->get();
    fail(n, fmt::format("{} must be a string like \"{}\", not {}", key, example, kind_name(n)));
  }

  std::string choice_of(const toml::node& n, const std::string& key, const std::vector<std::string>& choices) const {
    std::string s = string_of(n, key, choices.front());
    if (std::find(choices.begin(), choices.end(), s) != choices.end()) return s;
    fail(n, fmt::format("{} '{}' is not one of {}{}", key, s, join(choices, ", "), did_you_mean(s, choices)));
  }

  bool bool_of(const toml::node& n, const std::string& key) const {
    if (const auto* b = n.as_boolean()) return b->get();
    if (const auto* s = n.as_string()) {
      std::string v = to_lower(s->get());
      if (v == "true" || v == "yes" || v == "on")
        fail(n, fmt::format("{} must be true or false without quotes: write {} = true", key, key));
      if (v == "false" || v == "no" || v == "off")
        fail(n, fmt::format("{} must be true or false without quotes: write {} = false", key, key));
    }
    fail(n, fmt::format("{} must be true or false, not {}", key, kind_name(n)));
  }

  long long int_of(const toml::node& n, const std::string& key, const std::string& example) const {
    if (const auto* i = n.as_integer()) return i->get();
    if (const auto* s = n.as_string()) {
      if (auto v = parse_int(s->get()))
        fail(n, fmt::format("{} must be a number without quotes: write {} = {}", key, key, *v));
    }
    fail(n, fmt::format("{} must be a whole number like {}, not {}", key, example, kind_name(n)));
  }

  // A size as a string with a unit; a bare number gets the spelling to use.
  long long size_of(const toml::node& n, const std::string& key, const std::string& example) const {
    if (n.is_integer() || n.is_floating_point()) {
      std::string number;
      bool gib = true;
      if (const auto* i = n.as_integer()) {
        number = std::to_string(i->get());
        gib = i->get() < kMinMemoryMib;
      } else {
        std::ostringstream out;
        out << n.as_floating_point()->get();
        number = out.str();
      }
      fail(n, fmt::format("{} must be a string with a unit: write {} = \"{}{}\"", key, key, number, gib ? "G" : "M"));
    }
    std::string s = string_of(n, key, example);
    SizeResult r = parse_size(s);
    switch (r.problem) {
      case SizeProblem::none: return r.mib;
      case SizeProblem::decimal_unit: {
        std::string_view t = trim(s);
        std::string stem(t.substr(0, t.size() - 1));
        fail(n, fmt::format("{} '{}': sizes are binary; write \"{}\" or \"{}iB\"", key, s, stem, stem));
      }
      case SizeProblem::fraction:
        fail(n, fmt::format("{} '{}' is not a whole number of MiB", key, s));
      case SizeProblem::too_big:
        fail(n, fmt::format("{} '{}' is too large", key, s));
      case SizeProblem::malformed: break;
    }
    fail(n, fmt::format("{} '{}' is not a size: write it like \"{}\" (units M, G, T; MiB without a unit)", key, s,
                        example));
  }

  const toml::table* table_of(const toml::node& n, const std::string& key, const std::string& hint) const {
    if (const auto* t = n.as_table()) return t;
    fail(n, fmt::format("{} must be a table, not {}: write [{}] with {}", key, kind_name(n), key, hint));
  }

  std::string absolute_path_of(const toml::node& n, const std::string& key, const std::string& example) const {
    std::string s = string_of(n, key, example);
    if (s.empty()) fail(n, fmt::format("{} is empty; write a path like \"{}\"", key, example));
    if (s.front() != '/') fail(n, fmt::format("{} '{}' must be an absolute path, like \"{}\"", key, s, example));
    return s;
  }

  // ---- the keys ----

  void parse_preset_os(const toml::table& root, GuestSpec& spec) const {
    if (const auto* n = root.get("preset")) {
      std::string p = choice_of(*n, "preset", kPresets);
      if (p == "windows-gaming") spec.preset = Preset::windows_gaming;
      else if (p == "windows-workstation") spec.preset = Preset::windows_workstation;
      else if (p == "linux-desktop") spec.preset = Preset::linux_desktop;
      else if (p == "legacy-windows") spec.preset = Preset::legacy_windows;
      else spec.preset = Preset::linux_server;
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
      fail(*n, fmt::format("os '{}' is not a Windows version for preset '{}': one of {}{}", os,
                           preset_name(spec.preset), join(kWindowsOs, ", "), did_you_mean(os, kWindowsOs)));
    if (!windows && is_windows_os)
      fail(*n, fmt::format("os '{}' is Windows but preset '{}' is for Linux: use preset = \"windows-gaming\" or "
                           "\"windows-workstation\"",
                           os, preset_name(spec.preset)));
    if (spec.preset == Preset::legacy_windows && os == "win11")
      fail(*n, "os 'win11' needs UEFI, Secure Boot and a TPM, which preset 'legacy-windows' (SeaBIOS) does not have; "
               "use preset = \"windows-gaming\" or \"windows-workstation\"");
    spec.os = os;
  }

  void parse_name(const toml::table& root, GuestSpec& spec) const {
    const auto* n = root.get("name");
    if (!n) return;
    std::string name = string_of(*n, "name", "win11-gaming");
    if (name.empty()) fail(*n, "name is empty; leave it out for a generated name");
    if (name.size() > 64) fail(*n, fmt::format("name is {} characters long; at most 64", name.size()));
    for (char c : name) {
      if (!all_chars(std::string_view(&c, 1), "_.+-"))
        fail(*n, fmt::format("name '{}' holds '{}': use letters, digits, '_', '.', '+' and '-'", name, c));
    }
    spec.name = name;
  }

  void parse_memory(const toml::table& root, GuestSpec& spec) const {
    const auto* n = root.get("memory");
    if (!n) throw input_error(fmt::format("{}: memory is required, like memory = \"16G\"", m_file));
    spec.memory_mib = size_of(*n, "memory", "16G");
    spec.memory_pos = pos(*n);
    if (spec.memory_mib < kMinMemoryMib)
      fail(*n, fmt::format("memory '{}' is less than the minimum, 256M", n->as_string()->get()));
  }

  void parse_hugepages(const toml::table& root, GuestSpec& spec) const {
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
                           n->as_string()->get(), page_mib == 2 ? "2M" : "1G", size_text(spec.memory_mib),
                           size_text(spec.memory_mib / page_mib * page_mib),
                           size_text((spec.memory_mib / page_mib + 1) * page_mib)));
  }

  void parse_cpus(const toml::table& root, GuestSpec& spec) const {
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
        std::string near = nearest(s, {"auto"});
        fail(*cpus, fmt::format("cpus '{}' is not \"NcMt\" (N cores, M threads, like \"6c12t\") or \"auto\"{}", s,
                                near.empty() ? "" : "; did you mean 'auto'?"));
      };
      std::string lower = to_lower(s);
      size_t c = lower.find('c');
      if (c == std::string::npos || lower.empty() || lower.back() != 't') bad_form();
      std::string_view n_text = std::string_view(lower).substr(0, c);
      std::string_view m_text = std::string_view(lower).substr(c + 1, lower.size() - c - 2);
      auto is_digits = [](std::string_view v) {
        return !v.empty() && v.size() <= 6 && std::all_of(v.begin(), v.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
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

  static std::string selector_key(const Selector& s) {
    switch (s.kind) {
      case Selector::Kind::address: return "address " + s.address.str();
      case Selector::Kind::slot: return "slot " + s.address.str();
      case Selector::Kind::ids: return fmt::format("ids {:04x}:{:04x}", s.vendor_id, s.device_id);
      case Selector::Kind::device_class: return "class " + s.class_name;
    }
    return s.text;
  }

  void parse_passthrough(const toml::table& root, GuestSpec& spec) const {
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
        std::string near = nearest(s->get(), selector_kinds());
        if (!near.empty())
          fail(e, fmt::format("passthrough '{}' is not a selector; did you mean '{}'?", s->get(), near));
        fail(e, fmt::format("passthrough '{}' is not a selector: {}", s->get(), selector_help()));
      }
      int line = static_cast<int>(e.source().begin.line);
      auto [it, fresh] = seen.emplace(selector_key(*sel), line);
      if (!fresh)
        fail(e, fmt::format("passthrough lists '{}' twice (also line {})", s->get(), it->second));
      spec.passthrough.push_back(s->get());
    }
  }

  void parse_firmware(const toml::table& root, GuestSpec& spec) const {
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

  void parse_disks(const toml::table& root, GuestSpec& spec) const {
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

      if (const auto* bus = t.get("bus")) {
        std::string b = choice_of(*bus, "disk.bus", kBuses);
        if (b == "virtio-scsi") d.bus = DiskBus::virtio_scsi;
        else if (b == "virtio-blk") d.bus = DiskBus::virtio_blk;
        else if (b == "sata") d.bus = DiskBus::sata;
        else d.bus = DiskBus::nvme;
        if (d.cdrom && d.bus != DiskBus::sata)
          fail(*bus, fmt::format("disk.bus '{}' cannot hold install media (kind = \"cdrom\"); use bus = \"sata\" "
                                 "or leave bus out",
                                 b));
      } else if (d.cdrom) {
        d.bus = DiskBus::sata;
      }

      if (const auto* size = t.get("size")) {
        if (d.cdrom) fail(*size, "disk.size is for a new image; install media (kind = \"cdrom\") have their size");
        if (device)
          fail(*size, fmt::format("disk.size is for a new image, but source '{}' is a device", d.source));
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

  void parse_network(const toml::table& root, GuestSpec& spec) const {
    const auto* n = root.get("network");
    if (!n) return;
    const auto& t = *table_of(*n, "network", "mode = \"nat\"");
    check_keys(t, kNetworkKeys, "[network]");
    auto& net = spec.network;
    net.pos = pos(*n);
    net.source_pos = net.pos;
    const auto* mode = t.get("mode");
    const auto* bridge = t.get("bridge");
    const auto* network = t.get("network");
    const auto* mac = t.get("mac");
    const auto* dev = t.get("dev");
    const auto* pf = t.get("pf");
    std::string m = mode ? choice_of(*mode, "network.mode", kNetModes) : bridge ? "bridge" : dev ? "macvtap" : pf ? "sriov" : "nat";
    net.mode = m == "nat"       ? NetworkSpec::Mode::nat
               : m == "bridge"  ? NetworkSpec::Mode::bridge
               : m == "macvtap" ? NetworkSpec::Mode::macvtap
               : m == "sriov"   ? NetworkSpec::Mode::sriov
                                : NetworkSpec::Mode::none;
    auto iface_name = [&](const toml::node& node, const std::string& key, const std::string& example) {
      std::string v = string_of(node, key, example);
      if (v.empty() || v.size() > 15 || !all_chars(v, "_.-") || v == "." || v == "..")
        fail(node, fmt::format("{} '{}' is not an interface name: 1 to 15 letters, digits, '_', '.' or '-', like "
                               "\"{}\"",
                               key, v, example));
      return v;
    };
    if (dev) {
      if (net.mode != NetworkSpec::Mode::macvtap)
        fail(*dev, fmt::format("network.dev is the host interface for mode \"macvtap\", but mode is \"{}\"", m));
      net.dev = iface_name(*dev, "network.dev", "enp5s0");
      net.source_pos = pos(*dev);
    } else if (net.mode == NetworkSpec::Mode::macvtap) {
      fail(*mode, "network mode \"macvtap\" needs the host's wired interface: add dev = \"enp5s0\"");
    }
    if (pf) {
      if (net.mode != NetworkSpec::Mode::sriov)
        fail(*pf, fmt::format("network.pf is the SR-IOV physical function for mode \"sriov\", but mode is \"{}\"", m));
      net.pf = iface_name(*pf, "network.pf", "enp5s0f0");
      net.source_pos = pos(*pf);
    } else if (net.mode == NetworkSpec::Mode::sriov) {
      fail(*mode, "network mode \"sriov\" needs the physical function's interface: add pf = \"enp5s0f0\"");
    }
    if (bridge) {
      if (net.mode != NetworkSpec::Mode::bridge)
        fail(*bridge, fmt::format("network.bridge is for mode \"bridge\", but mode is \"{}\"", m));
      std::string b = string_of(*bridge, "network.bridge", "br0");
      if (b.empty() || b.size() > 15 || !all_chars(b, "_.-") || b == "." || b == "..")
        fail(*bridge, fmt::format("network.bridge '{}' is not an interface name: 1 to 15 letters, digits, '_', "
                                  "'.' or '-', like \"br0\"",
                                  b));
      net.bridge = b;
      net.source_pos = pos(*bridge);
    } else if (net.mode == NetworkSpec::Mode::bridge) {
      fail(*mode, "network mode \"bridge\" needs the host bridge: add bridge = \"br0\"");
    }
    if (network) {
      if (net.mode != NetworkSpec::Mode::nat)
        fail(*network, fmt::format("network.network is the libvirt network for mode \"nat\", but mode is \"{}\"", m));
      std::string v = string_of(*network, "network.network", "default");
      if (v.empty() || v.size() > 64 || !all_chars(v, "_.-"))
        fail(*network, fmt::format("network.network '{}' is not a libvirt network name: letters, digits, '_', '.' "
                                   "or '-', like \"default\"",
                                   v));
      net.network = v;
      net.source_pos = pos(*network);
    }
    if (mac) {
      if (net.mode == NetworkSpec::Mode::none) fail(*mac, "network.mac needs a network, but mode is \"none\"");
      std::string v = to_lower(string_of(*mac, "network.mac", "52:54:00:12:34:56"));
      auto parts = split(v, ':');
      bool ok = parts.size() == 6 && std::all_of(parts.begin(), parts.end(), [](std::string_view p) {
                  return p.size() == 2 && std::isxdigit(static_cast<unsigned char>(p[0])) &&
                         std::isxdigit(static_cast<unsigned char>(p[1]));
                });
      if (!ok)
        fail(*mac, fmt::format("network.mac '{}' is not a MAC address like \"52:54:00:12:34:56\"",
                               mac->as_string()->get()));
      unsigned long first = *parse_hex(parts[0]);
      if (first & 1UL)
        fail(*mac, fmt::format("network.mac '{}' is a multicast address (the first byte is odd); libvirt's guests "
                               "use 52:54:00:xx:xx:xx",
                               mac->as_string()->get()));
      if (v == "00:00:00:00:00:00") fail(*mac, "network.mac '00:00:00:00:00:00' is not a usable address");
      net.mac = v;
    }
  }

  void parse_input(const toml::table& root, GuestSpec& spec) const {
    const auto* n = root.get("input");
    if (!n) return;
    const auto& t = *table_of(*n, "input", "evdev = \"auto\"");
    check_keys(t, kInputKeys, "[input]");
    auto& in = spec.input;
    in.pos = pos(*n);
    if (const auto* evdev = t.get("evdev")) {
      if (const auto* arr = evdev->as_array()) {
        if (arr->empty()) fail(*evdev, "input.evdev is an empty list; write evdev = \"none\" for no devices");
        std::map<std::string, int> seen;
        for (const auto& e : *arr) {
          const auto* s = e.as_string();
          if (!s)
            fail(e, fmt::format("input.evdev entries must be paths like \"/dev/input/by-id/usb-...-event-kbd\", "
                                "not {}",
                                kind_name(e)));
          const std::string& path = s->get();
          if (!starts_with(path, "/dev/input/") || path.size() == std::string("/dev/input/").size())
            fail(e, fmt::format("input.evdev '{}' is not under /dev/input/; use /dev/input/by-id/...-event-kbd or "
                                "-event-mouse",
                                path));
          auto [it, fresh] = seen.emplace(path, static_cast<int>(e.source().begin.line));
          if (!fresh) fail(e, fmt::format("input.evdev lists '{}' twice (also line {})", path, it->second));
          in.devices.push_back(path);
        }
        in.evdev = "paths";
      } else if (evdev->is_string()) {
        in.evdev = choice_of(*evdev, "input.evdev", kEvdev);
      } else {
        fail(*evdev, fmt::format("input.evdev must be \"auto\", \"none\" or an array of /dev/input/by-id paths, "
                                 "not {}",
                                 kind_name(*evdev)));
      }
    }
    if (const auto* toggle = t.get("grab_toggle")) {
      in.grab_toggle = choice_of(*toggle, "input.grab_toggle", kGrabToggles);
      if (in.evdev == "none")
        fail(*toggle, "input.grab_toggle needs evdev devices: add evdev = \"auto\" or a list of paths");
    }
  }

  void parse_looking_glass(const toml::table& root, GuestSpec& spec) const {
    const auto* n = root.get("looking_glass");
    if (!n) return;
    const auto& t = *table_of(*n, "looking_glass", "resolution = \"2560x1440\"");
    check_keys(t, kLookingGlassKeys, "[looking_glass]");
    LookingGlassSpec lg;
    lg.pos = pos(*n);
    const auto* res = t.get("resolution");
    if (!res) fail(*n, "[looking_glass] needs resolution, like resolution = \"2560x1440\"");
    std::string s = string_of(*res, "looking_glass.resolution", "2560x1440");
    std::string lower = to_lower(s);
    auto parts = split(lower, 'x');
    std::optional<long long> w, h;
    auto digits_only = [](std::string_view v) {
      return !v.empty() && v.size() <= 6 && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    if (parts.size() == 2 && digits_only(parts[0]) && digits_only(parts[1])) {
      w = parse_int(parts[0]);
      h = parse_int(parts[1]);
    }
    if (!w || !h)
      fail(*res, fmt::format("looking_glass.resolution '{}' is not WIDTHxHEIGHT, like \"2560x1440\"", s));
    if (*w < kMinResolution || *w > kMaxResolution || *h < kMinResolution || *h > kMaxResolution)
      fail(*res, fmt::format("looking_glass.resolution '{}': width and height must be {} to {}", s, kMinResolution,
                             kMaxResolution));
    if (spec.passthrough.empty())
      fail(*n, "looking_glass shows a passed GPU's screen, but passthrough is empty; add passthrough = [\"gpu\"]");
    lg.width = static_cast<int>(*w);
    lg.height = static_cast<int>(*h);
    spec.looking_glass = lg;
  }

  // [tune] actions = ["hugepages", "isolate", "governor", "irq"]: what the
  // libvirt hook does while the guest runs (docs/hook.md).
  void parse_tune(const toml::table& root, GuestSpec& spec) const {
    const auto* n = root.get("tune");
    if (!n) return;
    const auto& t = *table_of(*n, "tune", "actions = [\"hugepages\", \"isolate\"]");
    check_keys(t, kTuneKeys, "[tune]");
    spec.tune_pos = pos(*n);
    const auto* a = t.get("actions");
    if (!a) fail(*n, "[tune] needs actions, like actions = [\"hugepages\", \"isolate\", \"governor\", \"irq\"] (or [] for none)");
    const auto* arr = a->as_array();
    if (!arr) fail(*a, fmt::format("tune.actions must be an array of {}, not {}", join(kTuneActions, ", "), kind_name(*a)));
    std::vector<std::string> actions;
    for (const auto& e : *arr) {
      const auto* s = e.as_string();
      if (!s) fail(e, fmt::format("tune.actions entries must be strings ({}), not {}", join(kTuneActions, ", "), kind_name(e)));
      if (std::find(kTuneActions.begin(), kTuneActions.end(), s->get()) == kTuneActions.end()) {
        std::string near = nearest(s->get(), kTuneActions);
        fail(e, fmt::format("tune.actions '{}' is not one of {}{}", s->get(), join(kTuneActions, ", "),
                            near.empty() ? "" : "; did you mean '" + near + "'?"));
      }
      if (std::find(actions.begin(), actions.end(), s->get()) != actions.end())
        fail(e, fmt::format("tune.actions lists '{}' twice", s->get()));
      actions.push_back(s->get());
    }
    spec.tune_actions = actions;
  }

  void parse_install(const toml::table& root, GuestSpec& spec) const {
    const auto* n = root.get("install");
    if (!n) return;
    const auto& t = *table_of(*n, "install", "iso = \"/srv/iso/Win11.iso\"");
    check_keys(t, kInstallKeys, "[install]");
    InstallSpec in;
    in.pos = pos(*n);
    const auto* iso = t.get("iso");
    if (!iso) fail(*n, "[install] needs iso, the installer image: iso = \"/srv/iso/Win11_24H2_English_x64.iso\"");
    in.iso = absolute_path_of(*iso, "install.iso", "/srv/iso/Win11_24H2_English_x64.iso");
    in.iso_pos = pos(*iso);
    in.drivers_pos = in.pos;
    if (const auto* d = t.get("drivers")) {
      in.drivers_pos = pos(*d);
      std::string v = string_of(*d, "install.drivers", "auto");
      if (v == "auto") {
        in.drivers = InstallSpec::Drivers::automatic;
      } else if (v == "none") {
        in.drivers = InstallSpec::Drivers::none;
      } else if (!v.empty() && v.front() == '/') {
        in.drivers = InstallSpec::Drivers::path;
        in.drivers_path = v;
        if (v == in.iso) fail(*d, "install.drivers is the same file as install.iso");
      } else {
        fail(*d, fmt::format("install.drivers '{}' is not \"auto\", \"none\" or an absolute path to the virtio-win "
                             "ISO{}",
                             v, did_you_mean(v, {"auto", "none"})));
      }
    }
    for (const auto& disk : spec.disks) {
      if (disk.source == in.iso || (in.drivers == InstallSpec::Drivers::path && disk.source == in.drivers_path))
        fail(*n, fmt::format("[install] names {}, which the [[disk]] on line {} uses too", disk.source, disk.pos.line));
    }
    spec.install = in;
  }

  void parse_usb(const toml::table& root, GuestSpec& spec) const {
    const auto* n = root.get("usb");
    if (!n) return;
    const auto* arr = n->as_array();
    if (!arr || !std::all_of(arr->begin(), arr->end(), [](const toml::node& e) { return e.is_table(); }))
      fail(*n, "usb must be an array of tables: write [[usb]] with id = \"046d:c52b\" (one [[usb]] per device)");
    std::map<std::string, int> seen;  // id/port -> line
    for (const auto& e : *arr) {
      const auto& t = *e.as_table();
      check_keys(t, kUsbKeys, "[[usb]]");
      UsbSpec u;
      u.pos = pos(e);
      const auto* id = t.get("id");
      if (!id) fail(e, "[[usb]] has no id; add id = \"vendor:product\" as 'vfioctl list usb' shows it");
      std::string v = to_lower(string_of(*id, "usb.id", "046d:c52b"));
      auto parts = split(v, ':');
      auto hex4 = [](std::string_view p) {
        return p.size() == 4 && std::all_of(p.begin(), p.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
      };
      if (parts.size() != 2 || !hex4(parts[0]) || !hex4(parts[1]))
        fail(*id, fmt::format("usb.id '{}' is not vendor:product in hex, like \"046d:c52b\" ('vfioctl list usb')",
                              id->as_string()->get()));
      u.vendor = static_cast<unsigned>(*parse_hex(parts[0]));
      u.product = static_cast<unsigned>(*parse_hex(parts[1]));
      u.pos = pos(*id);
      if (const auto* port = t.get("port")) {
        std::string p = string_of(*port, "usb.port", "1-4.2");
        // The kernel's name for a port path: BUS-PORT[.PORT...], numbers only.
        bool ok = !p.empty() && std::isdigit(static_cast<unsigned char>(p.front())) && p.find('-') != std::string::npos &&
                  std::all_of(p.begin(), p.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '.'; });
        if (!ok)
          fail(*port, fmt::format("usb.port '{}' is not a USB port path like \"1-4\" or \"3-1.2\" (the PORT column "
                                  "of 'vfioctl list usb')",
                                  p));
        u.port = p;
      }
      std::string key = u.id() + "/" + u.port.value_or("");
      auto [it, fresh] = seen.emplace(key, u.pos.line);
      if (!fresh)
        fail(*id, fmt::format("[[usb]] {} is listed twice (also line {}); two devices with one id need port = ... "
                              "each",
                              u.id(), it->second));
      spec.usb.push_back(u);
    }
  }

  void parse_audio(const toml::table& root, GuestSpec& spec) const {
    const auto* n = root.get("audio");
    if (!n) return;
    const auto& t = *table_of(*n, "audio", "backend = \"pipewire\"");
    check_keys(t, kAudioKeys, "[audio]");
    spec.audio.pos = pos(*n);
    const auto* b = t.get("backend");
    if (!b) fail(*n, "[audio] needs backend: \"pipewire\", \"pulseaudio\", \"scream\" or \"none\"");
    spec.audio.pos = pos(*b);
    std::string v = choice_of(*b, "audio.backend", kAudioBackends);
    spec.audio.backend = v == "pipewire"     ? AudioBackend::pipewire
                         : v == "pulseaudio" ? AudioBackend::pulseaudio
                         : v == "scream"     ? AudioBackend::scream
                                             : AudioBackend::none;
  }

  void parse_smbios(const toml::table& root, GuestSpec& spec) const {
    const auto* n = root.get("smbios");
    if (!n) return;
    const auto& t = *table_of(*n, "smbios", "from_host = true");
    check_keys(t, kSmbiosKeys, "[smbios]");
    spec.smbios.pos = pos(*n);
    if (const auto* f = t.get("from_host")) spec.smbios.from_host = bool_of(*f, "smbios.from_host");
    if (const auto* k = t.get("keep_serials")) {
      spec.smbios.keep_serials = bool_of(*k, "smbios.keep_serials");
      if (spec.smbios.keep_serials && !spec.smbios.from_host)
        fail(*k, "smbios.keep_serials is about the host's serial numbers; it needs from_host = true");
    }
  }
};

}  // namespace

std::optional<long long> parse_size_mib(const std::string& text) {
  SizeResult r = parse_size(text);
  if (r.problem != SizeProblem::none) return std::nullopt;
  return r.mib;
}

GuestSpec parse_guest_spec(const std::string& text, const std::string& file) {
  return SpecParser(file).parse(text);
}

GuestSpec load_guest_spec(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw input_error(fmt::format("{}: is a directory, not a spec", path));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw input_error(fmt::format("{}: cannot read the spec: {}", path, std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw input_error(fmt::format("{}: cannot read the spec: {}", path, std::strerror(errno)));
  return parse_guest_spec(text.str(), path);
}

}  // namespace vfioctl
