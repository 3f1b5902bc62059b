#include "vfioctl/util/json_input.h"

#include "vfioctl/util/limits.h"

namespace vfioctl {

nlohmann::json parse_json(std::string_view text) {
  if (text.size() > limits::kJsonBytes) throw JsonLimitError("JSON text larger than vfioctl reads");
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limits::kJsonDepth) throw JsonLimitError("JSON nested deeper than vfioctl reads");
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return nlohmann::json::parse(text);
}

}  // namespace vfioctl
