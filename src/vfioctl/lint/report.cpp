#include "vfioctl/lint/report.h"

#include <fmt/format.h>

#include <map>

#include "vfioctl/util/json_writer.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::lint {

namespace {

constexpr const char* kToolName = "vfioctl";
constexpr const char* kToolVersion = "0.1.0";
// Where the tool and its rule documentation live (docs/rules.md).
constexpr const char* kInformationUri = "https://github.com/vfioctl/vfioctl";
constexpr const char* kSarifSchema = "https://json.schemastore.org/sarif-2.1.0.json";

std::string paint(bool on, const char* code, const std::string& s) {
  return on ? fmt::format("\033[{}m{}\033[0m", code, s) : s;
}

const char* color_of(Severity s) {
  switch (s) {
    case Severity::fail: return "1;31";
    case Severity::warn: return "1;33";
    default: return "1;36";
  }
}

struct Counts {
  int files = 0, unreadable = 0, error = 0, warning = 0, info = 0, fixable = 0;
};

Counts count(const std::vector<FileReport>& files) {
  Counts c;
  for (const auto& f : files) {
    ++c.files;
    if (!f.ok) ++c.unreadable;
    for (const auto& x : f.findings) {
      if (x.fixable()) ++c.fixable;
      switch (x.finding.severity) {
        case Severity::fail: ++c.error; break;
        case Severity::warn: ++c.warning; break;
        default: ++c.info; break;
      }
    }
  }
  return c;
}

std::string plural(int n, const char* one, const char* many) { return fmt::format("{} {}", n, n == 1 ? one : many); }

std::string host_rule_ids() {
  std::vector<std::string> ids;
  for (const auto& r : rules()) {
    if (r.needs_host) ids.emplace_back(r.id);
  }
  if (ids.empty()) return "";
  return ids.size() == 1 ? ids.front() : ids.front() + "-" + ids.back();
}

}  // namespace

std::string file_error(const FileReport& f) {
  return f.error_line > 0 ? fmt::format("{}:{}: {}", f.file, f.error_line, f.error)
                          : fmt::format("{}: {}", f.file, f.error);
}

