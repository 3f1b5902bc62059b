#include "vfioctl/lint/edit.h"

#include <algorithm>
#include <initializer_list>

#include "vfioctl/lint/domain.h"

namespace vfioctl::lint {

namespace {

// Joins pieces of text. (Not "literal" + std::string&&: GCC 12 at -O3 warns
// falsely about overlapping copies in it, -Wrestrict.)
std::string cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto p : parts) out += p;
  return out;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool name_char(char c) { return !is_space(c) && c != '/' && c != '>' && c != '=' && c != '<'; }

std::string escape(std::string_view s, char quote) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += quote ? std::string(1, c) : "&gt;"; break;
      case '\'': out += quote == '\'' ? "&apos;" : "'"; break;
      case '"': out += quote == '"' ? "&quot;" : "\""; break;
      default: out += c;
    }
  }
  return out;
}

// Re-indents the lines after the first of a moved block.
std::string reindent(std::string_view block, const std::optional<std::string>& from,
                     const std::optional<std::string>& to) {
  if (!from || !to) return std::string(block);
  std::string out;
  size_t i = 0;
  while (i < block.size()) {
    size_t nl = block.find('\n', i);
    if (nl == std::string_view::npos) {
      out.append(block.substr(i));
      break;
    }
    out.append(block.substr(i, nl + 1 - i));
    i = nl + 1;
    if (block.substr(i, from->size()) == *from) {
      out += *to;
      i += from->size();
    }
  }
  return out;
}

}  // namespace

bool collide(const TextEdit& a, const TextEdit& b) {
  bool a_inserts = a.begin == a.end, b_inserts = b.begin == b.end;
  // Two insertions at one place: their order would be a guess.
  if (a_inserts && b_inserts) return a.begin == b.begin;
  // An insertion at either edge of a replaced range is fine; inside it, not.
  if (a_inserts) return a.begin > b.begin && a.begin < b.end;
  if (b_inserts) return b.begin > a.begin && b.begin < a.end;
  return a.begin < b.end && b.begin < a.end;
}

std::string apply_edits(const std::string& text, std::vector<TextEdit> edits) {
  // By place; at one place an insertion goes before what replaces the text there.
  std::stable_sort(edits.begin(), edits.end(), [](const TextEdit& a, const TextEdit& b) {
    return a.begin != b.begin ? a.begin < b.begin : (a.begin == a.end && b.begin != b.end);
  });
  std::string out;
  out.reserve(text.size() + 256);
  size_t at = 0;
  for (const auto& e : edits) {
    if (e.begin < at || e.end < e.begin || e.end > text.size()) continue;  // collides: never applied
    out.append(text, at, e.begin - at);
    out += e.text;
    at = e.end;
  }
  out.append(text, at, std::string::npos);
  return out;
}

void EditSet::add(std::optional<TextEdit> e) {
  if (!e) {
    m_ok = false;
    return;
  }
  for (const auto& x : m_edits) {
    if (collide(x, *e)) m_ok = false;
  }
  m_edits.push_back(std::move(*e));
}

void EditSet::add(std::optional<std::vector<TextEdit>> es) {
  if (!es) {
    m_ok = false;
    return;
  }
  for (auto& e : *es) add(std::optional<TextEdit>(std::move(e)));
}

std::vector<TextEdit> EditSet::take() const { return m_ok ? m_edits : std::vector<TextEdit>{}; }

XmlEditor::XmlEditor(const Domain& d) : m_text(d.text()) {
  for (size_t ls = 0;;) {
    size_t i = ls;
    while (i < m_text.size() && (m_text[i] == ' ' || m_text[i] == '\t')) ++i;
    m_line_start.push_back(ls);
    m_blank_end.push_back(i);
    size_t nl = m_text.find('\n', i);
    if (nl == std::string::npos) break;
    ls = nl + 1;
  }
  // The document's quote and indentation unit, from <domain> and its first
  // child on a line of its own.
  pugi::xml_node root = d.root();
  if (auto x = extent(root)) {
    if (auto tag = start_tag(x->lt); tag && !tag->attrs.empty()) m_quote = tag->attrs.front().quote;
    auto outer = indent_before(x->lt);
    for (pugi::xml_node c : root.children()) {
      if (c.type() != pugi::node_element) continue;
      auto cx = extent(c);
      auto inner = cx ? indent_before(cx->lt) : std::nullopt;
      if (!outer || !inner) break;
      if (inner->size() > outer->size() && inner->compare(0, outer->size(), *outer) == 0) {
        m_unit = inner->substr(outer->size());
      }
      break;
    }
  }
}

