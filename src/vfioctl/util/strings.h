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

// A value as messages quote it: whole up to limits::kQuoteBytes, else its
// first bytes (never half a UTF-8 character) and "...(N bytes)".
std::string excerpt(std::string_view value);

// A message fit to print: every run of more than twice limits::kQuoteBytes
// without a blank (a value quoted whole) becomes its excerpt, and the whole
// is cut after limits::kMessageBytes with a count. Error and lint findings
// pass their text through it, so no input is ever echoed at length.
std::string clamp_message(std::string_view message);

}  // namespace vfioctl
