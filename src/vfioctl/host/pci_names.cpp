#include "vfioctl/host/pci_names.h"

extern "C" {
#include <pci/pci.h>
}

#include <fmt/format.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <unordered_map>

#include "vfioctl/util/input_file.h"

namespace vfioctl {

namespace {

// libpci reports through callbacks; a missing pci.ids must not end the
// program (the default error handler exits), names just stay unknown.
void quiet(char*, ...) {}

// libpci calls this only for failures it cannot continue from; it must not
// return. (The GNU attribute, not [[noreturn]]: clang counts it as part of
// the function's type, as libpci's declaration of the callback does.)
__attribute__((noreturn)) void fatal(char* fmt, ...) {
  std::fprintf(stderr, "vfioctl: error: libpci: ");
  va_list args;
  va_start(args, fmt);
  std::vfprintf(stderr, fmt, args);
  va_end(args);
  std::fprintf(stderr, "\n");
  std::_Exit(3);
}

// Names come from pci.ids alone (not udev's hwdb), so output is the same
// on every machine with the same database.
constexpr int kFlags = PCI_LOOKUP_NO_HWDB;

// The buffer libpci's answers were formatted into here: a longer name is
// cut and ends in "..." as libpci cuts it.
constexpr size_t kNameBuffer = 256;

std::string fitted(std::string name) {
  if (name.size() >= kNameBuffer) {
    name.resize(kNameBuffer - 1);
    name[kNameBuffer - 2] = name[kNameBuffer - 3] = name[kNameBuffer - 4] = '.';
  }
  return name;
}

bool white(char c) { return c == ' ' || c == '\t'; }

int hex_digits(std::string_view s, size_t n) {
  if (s.size() < n) return -1;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[i];
    v <<= 4;
    if (c >= '0' && c <= '9')
      v += c - '0';
    else if (c >= 'a' && c <= 'f')
      v += c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      v += c - 'A' + 10;
    else
      return -1;
  }
  return v;
}

// An entry "ID<white>NAME" whose id has `digits` hex digits: the id, and the
// name after the white space; id -1 when the line is not one.
std::pair<int, std::string_view> entry(std::string_view line, size_t digits) {
  int id = hex_digits(line, digits);
  if (id < 0 || line.size() <= digits || !white(line[digits])) return {-1, {}};
  std::string_view name = line.substr(digits + 1);
  while (!name.empty() && white(name.front())) name.remove_prefix(1);
  if (name.empty()) return {-1, {}};
  return {id, name};
}

// libpci's longest line (MAX_LINE, its buffer, less the terminating NUL).
constexpr size_t kMaxLine = 1023;

}  // namespace

struct PciNames::Ids {
  std::string text;
  struct Block {
    std::string_view name;
    size_t body = 0;  // offset of the line after the entry's own
  };
  std::unordered_map<uint16_t, Block> vendors;
  std::unordered_map<uint8_t, Block> classes;
  std::unordered_map<uint32_t, std::string> devices, subclasses;  // answers given

  // One line from `pos` as libpci reads it: up to the first CR or LF, one
  // trailing blank dropped; `next` is where the following line starts.
  // False for a line libpci refuses as too long (or holding a NUL).
  bool line(size_t pos, std::string_view& out, size_t& next) const {
    const char* start = text.data() + pos;
    size_t left = text.size() - pos;
    const void* nl = std::memchr(start, '\n', left);
    size_t len = nl ? static_cast<size_t>(static_cast<const char*>(nl) - start) : left;
    next = nl ? pos + len + 1 : text.size();
    if ((nl && len + 1 > kMaxLine) || (!nl && len > kMaxLine)) return false;
    std::string_view l(start, len);
    if (l.find('\0') != std::string_view::npos) return false;
    if (size_t cr = l.find('\r'); cr != std::string_view::npos) l = l.substr(0, cr);
    if (!l.empty() && white(l.back())) l.remove_suffix(1);
    out = l;
    return true;
  }

  // Skips blank and comment lines; nullopt-like -1 for those, else the
  // number of leading tabs.
  static int nesting(std::string_view l) {
    size_t i = 0;
    while (i < l.size() && white(l[i])) ++i;
    if (i == l.size() || l[i] == '#') return -1;
    size_t tabs = 0;
    while (tabs < l.size() && l[tabs] == '\t') ++tabs;
    return static_cast<int>(tabs);
  }

