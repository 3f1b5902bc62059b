#include "vfioctl/util/cpulist.h"

#include <algorithm>
#include <charconv>

#include "vfioctl/util/strings.h"

namespace vfioctl {

namespace {

std::optional<int> to_int(std::string_view s) {
  s = trim(s);
  int value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || value < 0) {
    return std::nullopt;
  }
  return value;
}

void sort_unique(std::vector<int>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

}  // namespace

std::optional<std::vector<int>> parse_cpulist(std::string_view text) {
  std::vector<int> cpus;
  text = trim(text);
  if (text.empty()) {
    return cpus;
  }
  for (std::string_view part : split(text, ',')) {
    size_t dash = part.find('-');
    if (dash == std::string_view::npos) {
      auto cpu = to_int(part);
      if (!cpu) return std::nullopt;
      cpus.push_back(*cpu);
      continue;
    }
    auto first = to_int(part.substr(0, dash));
    auto last = to_int(part.substr(dash + 1));
    // A range wider than any machine is garbage, not a request for memory.
    if (!first || !last || *first > *last || *last - *first > 65536) {
      return std::nullopt;
    }
    for (int cpu = *first; cpu <= *last; ++cpu) cpus.push_back(cpu);
  }
  sort_unique(cpus);
  return cpus;
}

std::optional<std::vector<int>> parse_cpumask(std::string_view text) {
  text = trim(text);
  std::vector<int> cpus;
  int bit = 0;
  // Words are written most significant first; walk the digits from the end.
  for (size_t i = text.size(); i-- > 0;) {
    char c = text[i];
    if (c == ',') continue;
    int nibble;
    if (c >= '0' && c <= '9')
      nibble = c - '0';
    else if (c >= 'a' && c <= 'f')
      nibble = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      nibble = c - 'A' + 10;
    else
      return std::nullopt;
    for (int b = 0; b < 4; ++b) {
      if (nibble & (1 << b)) cpus.push_back(bit + b);
    }
    bit += 4;
  }
  sort_unique(cpus);
  return cpus;
}

std::string format_cpulist(std::vector<int> cpus) {
  sort_unique(cpus);
  std::string out;
  for (size_t i = 0; i < cpus.size();) {
    size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(cpus[i]);
    if (j > i) {
      out += '-';
      out += std::to_string(cpus[j]);
    }
    i = j + 1;
  }
  return out;
}

}  // namespace vfioctl
