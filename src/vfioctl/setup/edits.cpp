#include "vfioctl/setup/edits.h"

#include <algorithm>

#include "vfioctl/util/strings.h"

namespace vfioctl::setup {

namespace {

constexpr std::string_view kBegin = "# BEGIN vfioctl";
constexpr std::string_view kEnd = "# END vfioctl";

std::vector<std::string> lines_keep(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) {
      out.push_back(text.substr(pos));
      break;
    }
    out.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) {
    out += l;
    out += '\n';
  }
  return out;
}

// [begin, end] line indexes of the managed block, or nullopt: the first END
// line and the BEGIN line closest before it. A BEGIN without an END (a stray
// comment) starts nothing.
std::optional<std::pair<size_t, size_t>> find_block(const std::vector<std::string>& lines) {
  std::optional<size_t> begin;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (starts_with(lines[i], kBegin))
      begin = i;
    else if (begin && starts_with(lines[i], kEnd))
      return std::make_pair(*begin, i);
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::pair<int, int>> managed_block_lines(const std::string& text) {
  auto b = find_block(lines_keep(text));
  if (!b) return std::nullopt;
  return std::make_pair(static_cast<int>(b->first) + 1, static_cast<int>(b->second) + 1);
}

std::string arg_str(const KernelArg& a) { return a.value ? a.key + "=" + *a.value : a.key; }

std::string set_managed_block(const std::string& text, const std::string& title, const std::string& body) {
  auto lines = lines_keep(text);
  std::vector<std::string> block;
  if (!body.empty()) {
    block.push_back(std::string(kBegin) + ": " + title);
    for (const auto& l : lines_keep(body)) block.push_back(l);
    block.push_back(std::string(kEnd));
  }
  if (auto b = find_block(lines)) {
    lines.erase(lines.begin() + static_cast<long>(b->first), lines.begin() + static_cast<long>(b->second) + 1);
    lines.insert(lines.begin() + static_cast<long>(b->first), block.begin(), block.end());
  } else {
    lines.insert(lines.end(), block.begin(), block.end());
  }
  return join_lines(lines);
}

std::string without_managed_block(const std::string& text) {
  auto lines = lines_keep(text);
  if (auto b = find_block(lines)) {
    lines.erase(lines.begin() + static_cast<long>(b->first), lines.begin() + static_cast<long>(b->second) + 1);
    return join_lines(lines);
  }
  return text;
}

std::optional<std::string> shell_value(const std::string& text, std::string_view name, int* line) {
  std::optional<std::string> value;
  int n = 0;
  std::string prefix = std::string(name) + "=";
  for (auto l : split(text, '\n')) {
    ++n;
    std::string_view t = trim(l);
    if (starts_with(t, "export ")) t = trim(t.substr(7));
    if (!starts_with(t, prefix)) continue;
    value = unquote(t.substr(prefix.size()));
    if (line) *line = n;
  }
  return value;
}

std::optional<std::vector<std::string>> array_words(const std::string& text, std::string_view name) {
  std::optional<std::vector<std::string>> out;
  std::string prefix = std::string(name) + "=(";
  for (auto l : split(text, '\n')) {
    std::string_view t = trim(l);
    if (!starts_with(t, prefix)) continue;
    size_t close = t.find(')');
    std::string_view inner =
        t.substr(prefix.size(), close == std::string_view::npos ? std::string_view::npos : close - prefix.size());
    std::vector<std::string> words;
    for (auto w : split_ws(inner)) words.push_back(unquote(w));
    out = std::move(words);
  }
  return out;
}

std::string prepend_to_array(const std::string& text, std::string_view name, const std::vector<std::string>& front) {
  auto lines = lines_keep(text);
  std::string prefix = std::string(name) + "=(";
  std::optional<size_t> at;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view t = trim(lines[i]);
    if (starts_with(t, prefix) && t.find(')') != std::string_view::npos) at = i;
  }
  auto build = [&](const std::vector<std::string>& rest) {
    std::vector<std::string> words = front;
    for (const auto& w : rest) {
      if (std::find(front.begin(), front.end(), w) == front.end()) words.push_back(w);
    }
    return std::string(name) + "=(" + join(words, " ") + ")";
  };
  if (!at) {
    lines.push_back(build({}));
    return join_lines(lines);
  }
  std::string_view t = trim(lines[*at]);
  size_t close = t.find(')');
  std::string tail(t.substr(close + 1));  // a trailing comment stays
  std::vector<std::string> rest;
  for (auto w : split_ws(t.substr(prefix.size(), close - prefix.size()))) rest.push_back(unquote(w));
  std::string replaced = build(rest) + tail;
  if (replaced == std::string(t)) return text;
  lines[*at] = replaced;
  return join_lines(lines);
}

