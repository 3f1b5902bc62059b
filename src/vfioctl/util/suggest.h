// "Did you mean": the choice nearest a mistyped word, by edit distance
// (util/strings.h). Callers differ in how near is near enough; each says so
// in a Nearness. Ties go to the choice offered first.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace vfioctl {

struct Nearness {
  size_t max_edits = 2;            // near within this many edits
  bool third_of_length = false;    // or within a third of the word's length, when that is more
  bool fewer_than_choice = false;  // and fewer edits than the choice has characters ("xy" is not near "ht")
  bool prefix = false;             // a choice the word begins (3 characters or more) is near at any distance
  bool ignore_case = false;        // ASCII letters compared in lower case
};

// The nearest of the choices offered, one at a time.
class Nearest {
 public:
  Nearest(std::string_view word, const Nearness& rule);
  void offer(std::string_view choice);
  // The nearest choice as offered, or "" when none is near enough.
  const std::string& best() const { return m_best; }

 private:
  std::string m_word;
  Nearness m_rule;
  std::string m_best;
  size_t m_best_edits;
};

// The nearest choice, or "".
std::string nearest(std::string_view word, const std::vector<std::string>& choices, const Nearness& rule);

// "; did you mean 'x'?" for the nearest choice, or "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& choices, const Nearness& rule);

}  // namespace vfioctl
