// Kernel-argument helpers of the setup planner: the id list among the
// arguments, the ostree deployment that boots next, rpm-ostree's kargs, and
// module-list arguments.
#include <fmt/format.h>

#include <algorithm>

#include "vfioctl/setup/edits.h"
#include "vfioctl/setup/setup_parts.h"
#include "vfioctl/setup/transaction.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::setup {

std::vector<KernelArg> with_ids(const std::vector<KernelArg>& args, const std::vector<std::string>& ids) {
  std::vector<KernelArg> out;
  bool placed = ids.empty();
  for (const auto& a : args) {
    out.push_back(a);
    if (a.key == "iommu" && !placed) {
      out.push_back({"vfio-pci.ids", join(ids, ",")});
      placed = true;
    }
  }
  if (!placed) out.push_back({"vfio-pci.ids", join(ids, ",")});
  return out;
}

void pending_kargs(const Root& root, CmdlineTarget& t, Plan& plan) {
  for (const auto& e : Journal(root, real_fs()).list()) {
    if (e.state != "applied" || e.kargs.empty()) continue;
    std::vector<std::string> waiting;
    for (const auto& w : e.kargs.remove) {
      auto it = std::find_if(t.words.begin(), t.words.end(), [&](const CmdWord& c) { return c.text == w; });
      if (it != t.words.end()) t.words.erase(it);
    }
    for (const auto& w : e.kargs.append) {
      if (std::none_of(t.words.begin(), t.words.end(), [&](const CmdWord& c) { return c.text == w; })) {
        t.words.push_back({w, {"journal entry " + e.id, 0}, 0});
        waiting.push_back(w);
      }
    }
    if (!waiting.empty()) {
      plan.notes.push_back(fmt::format("journal entry {} gave the next deployment {}; they take effect after a restart",
                                       e.id, join(waiting, " ")));
    }
  }
}

KargsChange plan_kargs(const CmdlineTarget& t, const CmdlineMerge& m) {
  KargsChange k;
  for (const auto& e : m.edits) {
    k.remove.push_back(t.words[e.index].text);
    if (e.text) k.append.push_back(*e.text);
  }
  for (const auto& a : m.add) k.append.push_back(arg_str(a));
  return k;
}

KernelArg module_list_arg(const CmdlineTarget& t, const std::string& key, const std::vector<std::string>& needed) {
  std::vector<std::string> out;
  for (const auto& w : t.words) {
    if (!starts_with(w.text, key + "=")) continue;
    for (auto m : split(std::string_view(w.text).substr(key.size() + 1), ',')) {
      if (!m.empty() && std::find(out.begin(), out.end(), m) == out.end()) out.emplace_back(m);
    }
  }
  for (const auto& m : needed) {
    bool listed = std::any_of(out.begin(), out.end(), [&](const std::string& h) { return module_name(h) == m; });
    if (!listed) out.push_back(m);
  }
  return KernelArg{key, join(out, ",")};
}

Command KargsChange::command() const {
  Command c{{"rpm-ostree", "kargs"}, "change the kernel arguments of the next deployment"};
  for (const auto& w : remove) c.argv.push_back("--delete-if-present=" + w);
  for (const auto& w : append) c.argv.push_back("--append-if-missing=" + w);
  return c;
}

KargsChange KargsChange::inverse() const {
  KargsChange k;
  k.append = remove;
  k.remove = append;
  return k;
}

}  // namespace vfioctl::setup