  // Indexes the top-level lines; stops at the first it cannot read (libpci
  // stops loading there too).
  void index() {
    size_t pos = 0, next = 0;
    std::string_view l;
    while (pos < text.size()) {
      if (text[pos] == '\t') {  // a nested entry: read when its block is asked for
        const void* nl = std::memchr(text.data() + pos, '\n', text.size() - pos);
        pos = nl ? static_cast<size_t>(static_cast<const char*>(nl) - text.data()) + 1 : text.size();
        continue;
      }
      if (!line(pos, l, next)) return;
      pos = next;
      int nest = nesting(l);
      if (nest < 0) continue;
      if (nest > 0) return;  // white space before an entry: not a line libpci reads
      if (l.size() > 1 && l[0] == 'C' && l[1] == ' ') {
        auto [id, name] = entry(l.substr(2), 2);
        if (id < 0) return;
        classes.try_emplace(static_cast<uint8_t>(id), Block{name, next});
      } else if (l.size() > 1 && l[0] >= 'A' && l[0] <= 'Z' && l[1] == ' ') {
        continue;  // generic subsystems and blocks libpci skips
      } else {
        auto [id, name] = entry(l, 4);
        if (id < 0) return;
        vendors.try_emplace(static_cast<uint16_t>(id), Block{name, next});
      }
    }
  }

  // The first-level entry `id` (`digits` hex digits) of the block at `body`.
  std::string_view find(size_t body, int id, size_t digits) const {
    size_t pos = body, next = 0;
    std::string_view l;
    while (pos < text.size() && line(pos, l, next)) {
      pos = next;
      int nest = nesting(l);
      if (nest < 0) continue;
      if (nest == 0) break;
      if (nest != 1) continue;
      auto [got, name] = entry(l.substr(1), digits);
      if (got == id) return name;
    }
    return {};
  }
};

PciNames::PciNames() = default;

PciNames::~PciNames() {
  if (m_access) pci_cleanup(m_access);
}

pci_access* PciNames::access() {
  if (!m_access) {
    m_access = pci_alloc();
    m_access->warning = quiet;
    m_access->error = fatal;
    m_access->debug = quiet;
    // No pci_init(): name lookups need only the database, not bus access, so
    // a fixture root works on a machine without PCI.
  }
  return m_access;
}

// pci.ids is about 1.5 MB today; a file past this is not one.
constexpr size_t kPciIdsBytes = 64u << 20;

PciNames::Ids* PciNames::ids() {
  if (m_loaded) return m_ids.get();
  m_loaded = true;
  // libpci's file: NAME.gz when that exists (compressed: libpci reads it),
  // else NAME.
  std::string path = access()->id_file_name ? access()->id_file_name : "";
  if (path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0) {
    if (path_exists(path)) return nullptr;
    path.resize(path.size() - 3);
  }
  auto ids = std::make_unique<Ids>();
  // The database of the system vfioctl runs on, as libpci reads it (not a
  // fact of --root's host); bounded all the same.
  if (auto text = read_regular_file(path, kPciIdsBytes)) {
    ids->text = std::move(*text);
    // A gzip file under the plain name: libpci reads it.
    if (ids->text.size() >= 2 && static_cast<unsigned char>(ids->text[0]) == 0x1f &&
        static_cast<unsigned char>(ids->text[1]) == 0x8b)
      return nullptr;
    ids->index();
  }
  m_ids = std::move(ids);
  return m_ids.get();
}

std::string PciNames::vendor(uint16_t vendor_id) {
  if (Ids* db = ids()) {
    auto it = db->vendors.find(vendor_id);
    return it == db->vendors.end() ? "" : fitted(std::string(it->second.name));
  }
  char buf[kNameBuffer];
  const char* name =
      pci_lookup_name(access(), buf, sizeof buf, PCI_LOOKUP_VENDOR | PCI_LOOKUP_NO_NUMBERS | kFlags, vendor_id);
  return name ? name : "";
}

std::string PciNames::device(uint16_t vendor_id, uint16_t device_id) {
  if (Ids* db = ids()) {
    uint32_t key = (uint32_t{vendor_id} << 16) | device_id;
    if (auto it = db->devices.find(key); it != db->devices.end()) return it->second;
    std::string name;
    if (auto v = db->vendors.find(vendor_id); v != db->vendors.end())
      name = fitted(std::string(db->find(v->second.body, device_id, 4)));
    db->devices.emplace(key, name);
    return name;
  }
  char buf[kNameBuffer];
  const char* name = pci_lookup_name(access(), buf, sizeof buf, PCI_LOOKUP_DEVICE | PCI_LOOKUP_NO_NUMBERS | kFlags,
                                     vendor_id, device_id);
  return name ? name : "";
}

std::string PciNames::device_class(uint16_t class_id) {
  if (Ids* db = ids()) {
    if (auto it = db->subclasses.find(class_id); it != db->subclasses.end()) return it->second;
    std::string name;
    if (auto c = db->classes.find(static_cast<uint8_t>(class_id >> 8)); c != db->classes.end()) {
      std::string_view sub = db->find(c->second.body, class_id & 0xff, 2);
      // Without a subclass entry, libpci names the class and adds the number.
      name = fitted(sub.empty() ? fmt::format("{} [{:04x}]", c->second.name, class_id) : std::string(sub));
    }
    db->subclasses.emplace(class_id, name);
    return name;
  }
  char buf[kNameBuffer];
  const char* name =
      pci_lookup_name(access(), buf, sizeof buf, PCI_LOOKUP_CLASS | PCI_LOOKUP_NO_NUMBERS | kFlags, class_id);
  return name ? name : "";
}

}  // namespace vfioctl
