#include "vfioctl/util/diff.h"

#include <fmt/format.h>

#include <algorithm>
#include <string_view>
#include <vector>

namespace vfioctl {

namespace {

constexpr int kContext = 3;

struct Line {
  std::string_view text;  // without the newline
  bool newline = true;    // ends with '\n' (the last line may not)
};

std::vector<Line> lines_of(const std::string& s) {
  std::vector<Line> out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t nl = s.find('\n', pos);
    if (nl == std::string::npos) {
      out.push_back({std::string_view(s).substr(pos), false});
      break;
    }
    out.push_back({std::string_view(s).substr(pos, nl - pos), true});
    pos = nl + 1;
  }
  return out;
}

bool same(const Line& a, const Line& b) { return a.text == b.text && a.newline == b.newline; }

enum class Op { keep, del, add };
struct Edit {
  Op op;
  size_t a, b;  // line index in before / after
};

// Longest common subsequence over the lines between the common prefix and
// suffix. Configuration files are small; the quadratic table is fine.
std::vector<Edit> edits(const std::vector<Line>& a, const std::vector<Line>& b) {
  size_t pre = 0;
  while (pre < a.size() && pre < b.size() && same(a[pre], b[pre])) ++pre;
  size_t suf = 0;
  while (suf < a.size() - pre && suf < b.size() - pre && same(a[a.size() - 1 - suf], b[b.size() - 1 - suf])) ++suf;
  size_t n = a.size() - pre - suf, m = b.size() - pre - suf;
  std::vector<std::vector<unsigned>> len(n + 1, std::vector<unsigned>(m + 1, 0));
  for (size_t i = n; i-- > 0;) {
    for (size_t j = m; j-- > 0;) {
      len[i][j] = same(a[pre + i], b[pre + j]) ? len[i + 1][j + 1] + 1 : std::max(len[i + 1][j], len[i][j + 1]);
    }
  }
  std::vector<Edit> out;
  for (size_t i = 0; i < pre; ++i) out.push_back({Op::keep, i, i});
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && same(a[pre + i], b[pre + j])) {
      out.push_back({Op::keep, pre + i, pre + j});
      ++i, ++j;
    } else if (i < n && (j == m || len[i + 1][j] >= len[i][j + 1])) {
      // Deletions before additions, as diff -u prints them.
      out.push_back({Op::del, pre + i, pre + j});
      ++i;
    } else {
      out.push_back({Op::add, pre + i, pre + j});
      ++j;
    }
  }
  for (size_t k = 0; k < suf; ++k) out.push_back({Op::keep, a.size() - suf + k, b.size() - suf + k});
  return out;
}

std::string range(size_t start, size_t count) {
  // diff -u: "start,count", "start" when count is 1, and the line before
  // the hunk when it is empty.
  if (count == 1) return fmt::format("{}", start + 1);
  if (count == 0) return fmt::format("{},0", start);
  return fmt::format("{},{}", start + 1, count);
}

}  // namespace

std::string unified_diff(const std::string& path, const std::optional<std::string>& before,
                         const std::optional<std::string>& after) {
  if (before == after) return {};
  const std::string empty;
  auto a = lines_of(before ? *before : empty);
  auto b = lines_of(after ? *after : empty);
  auto e = edits(a, b);
  std::string out = fmt::format("--- {}\n+++ {}\n", before ? "a" + path : std::string("/dev/null"),
                                after ? "b" + path : std::string("/dev/null"));
  size_t k = 0;
  while (k < e.size()) {
    if (e[k].op == Op::keep) {
      ++k;
      continue;
    }
    // A hunk: from kContext lines before this change to kContext lines after
    // the last change that is within 2 * kContext of the next.
    size_t start = k >= kContext ? k - kContext : 0;
    size_t end = k;
    while (true) {
      while (end < e.size() && e[end].op != Op::keep) ++end;
      size_t next = end;
      while (next < e.size() && e[next].op == Op::keep) ++next;
      if (next < e.size() && next - end <= 2 * kContext) {
        end = next;
        continue;
      }
      end = std::min(e.size(), end + kContext);
      break;
    }
    size_t a0 = e[start].a, b0 = e[start].b, na = 0, nb = 0;
    std::string body;
    for (size_t x = start; x < end; ++x) {
      const Line* l = nullptr;
      char mark = ' ';
      switch (e[x].op) {
        case Op::keep:
          l = &a[e[x].a];
          ++na, ++nb;
          break;
        case Op::del:
          l = &a[e[x].a];
          mark = '-';
          ++na;
          break;
        case Op::add:
          l = &b[e[x].b];
          mark = '+';
          ++nb;
          break;
      }
      body += mark;
      body += l->text;
      body += '\n';
      if (!l->newline) body += "\\ No newline at end of file\n";
    }
    out += fmt::format("@@ -{} +{} @@\n", range(a0, na), range(b0, nb));
    out += body;
    k = end;
  }
  return out;
}

}  // namespace vfioctl
