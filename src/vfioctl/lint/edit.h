// Edits of a domain XML as byte ranges of its original text, for `lint
// --fix`: whatever an edit does not touch stays as it was, byte for byte
// (comments, attribute order and quotes, whitespace). Rules compute the
// edits that fix a finding from the parsed Domain; the fix pass applies
// those that do not collide and lints again.
#pragma once

#include <optional>
#include <pugixml.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vfioctl::lint {

class Domain;

// Replace [begin, end) of the original text with `text` (begin == end
// inserts).
struct TextEdit {
  size_t begin = 0;
  size_t end = 0;
  std::string text;
};

// Whether two edits touch the same bytes or the same insertion point.
bool collide(const TextEdit& a, const TextEdit& b);

// The text with the edits applied; they must not collide.
std::string apply_edits(const std::string& text, std::vector<TextEdit> edits);

// An element to write: <name attrs...>text or children</name>.
struct NewElement {
  std::string name;
  std::vector<std::pair<std::string, std::string>> attrs;
  std::vector<NewElement> children;
  std::string text;
};

// Computes edits against one parsed domain. Each returns nullopt when the
// place cannot be edited safely (the element is not where the parser says,
// or holds something an edit would lose); the finding then stays unfixed.
class XmlEditor {
 public:
  explicit XmlEditor(const Domain& d);

  // The attribute set to `value`, in place when present, else appended
  // after the element's last attribute.
  std::optional<TextEdit> set_attr(pugi::xml_node n, std::string_view name, std::string_view value) const;
  // The attribute and the space before it removed.
  std::optional<TextEdit> remove_attr(pugi::xml_node n, std::string_view name) const;
  // The content of an element that holds only text replaced.
  std::optional<TextEdit> set_text(pugi::xml_node n, std::string_view text) const;
  // The element removed, with its line when nothing else stands on it.
  std::optional<TextEdit> remove(pugi::xml_node n) const;
  // The element replaced by another in the same place.
  std::optional<TextEdit> replace(pugi::xml_node n, const NewElement& e) const;
  // New last children of `parent`, indented like its siblings.
  std::optional<TextEdit> append(pugi::xml_node parent, const NewElement& e) const;
  std::optional<TextEdit> append(pugi::xml_node parent, const std::vector<NewElement>& es) const;
  // A new child of `parent` after its last child named in `after` (the
  // elements that come before it in libvirt's order), else its last child.
  std::optional<TextEdit> insert(pugi::xml_node parent, const NewElement& e,
                                 const std::vector<std::string_view>& after) const;
  // The element moved to the end of `parent`, its lines re-indented.
  std::optional<std::vector<TextEdit>> move(pugi::xml_node n, pugi::xml_node parent) const;

  // Byte positions of an element: '<', just after its start tag, the start
  // of its end tag, just after that (the last two equal the second for <x/>).
  struct Extent {
    size_t lt = 0, open_end = 0, close = 0, end = 0;
    size_t attrs_end = 0;  // after the name or the last attribute
    bool empty = false;    // <x .../>
  };
  std::optional<Extent> extent(pugi::xml_node n) const;

 private:
  struct Attr {
    std::string_view name;
    size_t begin = 0;  // the white space before the name
    size_t value = 0, value_end = 0;
    char quote = '\'';
  };
  struct StartTag {
    size_t name_end = 0, attrs_end = 0, open_end = 0;
    bool empty = false;
    std::vector<Attr> attrs;
  };
  std::optional<StartTag> start_tag(size_t lt) const;
  std::optional<std::string> indent_before(size_t pos) const;
  std::optional<std::string> child_indent(pugi::xml_node parent, const Extent& px) const;
  char quote_of(pugi::xml_node n) const;
  std::string write(const NewElement& e, const std::optional<std::string>& indent, char quote) const;
  // Appends to `parent` what `block` writes at an indentation (nullopt:
  // inline, without line breaks).
  template <class F>
  std::optional<TextEdit> append_block(pugi::xml_node parent, F block) const;

  const std::string& m_text;
  // Per line: where it starts and where its leading blanks end, so that the
  // indentation before a place costs a lookup, not a scan of its line.
  std::vector<size_t> m_line_start, m_blank_end;
  std::string m_unit = "  ";  // one level of indentation
  char m_quote = '\'';
};

// Collects the edits of one fix; one step that cannot be made (or two that
// collide) makes the whole fix unavailable.
class EditSet {
 public:
  void add(std::optional<TextEdit> e);
  void add(std::optional<std::vector<TextEdit>> es);
  void fail() { m_ok = false; }
  // The edits, or none when a step failed.
  std::vector<TextEdit> take() const;

 private:
  bool m_ok = true;
  std::vector<TextEdit> m_edits;
};

}  // namespace vfioctl::lint
