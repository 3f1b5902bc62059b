// Typed values, sizes and suggestions for the guest spec's parser.
#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <sstream>

#include "vfioctl/guest/spec_parser.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/limits.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::spec_detail {

// ---- sizes -----------------------------------------------------------------

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
  // More than any machine holds; the planners count in KiB and bytes.
  if (r.mib > limits::kMaxSizeMib) r.problem = SizeProblem::too_big;
  return r;
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

bool all_chars(std::string_view s, std::string_view extra) {
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           extra.find(c) != std::string_view::npos;
  });
}

// ---- positions and errors ----

std::string SpecParser::at_line(int line) const { return SpecPos{m_file, line}.str(); }

SpecPos SpecParser::pos(const toml::node& n) const { return SpecPos{m_file, static_cast<int>(n.source().begin.line)}; }

void SpecParser::fail(const toml::node& n, const std::string& msg) const {
  throw input_error(pos(n).str() + ": " + msg);
}

void SpecParser::fail_at(int line, const std::string& msg) const { throw input_error(at_line(line) + ": " + msg); }

std::vector<SpecParser::Entry> SpecParser::entries(const toml::table& t) {
  std::vector<Entry> out;
  for (auto&& [k, v] : t) {
    int line = static_cast<int>(k.source().begin.line);
    if (line == 0) line = static_cast<int>(v.source().begin.line);
    out.push_back(Entry{std::string(k.str()), &v, line});
  }
  std::stable_sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.line < b.line; });
  return out;
}

void SpecParser::check_keys(const toml::table& t, const std::vector<std::string>& allowed,
                            const std::string& where) const {
  for (const auto& e : entries(t)) {
    if (std::find(allowed.begin(), allowed.end(), e.key) != allowed.end()) continue;
    std::string near = nearest(e.key, allowed, kSpecTypo);
    if (!near.empty()) fail_at(e.line, fmt::format("unknown key '{}' in {}; did you mean '{}'?", e.key, where, near));
    fail_at(e.line, fmt::format("unknown key '{}' in {} (keys: {})", e.key, where, join(allowed, ", ")));
  }
}

// ---- typed values ----

std::string SpecParser::string_of(const toml::node& n, const std::string& key, const std::string& example) const {
  if (const auto* s = n.as_string()) return s->get();
  fail(n, fmt::format("{} must be a string like \"{}\", not {}", key, example, kind_name(n)));
}

std::string SpecParser::choice_of(const toml::node& n, const std::string& key,
                                  const std::vector<std::string>& choices) const {
  std::string s = string_of(n, key, choices.front());
  if (std::find(choices.begin(), choices.end(), s) != choices.end()) return s;
  fail(n, fmt::format("{} '{}' is not one of {}{}", key, s, join(choices, ", "), did_you_mean(s, choices, kSpecTypo)));
}

bool SpecParser::bool_of(const toml::node& n, const std::string& key) const {
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

long long SpecParser::int_of(const toml::node& n, const std::string& key, const std::string& example) const {
  if (const auto* i = n.as_integer()) return i->get();
  if (const auto* s = n.as_string()) {
    if (auto v = parse_int(s->get()))
      fail(n, fmt::format("{} must be a number without quotes: write {} = {}", key, key, *v));
  }
  fail(n, fmt::format("{} must be a whole number like {}, not {}", key, example, kind_name(n)));
}

// A size as a string with a unit; a bare number gets the spelling to use.
long long SpecParser::size_of(const toml::node& n, const std::string& key, const std::string& example) const {
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
    case SizeProblem::fraction: fail(n, fmt::format("{} '{}' is not a whole number of MiB", key, s));
    case SizeProblem::too_big:
      fail(n, fmt::format("{} '{}' is too large (vfioctl reads sizes up to 1T x 1024, 1 PiB)", key, s));
    case SizeProblem::malformed: break;
  }
  fail(n,
       fmt::format("{} '{}' is not a size: write it like \"{}\" (units M, G, T; MiB without a unit)", key, s, example));
}

const toml::table* SpecParser::table_of(const toml::node& n, const std::string& key, const std::string& hint) const {
  if (const auto* t = n.as_table()) return t;
  fail(n, fmt::format("{} must be a table, not {}: write [{}] with {}", key, kind_name(n), key, hint));
}

std::string SpecParser::absolute_path_of(const toml::node& n, const std::string& key,
                                         const std::string& example) const {
  std::string s = string_of(n, key, example);
  if (s.empty()) fail(n, fmt::format("{} is empty; write a path like \"{}\"", key, example));
  if (s.front() != '/') fail(n, fmt::format("{} '{}' must be an absolute path, like \"{}\"", key, s, example));
  return s;
}

}  // namespace vfioctl::spec_detail