namespace {

bool word_edge(char c) { return c == ' ' || c == '\t' || c == '"' || c == '\''; }

// Offset of the nth whole-word occurrence of `word` in `line`, or npos.
size_t find_word(const std::string& line, const std::string& word, int nth) {
  size_t first_eq = line.find('=');
  for (size_t pos = line.find(word); pos != std::string::npos; pos = line.find(word, pos + 1)) {
    bool left = pos == 0 || word_edge(line[pos - 1]) || (pos - 1 == first_eq);
    size_t end = pos + word.size();
    bool right = end == line.size() || word_edge(line[end]);
    if (!left || !right) continue;
    if (nth-- == 0) return pos;
  }
  return std::string::npos;
}

}  // namespace

std::string edit_words_in_lines(const std::string& text, const std::vector<LineWordEdit>& edits) {
  auto lines = lines_keep(text);
  // Later occurrences first on each line, so earlier offsets stay valid.
  std::vector<LineWordEdit> sorted = edits;
  std::stable_sort(sorted.begin(), sorted.end(), [](const LineWordEdit& a, const LineWordEdit& b) {
    return a.line != b.line ? a.line < b.line : a.nth > b.nth;
  });
  for (const auto& e : sorted) {
    if (e.line < 1 || static_cast<size_t>(e.line) > lines.size()) continue;
    std::string& l = lines[static_cast<size_t>(e.line) - 1];
    size_t pos = find_word(l, e.old, e.nth);
    if (pos == std::string::npos) continue;
    if (e.now) {
      l.replace(pos, e.old.size(), *e.now);
      continue;
    }
    size_t end = pos + e.old.size();
    if (end < l.size() && (l[end] == ' ' || l[end] == '\t'))
      ++end;
    else if (pos > 0 && (l[pos - 1] == ' ' || l[pos - 1] == '\t'))
      --pos;
    l.erase(pos, end - pos);
  }
  std::string out = join_lines(lines);
  return !text.empty() && text.back() != '\n' ? out.substr(0, out.size() - 1) : out;
}

std::string replace_lines(const std::string& text, int first, int last, const std::optional<std::string>& now) {
  auto lines = lines_keep(text);
  if (first < 1 || last < first || static_cast<size_t>(last) > lines.size()) return text;
  lines.erase(lines.begin() + first - 1, lines.begin() + last);
  if (now) lines.insert(lines.begin() + first - 1, *now);
  return join_lines(lines);
}

std::string append_to_line(const std::string& text, int line, const std::string& words) {
  auto lines = lines_keep(text);
  if (line < 1 || static_cast<size_t>(line) > lines.size()) return text;
  std::string& l = lines[static_cast<size_t>(line) - 1];
  while (!l.empty() && (l.back() == ' ' || l.back() == '\t')) l.pop_back();
  l += (l.empty() ? "" : " ") + words;
  return join_lines(lines);
}

std::string set_managed_block_before(const std::string& text, const std::string& title, const std::string& body,
                                     int before) {
  if (before <= 0) return set_managed_block(text, title, body);
  auto lines = lines_keep(text);
  auto block_at = find_block(lines);
  std::vector<std::string> out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (static_cast<int>(i) + 1 == before && !body.empty()) {
      out.push_back(std::string(kBegin) + ": " + title);
      for (const auto& l : lines_keep(body)) out.push_back(l);
      out.push_back(std::string(kEnd));
    }
    if (block_at && i >= block_at->first && i <= block_at->second) continue;
    out.push_back(lines[i]);
  }
  return join_lines(out);
}

std::string edit_array_at(const std::string& text, int line,
                          const std::function<std::vector<std::string>(const std::vector<std::string>&)>& edit) {
  auto lines = lines_keep(text);
  if (line < 1 || static_cast<size_t>(line) > lines.size()) return text;
  size_t first = static_cast<size_t>(line) - 1;
  size_t open = lines[first].find_first_of("(\"");
  if (open == std::string::npos) return text;
  char closing = lines[first][open] == '(' ? ')' : '"';
  std::vector<std::string> words;
  size_t last = first;
  std::string tail;
  std::string rest = lines[first].substr(open + 1);
  for (;;) {
    size_t close = rest.find(closing);
    std::string inner = rest.substr(0, close);
    if (size_t hash = inner.find('#'); hash != std::string::npos) inner = inner.substr(0, hash);
    for (auto w : split_ws(inner)) words.push_back(unquote(w));
    if (close != std::string::npos) {
      tail = rest.substr(close + 1);
      break;
    }
    if (last + 1 >= lines.size()) return text;  // never closed: left alone
    rest = lines[++last];
  }
  auto now = edit(words);
  if (now == words) return text;
  std::string head = lines[first].substr(0, open + 1);
  lines.erase(lines.begin() + static_cast<long>(first), lines.begin() + static_cast<long>(last) + 1);
  lines.insert(lines.begin() + static_cast<long>(first), head + join(now, " ") + closing + tail);
  return join_lines(lines);
}

}  // namespace vfioctl::setup
