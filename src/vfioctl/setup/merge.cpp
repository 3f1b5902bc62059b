#include "vfioctl/setup/merge.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "vfioctl/setup/edits.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::setup {

namespace {

std::string key_of(const std::string& word) {
  size_t eq = word.find('=');
  return module_name(eq == std::string::npos ? word : word.substr(0, eq));
}

std::optional<std::string> value_of(const std::string& word) {
  size_t eq = word.find('=');
  if (eq == std::string::npos) return std::nullopt;
  return word.substr(eq + 1);
}

std::string where(const CmdWord& w) { return w.at.line > 0 ? w.at.str() : w.at.path; }

bool is_ids_key(const std::string& key) { return key == "vfio_pci.ids"; }

// For each word, the index of an earlier word written at the same place
// (file, line, occurrence), or nullopt.
std::vector<std::optional<size_t>> twins(const std::vector<CmdWord>& words) {
  std::vector<std::optional<size_t>> out(words.size());
  std::map<std::tuple<std::string, int, int, std::string>, size_t> first;
  for (size_t i = 0; i < words.size(); ++i) {
    const CmdWord& w = words[i];
    if (w.at.line <= 0 || w.ours) continue;
    auto [it, fresh] = first.emplace(std::make_tuple(w.at.path, w.at.line, w.nth, w.text), i);
    if (!fresh) out[i] = it->second;
  }
  return out;
}

// Comma-list arguments whose every occurrence the kernel reads: what each
// value means for setup.
struct TokenRule {
  std::string key;
  std::vector<std::string> conflict;  // turn the IOMMU (or pass-through) off
  std::vector<std::string> known;     // other values the kernel reads
};

const TokenRule* token_rule(const std::string& key) {
  static const std::vector<TokenRule> rules = {
      {"intel_iommu", {"off"}, {"on", "igfx_off", "forcedac", "strict", "sp_off", "sm_on", "sm_off", "tboot_noforce"}},
      {"iommu",
       {"off", "nopt"},
       {"pt", "soft", "force", "noforce", "biomerge", "panic", "nopanic", "merge", "nomerge", "forcesac", "allowdac",
        "nodac", "usedac", "calgary", "noagp", "noaperture", "memaper", "fullflush", "nofullflush"}},
      {"amd_iommu",
       {"off"},
       {"fullflush", "force_enable", "force_isolation", "pgtbl_v1", "pgtbl_v2", "irtcachedis", "nohugepages",
        "v2_pgsizes_only"}},
  };
  for (const auto& r : rules) {
    if (r.key == key) return &r;
  }
  return nullptr;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

namespace {

// vendor:device[:subvendor[:subdevice[:class[:class_mask]]]], hex.
bool is_id(std::string_view id) {
  auto fields = split(id, ':');
  if (fields.size() < 2 || fields.size() > 6) return false;
  for (auto f : fields) {
    if (f.empty() || f.size() > 8) return false;
    for (char c : f) {
      if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
    }
  }
  return true;
}

}  // namespace

std::vector<std::string> split_ids(std::string_view list, std::vector<std::string>* bad) {
  std::vector<std::string> out;
  for (auto part : split(list, ',')) {
    std::string id = to_lower(trim(part));
    if (id.empty()) continue;
    if (is_id(id))
      out.push_back(id);
    else if (bad)
      bad->push_back(std::string(trim(part)));
  }
  return out;
}

std::vector<std::string> merge_ids(const std::vector<std::string>& have, const std::vector<std::string>& add,
                                   const std::vector<std::string>& remove) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto* list : {&have, &add}) {
    for (const auto& id : *list) {
      std::string l = to_lower(id);
      if (contains(remove, l) || !seen.insert(l).second) continue;
      out.push_back(l);
    }
  }
  return out;
}

bool same_ids(std::string_view a, std::string_view b) {
  auto x = split_ids(a), y = split_ids(b);
  return std::set<std::string>(x.begin(), x.end()) == std::set<std::string>(y.begin(), y.end());
}