std::string path_to_uri(const std::string& path) {
  std::string out;
  for (unsigned char c : path) {
    bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                c == '_' || c == '~' || c == '/';
    if (keep)
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

void write_text(std::ostream& out, const std::vector<FileReport>& files, const ReportContext& ctx) {
  for (const auto& f : files) {
    for (const auto& x : f.findings) {
      const Finding& fd = x.finding;
      std::string loc = x.line > 0 ? fmt::format("{}:{}:", x.file, x.line) : x.file + ":";
      out << paint(ctx.color, "1", loc) << " "
          << paint(ctx.color, color_of(fd.severity), std::string(lint_severity_name(fd.severity)) + ":") << " "
          << fd.message << " [" << fd.id << "]\n";
      out << "    " << paint(ctx.color, "2", "why: " + fd.why) << "\n";
      if (!fd.fix.empty()) out << "    fix: " << fd.fix << (x.fixable() ? " (fixable with --fix)" : "") << "\n";
    }
  }
  Counts c = count(files);
  std::vector<std::string> parts;
  if (c.error) parts.push_back(plural(c.error, "error", "errors"));
  if (c.warning) parts.push_back(plural(c.warning, "warning", "warnings"));
  if (c.info) parts.push_back(plural(c.info, "note", "notes"));
  std::string summary = fmt::format("{} checked: {}", plural(c.files, "file", "files"),
                                    parts.empty() ? std::string("no problems found") : join(parts, ", "));
  if (c.unreadable) summary += fmt::format(" ({} could not be read)", c.unreadable);
  if (c.fixable) summary += fmt::format("; {} fixable with --fix", c.fixable);
  out << paint(ctx.color, "1", summary) << "\n";
  if (!ctx.host_rules) {
    out << "Host rules (" << host_rule_ids() << ") not run: add --host to judge against this host (or --root DIR).\n";
  }
}

void write_json(std::ostream& out, const std::vector<FileReport>& files, const ReportContext& ctx) {
  JsonWriter w(out);
  w.begin_object();
  w.key("files");
  w.begin_array();
  for (const auto& f : files) {
    w.begin_object();
    w.field("file", f.file);
    w.field("ok", f.ok);
    if (f.ok) {
      w.field("error", nullptr);
      w.field("line", nullptr);
    } else {
      w.field("error", f.error);
      if (f.error_line > 0)
        w.field("line", f.error_line);
      else
        w.field("line", nullptr);
    }
    w.field("findings", static_cast<int>(f.findings.size()));
    w.key("fixed");
    if (f.fixed) {
      w.begin_array();
      for (const auto& id : *f.fixed) w.value(id);
      w.end_array();
    } else {
      w.value(nullptr);
    }
    w.end_object();
  }
  w.end_array();
  w.key("findings");
  w.begin_array();
  for (const auto& f : files) {
    for (const auto& x : f.findings) {
      w.begin_object();
      w.field("id", x.finding.id);
      w.field("title", x.finding.title);
      w.field("severity", lint_severity_name(x.finding.severity));
      w.field("file", x.file);
      if (x.line > 0)
        w.field("line", x.line);
      else
        w.field("line", nullptr);
      w.field("message", x.finding.message);
      w.field("why", x.finding.why);
      if (x.finding.fix.empty())
        w.field("fix", nullptr);
      else
        w.field("fix", x.finding.fix);
      w.field("fixable", x.fixable());
      w.end_object();
    }
  }
  w.end_array();
  Counts c = count(files);
  w.key("summary");
  w.begin_object();
  w.field("files", c.files);
  w.field("unreadable", c.unreadable);
  w.field("error", c.error);
  w.field("warning", c.warning);
  w.field("info", c.info);
  w.end_object();
  w.field("host_rules", ctx.host_rules);
  w.end_object();
  w.finish();
}

void write_sarif(std::ostream& out, const std::vector<FileReport>& files, const ReportContext& ctx) {
  // The rules that could have run, and each one's index in the table.
  std::map<std::string, int> index;
  std::vector<const Rule*> table;
  for (const auto& r : rules()) {
    if (r.needs_host && !ctx.host_rules) continue;
    index[std::string(r.id)] = static_cast<int>(table.size());
    table.push_back(&r);
  }
  JsonWriter w(out);
  auto physical = [&](const std::string& file, int line) {
    w.begin_object();
    w.key("physicalLocation");
    w.begin_object();
    w.key("artifactLocation");
    w.begin_object();
    w.field("uri", path_to_uri(file));
    w.end_object();
    if (line > 0) {
      w.key("region");
      w.begin_object();
      w.field("startLine", line);
      w.end_object();
    }
    w.end_object();
    w.end_object();
  };
  auto text = [&](const char* key, const std::string& s) {
    w.key(key);
    w.begin_object();
    w.field("text", s);
    w.end_object();
  };

  w.begin_object();
  w.field("$schema", kSarifSchema);
  w.field("version", "2.1.0");
  w.key("runs");
  w.begin_array();
  w.begin_object();

  w.key("tool");
  w.begin_object();
  w.key("driver");
  w.begin_object();
  w.field("name", kToolName);
  w.field("version", kToolVersion);
  w.field("informationUri", kInformationUri);
  w.key("rules");
  w.begin_array();
  for (const Rule* r : table) {
    w.begin_object();
    w.field("id", r->id);
    w.field("name", r->name);
    text("shortDescription", std::string(r->title));
    text("fullDescription", std::string(r->why));
    text("help", fmt::format("{} {}: {} See docs/rules.md, section {}.", r->id, r->title, r->why, r->id));
    w.key("defaultConfiguration");
    w.begin_object();
    w.field("level", sarif_level(r->severity));
    w.end_object();
    w.key("properties");
    w.begin_object();
    w.key("tags");
    w.begin_array();
    w.value("libvirt");
    w.value(r->needs_host ? "host" : "guest");
    w.end_array();
    w.end_object();
    w.end_object();
  }
  w.end_array();
  w.end_object();  // driver
  w.end_object();  // tool

  bool all_read = true;
  for (const auto& f : files) all_read = all_read && f.ok;
  w.key("invocations");
  w.begin_array();
  w.begin_object();
  w.field("executionSuccessful", all_read);
  w.key("toolExecutionNotifications");
  w.begin_array();
  for (const auto& f : files) {
    if (f.ok) continue;
    w.begin_object();
    w.field("level", "error");
    text("message", f.error);
    w.key("locations");
    w.begin_array();
    physical(f.file, f.error_line);
    w.end_array();
    w.end_object();
  }
  w.end_array();
  w.end_object();
  w.end_array();

  w.key("results");
  w.begin_array();
  for (const auto& f : files) {
    for (const auto& x : f.findings) {
      w.begin_object();
      w.field("ruleId", x.finding.id);
      if (auto it = index.find(x.finding.id); it != index.end()) w.field("ruleIndex", it->second);
      w.field("level", sarif_level(x.finding.severity));
      text("message", x.finding.message);
      w.key("locations");
      w.begin_array();
      physical(x.file, x.line);
      w.end_array();
      w.key("properties");
      w.begin_object();
      w.field("why", x.finding.why);
      w.field("fix", x.finding.fix);
      w.field("fixable", x.fixable());
      w.end_object();
      w.end_object();
    }
  }
  w.end_array();

  w.end_object();  // run
  w.end_array();
  w.end_object();
  w.finish();
}

}  // namespace vfioctl::lint
