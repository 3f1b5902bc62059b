#include "vfioctl/util/suggest.h"

#include <algorithm>
#include <limits>

#include "vfioctl/util/strings.h"

namespace vfioctl {

Nearest::Nearest(std::string_view word, const Nearness& rule)
    : m_word(rule.ignore_case ? to_lower(word) : std::string(word)),
      m_rule(rule),
      m_best_edits(std::numeric_limits<size_t>::max()) {}

void Nearest::offer(std::string_view choice) {
  std::string c = m_rule.ignore_case ? to_lower(choice) : std::string(choice);
  size_t d = edit_distance(m_word, c);
  size_t limit = m_rule.third_of_length ? std::max(m_rule.max_edits, m_word.size() / 3) : m_rule.max_edits;
  bool near = d <= limit && (!m_rule.fewer_than_choice || d < c.size());
  if (m_rule.prefix && m_word.size() >= 3 && starts_with(c, m_word)) near = true;
  if (near && d < m_best_edits) {
    m_best_edits = d;
    m_best = std::string(choice);
  }
}

std::string nearest(std::string_view word, const std::vector<std::string>& choices, const Nearness& rule) {
  Nearest n(word, rule);
  for (const auto& c : choices) n.offer(c);
  return n.best();
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& choices, const Nearness& rule) {
  std::string s = nearest(word, choices, rule);
  return s.empty() ? "" : "; did you mean '" + s + "'?";
}

}  // namespace vfioctl
