#include "vfioctl/util/tune_contract.h"

#include <pugixml.hpp>

#include <algorithm>

namespace vfioctl {

const std::vector<std::string>& tune_action_names() {
  static const std::vector<std::string> all = {"hugepages", "isolate", "governor", "irq"};
  return all;
}

bool is_tune_action(std::string_view word) {
  const auto& all = tune_action_names();
  return std::find(all.begin(), all.end(), word) != all.end();
}

std::optional<std::vector<std::string>> tune_actions_in_order(const std::vector<std::string>& words,
                                                              std::string* unknown) {
  for (const auto& w : words) {
    if (is_tune_action(w)) continue;
    if (unknown) *unknown = w;
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (const auto& a : tune_action_names())
    if (std::find(words.begin(), words.end(), a) != words.end()) out.push_back(a);
  return out;
}

bool is_tune_element(const pugi::xml_node& n) {
  std::string_view name = n.name();
  std::string_view prefix, local = name;
  if (auto colon = name.find(':'); colon != std::string_view::npos) {
    prefix = name.substr(0, colon);
    local = name.substr(colon + 1);
  }
  if (local != kTuneElement) return false;
  std::string attr = prefix.empty() ? "xmlns" : "xmlns:" + std::string(prefix);
  for (pugi::xml_node p = n; p; p = p.parent())
    if (auto a = p.attribute(attr.c_str())) return std::string_view(a.value()) == kTuneNamespace;
  return false;
}

}  // namespace vfioctl
