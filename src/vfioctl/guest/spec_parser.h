// The guest spec's parser, inside the library only (spec.h is the interface).
// One class whose members live in three files:
//   spec_values.cpp   typed values, sizes and "did you mean" suggestions;
//   spec.cpp          the top level, preset and os, name, memory, hugepages,
//                     cpus, passthrough, firmware and [[disk]];
//   spec_day_one.cpp  [network], [input], [looking_glass], [tune], [install],
//                     [[usb]], [audio], [smbios] and [hide].
#pragma once

#include <toml++/toml.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vfioctl/guest/spec.h"
#include "vfioctl/util/suggest.h"
#include "vfioctl/util/units.h"

namespace vfioctl::spec_detail {

inline constexpr long long kMinMemoryMib = 256;

enum class SizeProblem { none, malformed, decimal_unit, fraction, too_big };

struct SizeResult {
  long long mib = 0;
  SizeProblem problem = SizeProblem::none;
};

// "16G", "16GiB", "512M", "1.5G", "2T", "2048" (MiB). Units are binary and
// case-insensitive; the result must be a whole number of MiB.
SizeResult parse_size(std::string_view raw);

// How a spec's messages write a size (size_text_mib): "1536M", "3G", "2T".
inline constexpr SizeStyle kSpecSize{.largest = Unit::T, .fit = Fit::whole};

// How near a word must be to a choice to be named as the likely typo
// (nearest, did_you_mean): within a third of the word's length (at least 2
// edits, fewer than the choice's length), or a choice the word begins (3
// characters or more); case does not matter.
inline constexpr Nearness kSpecTypo{
    .third_of_length = true, .fewer_than_choice = true, .prefix = true, .ignore_case = true};
// "a string", "an integer", ...: a TOML value's kind, for messages.
std::string kind_name(const toml::node& n);
bool is_array_of_tables(const toml::node& n);
// Only ASCII letters, digits and the characters in `extra`.
bool all_chars(std::string_view s, std::string_view extra);

// The first dotted key longer than limits::kTomlKeyParts or nesting deeper
// than limits::kTomlDepth in a TOML text, as (line, problem); checked before
// toml++ (which recurses on both) sees the text.
std::optional<std::pair<int, std::string>> toml_bounds_problem(std::string_view text);

class SpecParser {
 public:
  explicit SpecParser(std::string file) : m_file(std::move(file)) {}

  GuestSpec parse(const std::string& text);

 private:
  std::string m_file;

  // Refuses a key or string holding a control character (recurses
  // as deep as the spec nests: at most limits::kTomlDepth).
  void check_text(const toml::node& n) const;

  // ---- positions and errors (spec_values.cpp) ----
  std::string at_line(int line) const;
  SpecPos pos(const toml::node& n) const;
  [[noreturn]] void fail(const toml::node& n, const std::string& msg) const;
  [[noreturn]] void fail_at(int line, const std::string& msg) const;

  // A table's entries in the order they appear in the file.
  struct Entry {
    std::string key;
    const toml::node* node;
    int line;
  };
  static std::vector<Entry> entries(const toml::table& t);
  void check_keys(const toml::table& t, const std::vector<std::string>& allowed, const std::string& where) const;

  // ---- typed values (spec_values.cpp) ----
  std::string string_of(const toml::node& n, const std::string& key, const std::string& example) const;
  std::string choice_of(const toml::node& n, const std::string& key, const std::vector<std::string>& choices) const;
  bool bool_of(const toml::node& n, const std::string& key) const;
  long long int_of(const toml::node& n, const std::string& key, const std::string& example) const;
  // A size as a string with a unit; a bare number gets the spelling to use.
  long long size_of(const toml::node& n, const std::string& key, const std::string& example) const;
  const toml::table* table_of(const toml::node& n, const std::string& key, const std::string& hint) const;
  std::string absolute_path_of(const toml::node& n, const std::string& key, const std::string& example) const;

  // ---- the core keys (spec.cpp) ----
  void check_top_keys(const toml::table& root) const;
  void parse_preset_os(const toml::table& root, GuestSpec& spec) const;
  void parse_name(const toml::table& root, GuestSpec& spec) const;
  void parse_memory(const toml::table& root, GuestSpec& spec) const;
  void parse_hugepages(const toml::table& root, GuestSpec& spec) const;
  void parse_cpus(const toml::table& root, GuestSpec& spec) const;
  void parse_passthrough(const toml::table& root, GuestSpec& spec) const;
  void parse_firmware(const toml::table& root, GuestSpec& spec) const;
  void parse_disks(const toml::table& root, GuestSpec& spec) const;

  // ---- what a guest needs on day one (spec_day_one.cpp) ----
  void parse_network(const toml::table& root, GuestSpec& spec) const;
  void parse_input(const toml::table& root, GuestSpec& spec) const;
  void parse_looking_glass(const toml::table& root, GuestSpec& spec) const;
  void parse_tune(const toml::table& root, GuestSpec& spec) const;
  void parse_install(const toml::table& root, GuestSpec& spec) const;
  void parse_usb(const toml::table& root, GuestSpec& spec) const;
  void parse_audio(const toml::table& root, GuestSpec& spec) const;
  void parse_smbios(const toml::table& root, GuestSpec& spec) const;
  void parse_hide(const toml::table& root, GuestSpec& spec) const;
};

}  // namespace vfioctl::spec_detail
