// JsonWriter: streams JSON text as it is produced, indented two spaces, with
// no document held in memory. vfioctl's JSON outputs go through it: a host
// with a thousand devices prints in a few milliseconds and a few kilobytes.
//
//   JsonWriter w(out);
//   w.begin_object();
//   w.field("id", 3);
//   w.key("devices"); w.begin_array(); ... w.end_array();
//   w.end_object();
//   w.finish();  // trailing newline, flush
//
// Strings are escaped per RFC 8259; bytes that are not valid UTF-8 become
// U+FFFD, so text read from a corrupt file never makes the output invalid.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace vfioctl {

class JsonWriter {
 public:
  explicit JsonWriter(std::ostream& out) : m_out(out) {}
  JsonWriter(const JsonWriter&) = delete;
  JsonWriter& operator=(const JsonWriter&) = delete;
  ~JsonWriter() { flush(); }

  void begin_object() { open('{'); }
  void end_object() { close('}'); }
  void begin_array() { open('['); }
  void end_array() { close(']'); }

  // The key of the next value inside an object.
  void key(std::string_view k);

  void value(std::string_view s);
  void value(const char* s) { value(std::string_view(s)); }
  void value(const std::string& s) { value(std::string_view(s)); }
  void value(bool b) { scalar(b ? "true" : "false"); }
  void value(std::nullptr_t) { scalar("null"); }
  template <typename T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  void value(T n) {
    scalar(std::to_string(n));
  }
  template <typename T>
  void value(const std::optional<T>& v) {
    if (v)
      value(*v);
    else
      value(nullptr);
  }
  template <typename T>
  void value(const std::vector<T>& items) {
    begin_array();
    for (const auto& i : items) value(i);
    end_array();
  }
  template <typename T>
  void value(const std::set<T>& items) {
    begin_array();
    for (const auto& i : items) value(i);
    end_array();
  }
  template <typename T>
  void value(const std::map<std::string, T>& items) {
    begin_object();
    for (const auto& [k, v] : items) field(k, v);
    end_object();
  }

  template <typename T>
  void field(std::string_view k, const T& v) {
    key(k);
    value(v);
  }

  // A value that is already JSON text (a recorded state file), written as
  // given; the caller vouches that it is valid JSON.
  void raw(std::string_view json_text) { scalar(json_text); }

  // Ends the document with a newline and flushes it.
  void finish();
  void flush();

 private:
  void open(char c);
  void close(char c);
  void scalar(std::string_view text);
  void before_value();
  void newline();
  void maybe_flush() {
    if (m_buf.size() >= 1 << 16) flush();
  }

  struct Level {
    bool object;
    size_t count = 0;
  };
  std::ostream& m_out;
  std::string m_buf;
  std::vector<Level> m_stack;
  bool m_after_key = false;
};

// Escapes s as a JSON string, quotes included.
std::string json_quote(std::string_view s);

}  // namespace vfioctl
