// The <vfioctl:tune> element: the contract between what `vfioctl new` writes
// into a domain's <metadata> and what the libvirt hook (runtime/domain_tune)
// and lint read back. In util/ so that guest/, lint/ and runtime/ share it
// without depending on each other:
//   <metadata>
//     <vfioctl:tune xmlns:vfioctl="urn:vfioctl:tune:1" actions="hugepages isolate governor irq"/>
//   </metadata>
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pugi {
class xml_node;
}

namespace vfioctl {

// The namespace URI decides; the prefix is the author's choice (`vfioctl
// new` writes kTunePrefix).
inline constexpr const char* kTuneNamespace = "urn:vfioctl:tune:1";
inline constexpr const char* kTuneElement = "tune";  // local name
inline constexpr const char* kTunePrefix = "vfioctl";
inline constexpr const char* kTuneActionsAttr = "actions";  // actions, separated by spaces

// The actions a domain can ask for, in the order the hook performs them:
// hugepages, isolate, governor, irq.
const std::vector<std::string>& tune_action_names();
bool is_tune_action(std::string_view word);

// The words in the hook's order, each once; nullopt (and the first word
// that is no action in *unknown, when given) if one is not an action.
std::optional<std::vector<std::string>> tune_actions_in_order(const std::vector<std::string>& words,
                                                              std::string* unknown = nullptr);

// Whether `n` is the element: local name kTuneElement in kTuneNamespace, by
// the xmlns declaration in scope (on the element or an ancestor).
bool is_tune_element(const pugi::xml_node& n);

}  // namespace vfioctl
