#include "vfioctl/util/strings.h"

#include "vfioctl/util/limits.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace vfioctl {

namespace {
// Some kernels end sysfs values with a NUL as well as a newline.
bool blank(char c) { return c == '\0' || std::isspace(static_cast<unsigned char>(c)); }
}  // namespace

std::string_view trim(std::string_view s) {
  size_t b = 0;
  while (b < s.size() && blank(s[b])) ++b;
  size_t e = s.size();
  while (e > b && blank(s[e - 1])) --e;
  return s.substr(b, e - b);
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

std::vector<std::string_view> split_ws(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t b = i;
    while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i > b) out.push_back(s.substr(b, i - b));
  }
  return out;
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::optional<long long> parse_int(std::string_view s) {
  s = trim(s);
  long long value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

std::optional<unsigned long> parse_hex(std::string_view s) {
  s = trim(s);
  if (starts_with(s, "0x") || starts_with(s, "0X")) s.remove_prefix(2);
  unsigned long value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value, 16);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

std::string unquote(std::string_view v) {
  v = trim(v);
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) {
    v = v.substr(1, v.size() - 2);
  }
  return std::string(v);
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

namespace {

// Where to cut `s` at or before `n` bytes without splitting a UTF-8 sequence.
size_t utf8_cut(std::string_view s, size_t n) {
  if (n >= s.size()) return s.size();
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return n;
}

}  // namespace

std::string excerpt(std::string_view value) {
  if (value.size() <= limits::kQuoteBytes) return std::string(value);
  return std::string(value.substr(0, utf8_cut(value, limits::kQuoteBytes))) + "...(" + std::to_string(value.size()) +
         " bytes)";
}

std::string clamp_message(std::string_view message) {
  constexpr size_t kLongRun = 2 * limits::kQuoteBytes;
  std::string out;
  out.reserve(std::min(message.size(), limits::kMessageBytes + 64));
  size_t i = 0;
  while (i < message.size()) {
    size_t j = i;
    while (j < message.size() && message[j] != ' ' && message[j] != '\n' && message[j] != '\t') ++j;
    std::string_view run = message.substr(i, j - i);
    out += run.size() > kLongRun ? excerpt(run) : std::string(run);
    if (j < message.size()) out += message[j++];
    i = j;
    if (out.size() > limits::kMessageBytes) {
      size_t cut = utf8_cut(out, limits::kMessageBytes);
      out.resize(cut);
      out += "...(message cut: " + std::to_string(message.size()) + " bytes)";
      break;
    }
  }
  return out;
}

}  // namespace vfioctl
