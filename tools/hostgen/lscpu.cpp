#include "lscpu.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>

#include "listing.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::hostgen {

namespace {

std::optional<bool> parse_yes_no(std::string_view s) {
  std::string v = to_lower(s);
  if (v == "yes" || v == "oui" || v == "ja" || v == "si" || v == "sí" || v == "y") return true;
  if (v == "no" || v == "non" || v == "nein" || v == "n") return false;
  return std::nullopt;
}

std::optional<double> parse_decimal(std::string_view s) {
  std::string v(s);
  std::replace(v.begin(), v.end(), ',', '.');
  char* end = nullptr;
  double d = std::strtod(v.c_str(), &end);
  if (v.empty() || end != v.c_str() + v.size()) return std::nullopt;
  return d;
}

bool is_header(const std::vector<std::string_view>& tokens) {
  return tokens.size() >= 2 && tokens[0] == "CPU" &&
         std::any_of(tokens.begin(), tokens.end(), [](std::string_view t) { return t == "CORE" || t == "SOCKET"; });
}

std::optional<int> row_cache(const CpuRow& r, std::string_view level) {
  if (level == "l1d") return r.l1d;
  if (level == "l1i") return r.l1i;
  if (level == "l2") return r.l2;
  if (level == "l3") return r.l3;
  return std::nullopt;
}

}  // namespace

const CpuRow* CpuTable::find(int cpu) const {
  for (const auto& r : rows) {
    if (r.cpu == cpu) return &r;
  }
  return nullptr;
}

std::vector<int> CpuTable::siblings(int cpu) const {
  const CpuRow* me = find(cpu);
  if (!me) return {};
  std::vector<int> out;
  for (const auto& r : rows) {
    if (r.socket == me->socket && r.core == me->core) out.push_back(r.cpu);
  }
  return out;
}

std::vector<int> CpuTable::sharing(int cpu, std::string_view level) const {
  const CpuRow* me = find(cpu);
  if (!me) return {};
  auto id = row_cache(*me, level);
  if (!id) return {cpu};
  std::vector<int> out;
  for (const auto& r : rows) {
    // Ids are per socket for L3 on multi-socket parts only when lscpu says
    // so; lscpu ids are global, so compare them directly.
    if (row_cache(r, level) == id) out.push_back(r.cpu);
  }
  return out;
}

std::vector<std::vector<int>> CpuTable::l3_domains() const {
  std::vector<std::vector<int>> out;
  std::set<int> seen;
  for (const auto& r : rows) {
    if (seen.count(r.cpu)) continue;
    auto dom = sharing(r.cpu, "l3");
    for (int c : dom) seen.insert(c);
    out.push_back(std::move(dom));
  }
  return out;
}

std::vector<int> CpuTable::node_cpus(int node) const {
  std::vector<int> out;
  for (const auto& r : rows) {
    if (r.node == node) out.push_back(r.cpu);
  }
  return out;
}

std::vector<int> CpuTable::socket_cpus(int socket) const {
  std::vector<int> out;
  for (const auto& r : rows) {
    if (r.socket == socket) out.push_back(r.cpu);
  }
  return out;
}

std::vector<int> CpuTable::nodes() const {
  std::set<int> s;
  for (const auto& r : rows) s.insert(r.node);
  return {s.begin(), s.end()};
}

std::vector<int> CpuTable::sockets() const {
  std::set<int> s;
  for (const auto& r : rows) s.insert(r.socket);
  return {s.begin(), s.end()};
}