std::optional<std::string> ids_value(const std::string& word) {
  if (!is_ids_key(key_of(word))) return std::nullopt;
  return value_of(word).value_or("");
}

CmdlineMerge merge_cmdline(const std::vector<CmdWord>& words, const CmdlineWants& want) {
  CmdlineMerge m;
  std::vector<std::optional<std::optional<std::string>>> edit(words.size());  // set: edited (inner nullopt: dropped)
  auto current = [&](size_t i) -> std::optional<std::string> { return edit[i] ? *edit[i] : words[i].text; };

  // A word spliced in again by an expansion ("$GRUB_CMDLINE_LINUX" inside
  // the other variable) is the same written word: it is merged once.
  auto twin = twins(words);
  auto occurrences = [&](const std::string& key) {
    std::vector<size_t> out;
    for (size_t i = 0; i < words.size(); ++i) {
      if (!twin[i] && current(i) && key_of(words[i].text) == key) out.push_back(i);
    }
    return out;
  };

  for (const auto& a : want.args) {
    std::string key = module_name(a.key);
    std::string wanted = arg_str(a);
    auto occ = occurrences(key);
    const TokenRule* rule = token_rule(key);
    if (rule && a.value) {
      bool have = false;
      for (size_t i : occ) {
        std::string value = value_of(words[i].text).value_or("");
        auto toks = split(value, ',');
        std::vector<std::string> kept;
        bool conflict = false, changed = false;
        for (auto t : toks) {
          std::string tok(t);
          if (contains(rule->conflict, tok)) {
            conflict = changed = true;
            continue;
          }
          if (tok == *a.value) {
            if (have) {
              changed = true;
              continue;
            }
            have = true;
          } else if (!contains(rule->known, tok)) {
            m.notes.push_back(fmt::format("{}: {} is not a value the kernel knows for {}=; it has no effect, kept",
                                          where(words[i]), tok, a.key));
          }
          kept.push_back(tok);
        }
        if (conflict && !have) {
          kept.insert(kept.begin(), *a.value);
          have = true;
        }
        if (!changed) continue;
        std::optional<std::string> now;
        if (!kept.empty()) now = a.key + "=" + join(kept, ",");
        edit[i] = now;
        m.notes.push_back(now ? fmt::format("{}: {} replaced by {}{}", where(words[i]), words[i].text, *now,
                                            conflict ? " (it turned off what passthrough needs)" : "")
                              : fmt::format("{}: {} dropped (it repeated {})", where(words[i]), words[i].text, wanted));
      }
      if (!have) m.add.push_back(a);
      continue;
    }
    bool first = true;
    for (size_t i : occ) {
      if (first) {
        first = false;
        // The word keeps the user's spelling of the key (vfio_pci.ids).
        std::string here = words[i].text.substr(0, words[i].text.find('='));
        if (a.value) here += "=" + *a.value;
        // An id list with the same ids in another order is left as written.
        bool same = is_ids_key(key) && a.value && same_ids(value_of(words[i].text).value_or(""), *a.value);
        if (words[i].text != here && !same) {
          edit[i] = here;
          m.notes.push_back(fmt::format("{}: {} replaced by {}", where(words[i]), words[i].text,
                                        is_ids_key(key) ? "the merged list " + here : here));
        }
        continue;
      }
      edit[i] = std::optional<std::string>();
      m.notes.push_back(fmt::format("{}: {} dropped: {} is set once, to {}", where(words[i]), words[i].text, a.key,
                                    is_ids_key(key) ? "the merged list" : *a.value));
    }
    if (first) m.add.push_back(a);
  }
  for (const auto& k : want.drop) {
    for (size_t i : occurrences(module_name(k))) {
      edit[i] = std::optional<std::string>();
      m.notes.push_back(fmt::format("{}: {} dropped", where(words[i]), words[i].text));
    }
  }
  if (want.iommu) {
    for (size_t i = 0; i < words.size(); ++i) {
      if (twin[i] || !current(i) || edit[i]) continue;
      std::string key = key_of(words[i].text);
      auto value = value_of(words[i].text).value_or("");
      if (key == "amd_iommu") {
        auto toks = split(value, ',');
        std::vector<std::string> kept;
        bool off = false;
        for (auto t : toks) {
          if (t == "off" && want.amd) {
            off = true;
            continue;
          }
          if (!contains(token_rule("amd_iommu")->known, std::string(t)) && t != "off") {
            m.notes.push_back(
                fmt::format("{}: amd_iommu={} is not an option the kernel knows (it ignores it; AMD's IOMMU is on by "
                            "default); kept",
                            where(words[i]), t));
          }
          kept.emplace_back(t);
        }
        if (off) {
          std::optional<std::string> now;
          if (!kept.empty()) now = "amd_iommu=" + join(kept, ",");
          edit[i] = now;
          m.notes.push_back(fmt::format("{}: {} {} (it turns the IOMMU off)", where(words[i]), words[i].text,
                                        now ? "replaced by " + *now : std::string("dropped")));
        }
      } else if (key == "intel_iommu" && want.amd) {
        m.notes.push_back(fmt::format("{}: {} does nothing on an AMD CPU; kept", where(words[i]), words[i].text));
      }
    }
  }
  for (size_t i = 0; i < words.size(); ++i) {
    if (edit[i]) m.edits.push_back({i, *edit[i]});
  }
  return m;
}

