#include "vfioctl/util/json_writer.h"

#include <array>

namespace vfioctl {

namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 when invalid.
size_t utf8_length(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t n;
  uint32_t cp;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are invalid.
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)) return 0;
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

void append_quoted(std::string& out, std::string_view s) {
  static const char* hex = "0123456789abcdef";
  out += '"';
  size_t i = 0;
  while (i < s.size()) {
    // A run of printable ASCII other than the two escaped: copied whole.
    static constexpr auto plain = [] {
      std::array<bool, 256> t{};
      for (size_t c = 0x20; c < 0x80; ++c) t[c] = c != '"' && c != '\\';
      return t;
    }();
    size_t run = i;
    while (run < s.size() && plain[static_cast<unsigned char>(s[run])]) ++run;
    if (run > i) {
      out.append(s.data() + i, run - i);
      i = run;
      if (i == s.size()) break;
    }
    unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        ++i;
        continue;
      case '\\':
        out += "\\\\";
        ++i;
        continue;
      case '\n':
        out += "\\n";
        ++i;
        continue;
      case '\t':
        out += "\\t";
        ++i;
        continue;
      case '\r':
        out += "\\r";
        ++i;
        continue;
      case '\b':
        out += "\\b";
        ++i;
        continue;
      case '\f':
        out += "\\f";
        ++i;
        continue;
      default: break;
    }
    if (c < 0x20) {
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 0xF];
      ++i;
      continue;
    }
    size_t n = utf8_length(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
      continue;
    }
    out.append(s.substr(i, n));
    i += n;
  }
  out += '"';
}

}  // namespace

std::string json_quote(std::string_view s) {
  std::string out;
  append_quoted(out, s);
  return out;
}

void JsonWriter::newline() {
  m_buf += '\n';
  m_buf.append(2 * m_stack.size(), ' ');
}

void JsonWriter::before_value() {
  if (m_after_key) {
    m_after_key = false;
    return;
  }
  if (m_stack.empty()) return;
  if (m_stack.back().count++ > 0) m_buf += ',';
  newline();
}

void JsonWriter::key(std::string_view k) {
  if (m_stack.back().count++ > 0) m_buf += ',';
  newline();
  append_quoted(m_buf, k);
  m_buf += ": ";
  m_after_key = true;
}

void JsonWriter::value(std::string_view s) {
  before_value();
  append_quoted(m_buf, s);
  maybe_flush();
}

void JsonWriter::scalar(std::string_view text) {
  before_value();
  m_buf += text;
  maybe_flush();
}

void JsonWriter::open(char c) {
  before_value();
  m_buf += c;
  m_stack.push_back({c == '{'});
}

void JsonWriter::close(char c) {
  bool empty = m_stack.back().count == 0;
  m_stack.pop_back();
  if (!empty) newline();
  m_buf += c;
  maybe_flush();
}

void JsonWriter::finish() {
  m_buf += '\n';
  flush();
  m_out.flush();
}

void JsonWriter::flush() {
  if (m_buf.empty()) return;
  m_out.write(m_buf.data(), static_cast<std::streamsize>(m_buf.size()));
  m_buf.clear();
}

}  // namespace vfioctl