std::optional<XmlEditor::StartTag> XmlEditor::start_tag(size_t lt) const {
  const std::string& t = m_text;
  if (lt >= t.size() || t[lt] != '<') return std::nullopt;
  StartTag tag;
  size_t i = lt + 1;
  while (i < t.size() && name_char(t[i])) ++i;
  if (i == lt + 1) return std::nullopt;
  tag.name_end = tag.attrs_end = i;
  for (;;) {
    size_t ws = i;
    while (i < t.size() && is_space(t[i])) ++i;
    if (i >= t.size()) return std::nullopt;
    if (t[i] == '>') {
      tag.open_end = i + 1;
      return tag;
    }
    if (t[i] == '/') {
      if (i + 1 >= t.size() || t[i + 1] != '>') return std::nullopt;
      tag.open_end = i + 2;
      tag.empty = true;
      return tag;
    }
    if (i == ws) return std::nullopt;  // attributes are separated by white space
    Attr a;
    a.begin = ws;
    size_t name = i;
    while (i < t.size() && name_char(t[i])) ++i;
    if (i == name) return std::nullopt;
    a.name = std::string_view(t).substr(name, i - name);
    while (i < t.size() && is_space(t[i])) ++i;
    if (i >= t.size() || t[i] != '=') return std::nullopt;
    ++i;
    while (i < t.size() && is_space(t[i])) ++i;
    if (i >= t.size() || (t[i] != '\'' && t[i] != '"')) return std::nullopt;
    a.quote = t[i];
    a.value = i + 1;
    size_t close = t.find(a.quote, a.value);
    if (close == std::string::npos) return std::nullopt;
    a.value_end = close;
    i = close + 1;
    tag.attrs_end = i;
    tag.attrs.push_back(a);
  }
}

std::optional<XmlEditor::Extent> XmlEditor::extent(pugi::xml_node n) const {
  if (!n || n.type() != pugi::node_element) return std::nullopt;
  ptrdiff_t off = n.offset_debug();
  if (off < 1 || static_cast<size_t>(off) > m_text.size()) return std::nullopt;
  Extent x;
  x.lt = static_cast<size_t>(off) - 1;
  auto tag = start_tag(x.lt);
  if (!tag) return std::nullopt;
  std::string_view name = n.name();
  if (std::string_view(m_text).substr(x.lt + 1, tag->name_end - x.lt - 1) != name) return std::nullopt;
  x.open_end = tag->open_end;
  x.attrs_end = tag->attrs_end;
  x.empty = tag->empty;
  if (x.empty) {
    x.close = x.end = x.open_end;
    return x;
  }
  const std::string& t = m_text;
  size_t i = x.open_end;
  int depth = 1;
  for (;;) {
    i = t.find('<', i);
    if (i == std::string::npos) return std::nullopt;
    auto skip_to = [&](const char* end_mark, size_t from) {
      size_t j = t.find(end_mark, from);
      return j == std::string::npos ? j : j + std::char_traits<char>::length(end_mark);
    };
    if (t.compare(i, 4, "<!--") == 0) {
      i = skip_to("-->", i + 4);
    } else if (t.compare(i, 9, "<![CDATA[") == 0) {
      i = skip_to("]]>", i + 9);
    } else if (t.compare(i, 2, "<?") == 0) {
      i = skip_to("?>", i + 2);
    } else if (t.compare(i, 2, "<!") == 0) {
      i = skip_to(">", i + 2);
    } else if (t.compare(i, 2, "</") == 0) {
      size_t gt = t.find('>', i);
      if (gt == std::string::npos) return std::nullopt;
      if (--depth == 0) {
        std::string_view closing = std::string_view(t).substr(i + 2, gt - i - 2);
        while (!closing.empty() && is_space(closing.back())) closing.remove_suffix(1);
        if (closing != name) return std::nullopt;
        x.close = i;
        x.end = gt + 1;
        return x;
      }
      i = gt + 1;
    } else {
      auto inner = start_tag(i);
      if (!inner) return std::nullopt;
      if (!inner->empty) ++depth;
      i = inner->open_end;
    }
    if (i == std::string::npos) return std::nullopt;
  }
}