std::vector<std::string> apply_merge(const std::vector<CmdWord>& words, const CmdlineMerge& m) {
  std::vector<std::string> out;
  auto twin = twins(words);
  for (size_t i = 0; i < words.size(); ++i) {
    size_t of = twin[i] ? *twin[i] : i;  // a twin reads as its written word does
    auto e = std::find_if(m.edits.begin(), m.edits.end(), [&](const WordEdit& w) { return w.index == of; });
    if (e == m.edits.end())
      out.push_back(words[i].text);
    else if (e->text)
      out.push_back(*e->text);
  }
  for (const auto& a : m.add) out.push_back(arg_str(a));
  return out;
}

const std::vector<std::string>& early_drivers() {
  static const std::vector<std::string> d = {"amdgpu",     "radeon",         "nouveau",    "nvidia",
                                             "nvidia_drm", "nvidia_modeset", "nvidia_uvm", "i915",
                                             "xe",         "snd_hda_intel",  "xhci_pci",   "nvme"};
  return d;
}

std::vector<std::string> missing_modules(const std::vector<std::string>& list, const std::vector<std::string>& needed,
                                         const std::vector<std::string>& competing) {
  size_t stop = list.size();
  for (size_t i = 0; i < list.size(); ++i) {
    if (contains(competing, list[i])) {
      stop = i;
      break;
    }
  }
  std::vector<std::string> out;
  for (const auto& n : needed) {
    if (std::find(list.begin(), list.begin() + static_cast<long>(stop), n) == list.begin() + static_cast<long>(stop))
      out.push_back(n);
  }
  return out;
}

std::vector<std::string> order_modules(const std::vector<std::string>& list, const std::vector<std::string>& needed,
                                       const std::vector<std::string>& competing, bool* changed) {
  auto missing = missing_modules(list, needed, competing);
  if (changed) *changed = !missing.empty();
  if (missing.empty()) return list;
  std::vector<std::string> out;
  bool inserted = false;
  for (const auto& w : list) {
    if (!inserted && contains(competing, w)) {
      out.insert(out.end(), missing.begin(), missing.end());
      inserted = true;
    }
    if (contains(missing, w)) continue;  // moved before the driver
    out.push_back(w);
  }
  if (!inserted) out.insert(out.end(), missing.begin(), missing.end());
  return out;
}

}  // namespace vfioctl::setup
