// CPU topology as a table of logical CPUs: parsed from `lscpu -e` output or
// built from a synthetic shape. The host writer turns it into sysfs.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vfioctl::hostgen {

// One logical CPU. Cache ids are those lscpu shows (L1d:L1i:L2:L3).
struct CpuRow {
  int cpu = 0;
  int node = 0;
  int socket = 0;
  int core = 0;  // lscpu's logical core number (unique system-wide)
  std::optional<int> l1d, l1i, l2, l3;
  bool online = true;
  std::optional<double> max_mhz, min_mhz;
};

// All logical CPUs, sorted by number.
struct CpuTable {
  std::vector<CpuRow> rows;

  // The row of a CPU, or nullptr.
  const CpuRow* find(int cpu) const;
  // SMT siblings of a CPU (same socket and core), the CPU included, sorted.
  std::vector<int> siblings(int cpu) const;
  // CPUs that share the cache of the given level ("l1d", "l1i", "l2", "l3") with `cpu`.
  std::vector<int> sharing(int cpu, std::string_view level) const;
  // Distinct L3 domains (CPU lists), in order of their lowest CPU.
  std::vector<std::vector<int>> l3_domains() const;
  // CPUs of one NUMA node / one socket, sorted.
  std::vector<int> node_cpus(int node) const;
  std::vector<int> socket_cpus(int socket) const;
  // Distinct node and socket numbers, ascending.
  std::vector<int> nodes() const;
  std::vector<int> sockets() const;
};

// Parses `lscpu -e` output. The header line names the columns (any order,
// unknown columns skipped); lines before it (the command) are ignored;
// yes/no may be localised (oui/non, ja/nein, si/no), decimals may use a
// comma, '-' is a missing value. Throws InputError naming name:line.
CpuTable parse_lscpu(std::string_view text, const std::string& name);

// A synthetic CPU: how logical CPUs are numbered across SMT threads.
struct CpuShape {
  int sockets = 1;
  int cores_per_socket = 4;
  int threads_per_core = 2;
  bool split = true;     // true: N and N+half are siblings; false: adjacent
  int cores_per_l3 = 0;  // 0: one L3 per socket
  int numa_nodes = 1;    // nodes split the sockets (or a socket's cores) evenly
  double max_mhz = 0;    // 0: unknown
  double min_mhz = 0;
};

// Builds the table of a synthetic shape. Throws InputError (naming `where`)
// when the shape is inconsistent.
CpuTable build_cpu_table(const CpuShape& shape, const std::string& where);

}  // namespace vfioctl::hostgen
