#include "vfioctl/host/memory.h"

#include <algorithm>

#include "vfioctl/host/root.h"
#include "vfioctl/util/strings.h"

namespace vfioctl {

namespace {

std::optional<long long> read_count(const Root& root, const std::string& path) {
  auto text = root.read(path);
  if (!text) return std::nullopt;
  return parse_int(*text);
}

// "hugepages-2048kB" -> 2048
std::optional<long long> page_size_of(std::string_view dir) {
  if (!starts_with(dir, "hugepages-") || !ends_with(dir, "kB")) return std::nullopt;
  dir.remove_prefix(10);
  dir.remove_suffix(2);
  return parse_int(dir);
}

void read_pools(const Root& root, const std::string& dir, std::optional<int> node, std::vector<HugepagePool>& pools) {
  auto sizes = root.list(dir);
  if (!sizes) return;
  for (const auto& name : *sizes) {
    auto kib = page_size_of(name);
    if (!kib) continue;
    std::string pdir = join_path(dir, name);
    HugepagePool pool;
    pool.page_kib = *kib;
    pool.node = node;
    pool.total = read_count(root, join_path(pdir, "nr_hugepages"));
    pool.free = read_count(root, join_path(pdir, "free_hugepages"));
    if (!node) pool.reserved = read_count(root, join_path(pdir, "resv_hugepages"));
    pool.surplus = read_count(root, join_path(pdir, "surplus_hugepages"));
    pools.push_back(pool);
  }
}

}  // namespace

std::optional<std::string> bracketed_choice(const std::string& text) {
  size_t open = text.find('[');
  size_t close = text.find(']', open);
  if (open == std::string::npos || close == std::string::npos) return std::nullopt;
  return text.substr(open + 1, close - open - 1);
}

long long Memory::default_page_kib() const {
  auto it = meminfo_kib.find("Hugepagesize");
  return it != meminfo_kib.end() && it->second > 0 ? it->second : 2048;
}

std::optional<long long> Memory::total_kib() const {
  auto it = meminfo_kib.find("MemTotal");
  if (it == meminfo_kib.end()) return std::nullopt;
  return it->second;
}

std::vector<long long> Memory::page_sizes() const {
  std::vector<long long> out;
  for (const auto& p : pools) {
    if (!p.node) out.push_back(p.page_kib);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

const HugepagePool* Memory::pool(long long page_kib, std::optional<int> node) const {
  for (const auto& p : pools) {
    if (p.page_kib == page_kib && p.node == node) return &p;
  }
  return nullptr;
}

Memory read_memory(const Root& root, Notes& notes) {
  Memory mem;
  if (auto text = root.read("/proc/meminfo")) {
    for (auto line : split(*text, '\n')) {
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      auto fields = split_ws(line.substr(colon + 1));
      if (fields.empty()) continue;
      if (auto v = parse_int(fields[0])) mem.meminfo_kib[std::string(trim(line.substr(0, colon)))] = *v;
    }
  } else {
    notes.push_back({"/proc/meminfo", "missing; memory size unknown"});
  }
  read_pools(root, "/sys/kernel/mm/hugepages", std::nullopt, mem.pools);
  if (auto nodes = root.list("/sys/devices/system/node")) {
    for (const auto& name : *nodes) {
      if (!starts_with(name, "node")) continue;
      auto id = parse_int(std::string_view(name).substr(4));
      if (!id) continue;
      std::string dir = join_path("/sys/devices/system/node", name);
      read_pools(root, join_path(dir, "hugepages"), static_cast<int>(*id), mem.pools);
      // "Node 0 MemTotal:       16515072 kB"
      if (auto text = root.read(join_path(dir, "meminfo"))) {
        for (auto line : split(*text, '\n')) {
          auto f = split_ws(line);
          if (f.size() >= 4 && f[0] == "Node" && f[2] == "MemTotal:") {
            if (auto kib = parse_int(f[3])) mem.node_total_kib[static_cast<int>(*id)] = *kib;
          }
        }
      }
    }
  }
  std::stable_sort(mem.pools.begin(), mem.pools.end(), [](const HugepagePool& a, const HugepagePool& b) {
    if (a.node.has_value() != b.node.has_value()) return !a.node.has_value();
    if (a.node != b.node) return a.node < b.node;
    return a.page_kib < b.page_kib;
  });
  if (auto t = root.read("/sys/kernel/mm/transparent_hugepage/enabled")) mem.thp_enabled = bracketed_choice(*t);
  if (auto t = root.read("/sys/kernel/mm/transparent_hugepage/defrag")) mem.thp_defrag = bracketed_choice(*t);
  return mem;
}

}  // namespace vfioctl