CpuTable parse_lscpu(std::string_view text, const std::string& name) {
  CpuTable table;
  std::vector<std::string> columns;
  int number = 0;
  for (auto line : split(text, '\n')) {
    ++number;
    auto tokens = split_ws(line);
    if (tokens.empty()) continue;
    if (columns.empty()) {
      if (is_header(tokens)) {
        for (auto t : tokens) columns.emplace_back(t);
      }
      continue;
    }
    auto fail = [&](const std::string& why) { return InputError(fmt::format("{}:{}: {}", name, number, why)); };
    if (tokens.size() != columns.size()) {
      throw fail(fmt::format("{} fields, the header has {}", tokens.size(), columns.size()));
    }
    CpuRow row;
    bool have_cpu = false;
    for (size_t i = 0; i < columns.size(); ++i) {
      const std::string& col = columns[i];
      std::string_view v = tokens[i];
      auto integer = [&]() -> std::optional<int> {
        if (v == "-") return std::nullopt;
        auto n = parse_int(v);
        if (!n) throw fail(fmt::format("column {}: '{}' is not a number", col, v));
        return static_cast<int>(*n);
      };
      if (col == "CPU") {
        auto n = integer();
        if (!n) throw fail("no CPU number");
        row.cpu = *n;
        have_cpu = true;
      } else if (col == "NODE") {
        row.node = integer().value_or(0);
      } else if (col == "SOCKET") {
        row.socket = integer().value_or(0);
      } else if (col == "CORE") {
        row.core = integer().value_or(row.cpu);
      } else if (starts_with(col, "L1d") || starts_with(col, "L1i") || starts_with(col, "L2")) {
        auto names = split(col, ':');
        auto values = split(v, ':');
        if (v != "-" && values.size() != names.size())
          throw fail(fmt::format("cache ids '{}' do not match '{}'", v, col));
        for (size_t k = 0; k < names.size() && v != "-"; ++k) {
          auto id = parse_int(values[k]);
          if (!id) throw fail(fmt::format("cache id '{}' is not a number", values[k]));
          int x = static_cast<int>(*id);
          if (names[k] == "L1d")
            row.l1d = x;
          else if (names[k] == "L1i")
            row.l1i = x;
          else if (names[k] == "L2")
            row.l2 = x;
          else if (names[k] == "L3")
            row.l3 = x;
        }
      } else if (col == "ONLINE") {
        auto yn = parse_yes_no(v);
        if (!yn) throw fail(fmt::format("ONLINE '{}' is neither yes nor no", v));
        row.online = *yn;
      } else if (col == "MAXMHZ" || col == "MINMHZ") {
        if (v == "-") continue;
        auto d = parse_decimal(v);
        if (!d) throw fail(fmt::format("{} '{}' is not a number", col, v));
        (col == "MAXMHZ" ? row.max_mhz : row.min_mhz) = *d;
      }
    }
    if (!have_cpu) throw fail("no CPU column");
    if (table.find(row.cpu)) throw fail(fmt::format("CPU {} listed twice", row.cpu));
    table.rows.push_back(row);
  }
  if (columns.empty()) throw InputError(name + ": no 'lscpu -e' header line (CPU NODE SOCKET CORE ...) found");
  if (table.rows.empty()) throw InputError(name + ": the lscpu table has no rows");
  std::sort(table.rows.begin(), table.rows.end(), [](const CpuRow& a, const CpuRow& b) { return a.cpu < b.cpu; });
  return table;
}

CpuTable build_cpu_table(const CpuShape& s, const std::string& where) {
  auto fail = [&](const char* why) { return InputError(fmt::format("{}: CPU shape: {}", where, why)); };
  if (s.sockets < 1 || s.cores_per_socket < 1 || s.threads_per_core < 1)
    throw fail("sockets, cores and threads must be at least 1");
  int cores_per_l3 = s.cores_per_l3 > 0 ? s.cores_per_l3 : s.cores_per_socket;
  if (s.cores_per_socket % cores_per_l3 != 0) throw fail("cores_per_socket is not a multiple of cores_per_l3");
  int cores = s.sockets * s.cores_per_socket;
  if (s.numa_nodes < 1 || (cores % s.numa_nodes) != 0) throw fail("numa_nodes must divide the number of cores");
  int cores_per_node = cores / s.numa_nodes;
  CpuTable table;
  int total = cores * s.threads_per_core;
  for (int cpu = 0; cpu < total; ++cpu) {
    int core = 0, thread = 0;
    if (s.split) {
      core = cpu % cores;
      thread = cpu / cores;
    } else {
      core = cpu / s.threads_per_core;
      thread = cpu % s.threads_per_core;
    }
    (void)thread;
    CpuRow r;
    r.cpu = cpu;
    r.core = core;
    r.socket = core / s.cores_per_socket;
    r.node = core / cores_per_node;
    r.l1d = r.l1i = r.l2 = core;
    r.l3 = core / cores_per_l3;
    if (s.max_mhz > 0) r.max_mhz = s.max_mhz;
    if (s.min_mhz > 0) r.min_mhz = s.min_mhz;
    table.rows.push_back(r);
  }
  return table;
}

}  // namespace vfioctl::hostgen
