// JSON that vfioctl reads back (hook state, setup's journal, bind records,
// QMP replies): bounded before nlohmann's parser and its recursive printer
// see it. A file on disk may have been edited or crafted.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

namespace vfioctl {

// Thrown for a text over limits::kJsonBytes or nested deeper than
// limits::kJsonDepth; a json::exception, so callers that treat bad JSON as
// unreadable treat it the same.
class JsonLimitError : public nlohmann::json::exception {
 public:
  explicit JsonLimitError(const char* what) : exception(600, what) {}
};

// nlohmann::json::parse after the size and depth checks (one pass over the
// text, strings skipped).
nlohmann::json parse_json(std::string_view text);

}  // namespace vfioctl