std::optional<std::string> XmlEditor::indent_before(size_t pos) const {
  if (pos > m_text.size()) return std::nullopt;
  // The line holding pos: the last that starts at or before it.
  size_t line =
      static_cast<size_t>(std::upper_bound(m_line_start.begin(), m_line_start.end(), pos) - m_line_start.begin()) - 1;
  size_t ls = m_line_start[line];
  if (pos > m_blank_end[line]) return std::nullopt;
  return m_text.substr(ls, pos - ls);
}

std::optional<std::string> XmlEditor::child_indent(pugi::xml_node parent, const Extent& px) const {
  for (pugi::xml_node c : parent.children()) {
    if (c.type() != pugi::node_element) continue;
    ptrdiff_t off = c.offset_debug();
    if (off < 1) continue;
    if (auto ind = indent_before(static_cast<size_t>(off) - 1)) return ind;
  }
  if (auto ind = indent_before(px.lt)) return *ind + m_unit;
  return std::nullopt;
}

char XmlEditor::quote_of(pugi::xml_node n) const {
  if (auto x = extent(n)) {
    if (auto tag = start_tag(x->lt); tag && !tag->attrs.empty()) return tag->attrs.front().quote;
  }
  return m_quote;
}

std::string XmlEditor::write(const NewElement& e, const std::optional<std::string>& indent, char quote) const {
  std::string s = "<" + e.name;
  for (const auto& [k, v] : e.attrs) s += " " + k + "=" + quote + escape(v, quote) + quote;
  if (e.children.empty() && e.text.empty()) return s + "/>";
  s += ">";
  if (e.children.empty()) return s + escape(e.text, 0) + "</" + e.name + ">";
  std::optional<std::string> inner;
  if (indent) inner = *indent + m_unit;
  for (const auto& c : e.children) {
    if (inner) s += "\n" + *inner;
    s += write(c, inner, quote);
  }
  if (indent) s += "\n" + *indent;
  return s + "</" + e.name + ">";
}

template <class F>
std::optional<TextEdit> XmlEditor::append_block(pugi::xml_node parent, F block) const {
  auto px = extent(parent);
  if (!px) return std::nullopt;
  auto own = indent_before(px->lt);
  auto ci = child_indent(parent, *px);
  std::string name = parent.name();
  if (px->empty) {
    // <x .../> becomes <x ...>CHILD</x>.
    TextEdit e{px->open_end - 2, px->open_end, {}};
    if (own && ci)
      e.text = cat({">\n", *ci, block(ci), "\n", *own, "</", name, ">"});
    else
      e.text = cat({">", block(std::nullopt), "</", name, ">"});
    return e;
  }
  size_t ls = m_text.rfind('\n', px->close - 1);
  bool close_alone = ls != std::string::npos && ls + 1 >= px->open_end && indent_before(px->close);
  if (close_alone && ci) return TextEdit{ls + 1, ls + 1, *ci + block(ci) + "\n"};
  return TextEdit{px->close, px->close, block(std::nullopt)};
}

std::optional<TextEdit> XmlEditor::set_attr(pugi::xml_node n, std::string_view name, std::string_view value) const {
  auto x = extent(n);
  if (!x) return std::nullopt;
  auto tag = start_tag(x->lt);
  if (!tag) return std::nullopt;
  for (const auto& a : tag->attrs) {
    if (a.name == name) return TextEdit{a.value, a.value_end, escape(value, a.quote)};
  }
  char q = quote_of(n);
  std::string_view quote(&q, 1);
  return TextEdit{tag->attrs_end, tag->attrs_end, cat({" ", name, "=", quote, escape(value, q), quote})};
}

