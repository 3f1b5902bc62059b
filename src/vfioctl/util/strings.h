// Small string helpers used across the project.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vfioctl {

// Removes leading and trailing whitespace, newlines and NULs.
std::string_view trim(std::string_view s);

// Splits on a single character; keeps empty fields.
std::vector<std::string_view> split(std::string_view s, char sep);

// Splits on runs of whitespace; never yields empty fields.
std::vector<std::string_view> split_ws(std::string_view s);

bool starts_with(std::string_view s, std::string_view prefix);
bool ends_with(std::string_view s, std::string_view suffix);

// Parses a decimal integer (whole string after trimming), or nullopt.
std::optional<long long> parse_int(std::string_view s);

// Parses "0x10de" or "10de" as hexadecimal (whole string after trimming).
std::optional<unsigned long> parse_hex(std::string_view s);

// Trimmed, without one pair of matching surrounding quotes (" or '), as
// shell-style config files write values: "\"quiet splash\"" -> "quiet splash".
std::string unquote(std::string_view s);

// Lower-case ASCII copy.
std::string to_lower(std::string_view s);

// Levenshtein distance, for "did you mean" suggestions.
size_t edit_distance(std::string_view a, std::string_view b);

// Joins with a separator.
std::string join(const std::vector<std::string>& parts, std::string_view sep);

}  // namespace vfioctl
