#include "vfioctl/util/cpulist.h"

#include <algorithm>
#include <charconv>

#include "vfioctl/util/limits.h"
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

namespace {

// CPUs marked in a bitmap of at most limits::kMaxCpu + 1 entries: the text's
// length bounds the work, however many ranges repeat.
class CpuBits {
 public:
  bool set(int first, int last, bool on) {
    if (first < 0 || last < first || last > limits::kMaxCpu) return false;
    if (static_cast<size_t>(last) >= m_bits.size()) m_bits.resize(static_cast<size_t>(last) + 1, 0);
    std::fill(m_bits.begin() + first, m_bits.begin() + last + 1, on ? 1 : 0);
    return true;
  }
  std::vector<int> list() const {
    std::vector<int> out;
    for (size_t i = 0; i < m_bits.size(); ++i) {
      if (m_bits[i]) out.push_back(static_cast<int>(i));
    }
    return out;
  }

 private:
  std::vector<char> m_bits;
};

}  // namespace

std::optional<std::vector<int>> parse_cpulist(std::string_view text) {
  CpuBits bits;
  text = trim(text);
  if (text.empty()) return std::vector<int>{};
  for (std::string_view part : split(text, ',')) {
    size_t dash = part.find('-');
    std::optional<int> first = to_int(part.substr(0, dash));
    std::optional<int> last = dash == std::string_view::npos ? first : to_int(part.substr(dash + 1));
    if (!first || !last || !bits.set(*first, *last, true)) return std::nullopt;
  }
  return bits.list();
}

std::optional<std::vector<int>> parse_libvirt_cpuset(std::string_view text) {
  CpuBits bits;
  text = trim(text);
  if (text.empty()) return std::nullopt;
  for (std::string_view part : split(text, ',')) {
    part = trim(part);
    bool exclude = !part.empty() && part.front() == '^';
    if (exclude) part.remove_prefix(1);
    size_t dash = part.find('-');
    if (exclude && dash != std::string_view::npos) return std::nullopt;  // libvirt excludes single CPUs only
    std::optional<int> first = to_int(part.substr(0, dash));
    std::optional<int> last = dash == std::string_view::npos ? first : to_int(part.substr(dash + 1));
    if (!first || !last || !bits.set(*first, *last, !exclude)) return std::nullopt;
  }
  auto cpus = bits.list();
  if (cpus.empty()) return std::nullopt;  // libvirt refuses an empty set
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
    if (bit > limits::kMaxCpu) return std::nullopt;
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