std::optional<TextEdit> XmlEditor::remove_attr(pugi::xml_node n, std::string_view name) const {
  auto x = extent(n);
  if (!x) return std::nullopt;
  auto tag = start_tag(x->lt);
  if (!tag) return std::nullopt;
  for (const auto& a : tag->attrs) {
    if (a.name == name) return TextEdit{a.begin, a.value_end + 1, {}};
  }
  return std::nullopt;
}

std::optional<TextEdit> XmlEditor::set_text(pugi::xml_node n, std::string_view text) const {
  auto x = extent(n);
  if (!x) return std::nullopt;
  if (x->empty) return TextEdit{x->open_end - 2, x->open_end, cat({">", escape(text, 0), "</", n.name(), ">"})};
  // Only text inside: an edit must not drop a comment or an element.
  if (m_text.find('<', x->open_end) != x->close) return std::nullopt;
  return TextEdit{x->open_end, x->close, escape(text, 0)};
}

std::optional<TextEdit> XmlEditor::remove(pugi::xml_node n) const {
  auto x = extent(n);
  if (!x) return std::nullopt;
  auto ind = indent_before(x->lt);
  size_t nl = m_text.find('\n', x->end);
  size_t line_end = nl == std::string::npos ? m_text.size() : nl;
  bool rest_blank =
      std::all_of(m_text.begin() + static_cast<long>(x->end), m_text.begin() + static_cast<long>(line_end),
                  [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
  if (ind && rest_blank && nl != std::string::npos) return TextEdit{x->lt - ind->size(), nl + 1, {}};
  return TextEdit{x->lt, x->end, {}};
}

std::optional<TextEdit> XmlEditor::replace(pugi::xml_node n, const NewElement& e) const {
  auto x = extent(n);
  if (!x) return std::nullopt;
  return TextEdit{x->lt, x->end, write(e, indent_before(x->lt), quote_of(n))};
}

std::optional<TextEdit> XmlEditor::append(pugi::xml_node parent, const NewElement& e) const {
  return append(parent, std::vector<NewElement>{e});
}

std::optional<TextEdit> XmlEditor::append(pugi::xml_node parent, const std::vector<NewElement>& es) const {
  if (es.empty()) return std::nullopt;
  return append_block(parent, [&](const std::optional<std::string>& indent) {
    std::string s;
    for (size_t i = 0; i < es.size(); ++i) {
      if (i > 0 && indent) s += "\n" + *indent;
      s += write(es[i], indent, m_quote);
    }
    return s;
  });
}

std::optional<TextEdit> XmlEditor::insert(pugi::xml_node parent, const NewElement& e,
                                          const std::vector<std::string_view>& after) const {
  pugi::xml_node last;
  for (pugi::xml_node c : parent.children()) {
    if (c.type() != pugi::node_element) continue;
    if (std::find(after.begin(), after.end(), std::string_view(c.name())) != after.end()) last = c;
  }
  if (!last) return append(parent, e);
  auto x = extent(last);
  if (!x) return std::nullopt;
  auto ind = indent_before(x->lt);
  std::string text = ind ? "\n" + *ind + write(e, ind, m_quote) : write(e, std::nullopt, m_quote);
  return TextEdit{x->end, x->end, text};
}

std::optional<std::vector<TextEdit>> XmlEditor::move(pugi::xml_node n, pugi::xml_node parent) const {
  auto x = extent(n);
  auto gone = remove(n);
  if (!x || !gone) return std::nullopt;
  std::string_view block = std::string_view(m_text).substr(x->lt, x->end - x->lt);
  auto from = indent_before(x->lt);
  auto put = append_block(parent, [&](const std::optional<std::string>& indent) {
    if (!indent) return std::string(block);
    return reindent(block, from, indent);
  });
  if (!put || collide(*gone, *put)) return std::nullopt;
  return std::vector<TextEdit>{*gone, *put};
}

}  // namespace vfioctl::lint
