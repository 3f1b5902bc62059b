#include "vfioctl/setup/transaction.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "vfioctl/util/error.h"
#include "vfioctl/util/json_input.h"
#include "vfioctl/util/strings.h"
#include "vfioctl/util/time.h"

namespace vfioctl::setup {

namespace {

constexpr const char* kJournalDir = "/var/lib/vfioctl/journal";
constexpr const char* kLockFile = "/var/lib/vfioctl/lock";

nlohmann::json to_json(const JournalEntry& e) {
  nlohmann::json j;
  j["version"] = 1;
  j["id"] = e.id;
  j["created"] = e.created;
  j["command"] = e.command;
  j["state"] = e.state;
  j["files"] = nlohmann::json::array();
  for (size_t i = 0; i < e.files.size(); ++i) {
    const auto& f = e.files[i];
    j["files"].push_back({{"path", f.path},
                          {"before", f.before ? nlohmann::json(fmt::format("before-{}", i)) : nlohmann::json()},
                          {"after", f.after ? nlohmann::json(fmt::format("after-{}", i)) : nlohmann::json()},
                          {"mode", fmt::format("{:04o}", f.mode.mode)},
                          {"new_dirs", f.new_dirs},
                          {"uid", f.mode.uid},
                          {"gid", f.mode.gid}});
  }
  j["commands"] = nlohmann::json::array();
  for (const auto& c : e.commands) j["commands"].push_back({{"argv", c.argv}, {"why", c.why}});
  if (!e.kargs.empty()) j["kargs"] = {{"append", e.kargs.append}, {"remove", e.kargs.remove}};
  return j;
}

bool numeric(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Error rolled_back(const Error& e) {
  return Error(ExitCode::refused,
               std::string(e.what()) + "; every file written before it was restored, nothing changed");
}

// Removes the directories a file's write created, when they are empty again.
void remove_new_dirs(const Root& root, const JournalFile& f) {
  for (auto it = f.new_dirs.rbegin(); it != f.new_dirs.rend(); ++it) {
    std::error_code ec;
    std::string real = real_path(root, *it);
    if (std::filesystem::is_directory(real, ec) && std::filesystem::is_empty(real, ec))
      std::filesystem::remove(real, ec);
  }
}

// Temporary files a killed atomic write left beside `path`
// (".NAME.vfioctl-XXXXXX", util/atomic_file.cpp). Only under the host lock.
void remove_stale_temporaries(const Root& root, const std::string& path) {
  std::string real = real_path(root, path);
  std::filesystem::path file(real);
  std::string prefix = "." + file.filename().string() + ".vfioctl-";
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(file.parent_path(), ec)) {
    std::string name = e.path().filename().string();
    if (name.size() == prefix.size() + 6 && name.compare(0, prefix.size(), prefix) == 0 && e.is_regular_file(ec) &&
        !e.is_symlink(ec))
      std::filesystem::remove(e.path(), ec);
  }
}

// Parent directories of `path` that do not exist yet, outermost first.
std::vector<std::string> missing_dirs(const Root& root, const std::string& path) {
  std::vector<std::string> out;
  std::string dir(dir_name(path));
  std::error_code ec;
  while (dir != "/" && !std::filesystem::exists(real_path(root, dir), ec)) {
    out.insert(out.begin(), dir);
    dir = std::string(dir_name(dir));
  }
  return out;
}

// Puts `files` back to their `before` state; best effort, used on failure.
void restore(const Root& root, FileSystem& fs, const std::vector<JournalFile>& files) {
  for (auto it = files.rbegin(); it != files.rend(); ++it) {
    try {
      if (it->before)
        fs.write(real_path(root, it->path), *it->before, it->mode);
      else
        fs.remove(real_path(root, it->path));
      remove_new_dirs(root, *it);
    } catch (const Error&) {
      // Keep going: the journal entry still holds the content for `undo`.
    }
  }
}

class RealRunner : public CommandRunner {
 public:
  explicit RealRunner(const Root& root) : m_root(root) {}
  ProcessResult run(const Command& c) override {
    if (m_root.is_live()) return run_process(c.argv);
    std::vector<std::string> argv = {"chroot", m_root.dir().string()};
    argv.insert(argv.end(), c.argv.begin(), c.argv.end());
    return run_process(argv);
  }

 private:
  const Root& m_root;
};

class RecordingRunner : public CommandRunner {
 public:
  RecordingRunner(std::string log, std::string fail) : m_log(std::move(log)), m_fail(std::move(fail)) {}
  ProcessResult run(const Command& c) override {
    std::ofstream(m_log, std::ios::app) << c.str() << "\n";
    ProcessResult r;
    bool fail = !m_fail.empty() && c.str().find(m_fail) != std::string::npos;
    r.exit_code = fail ? 1 : 0;
    r.output = fail ? "recorded failure\n" : "";
    return r;
  }

 private:
  std::string m_log, m_fail;
};

}  // namespace

std::string real_path(const Root& root, const std::string& path) { return root.root_dir().real(path); }

namespace {

// Locks this process holds: path -> (fd, holders).
std::map<std::string, std::pair<int, int>>& held_locks() {
  static std::map<std::string, std::pair<int, int>> locks;
  return locks;
}

}  // namespace

HostLock::HostLock(const Root& root, const std::string& command) : m_path(real_path(root, kLockFile)) {
  auto& locks = held_locks();
  if (auto it = locks.find(m_path); it != locks.end()) {
    ++it->second.second;
    return;
  }
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(m_path).parent_path(), ec);
  int fd = ::open(m_path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    throw Error(ExitCode::refused,
                fmt::format("{}: cannot open the lock: {}; nothing changed", m_path, std::strerror(errno)));
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    int err = errno;
    std::string holder;
    char buf[512];
    ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    if (n > 0) holder = std::string(trim(std::string_view(buf, static_cast<size_t>(n))));
    ::close(fd);
    if (err == EWOULDBLOCK)
      throw Error(ExitCode::refused,
                  fmt::format("another vfioctl is changing this host ({} holds {}); nothing changed: wait until it "
                              "ends, then run this again",
                              holder.empty() ? std::string("a process") : "pid " + holder, m_path));
    throw Error(ExitCode::refused, fmt::format("{}: cannot lock: {}; nothing changed", m_path, std::strerror(err)));
  }
  std::string me = fmt::format("{} ({})\n", ::getpid(), command);
  if (::ftruncate(fd, 0) == 0) {
    [[maybe_unused]] ssize_t w = ::pwrite(fd, me.data(), me.size(), 0);
  }
  locks[m_path] = {fd, 1};
}

HostLock::~HostLock() {
  auto& locks = held_locks();
  auto it = locks.find(m_path);
  if (it == locks.end() || --it->second.second > 0) return;
  int fd = it->second.first;
  if (::ftruncate(fd, 0) != 0) {
    // the next holder overwrites it
  }
  ::close(fd);  // releases the flock
  locks.erase(it);
}

std::unique_ptr<CommandRunner> real_runner(const Root& root) { return std::make_unique<RealRunner>(root); }

std::unique_ptr<CommandRunner> recording_runner(std::string log, std::string fail) {
  return std::make_unique<RecordingRunner>(std::move(log), std::move(fail));
}

Journal::Journal(const Root& root, FileSystem& fs) : m_root(root), m_fs(fs) {}

std::string Journal::dir() const { return real_path(m_root, kJournalDir); }

std::string Journal::entry_dir(const std::string& id) const { return dir() + "/" + id; }

std::vector<JournalEntry> Journal::list(std::vector<std::string>* problems) const {
  std::vector<std::string> ids;
  std::error_code ec;
  for (const auto& d : std::filesystem::directory_iterator(dir(), ec)) {
    std::string name = d.path().filename().string();
    if (numeric(name)) ids.push_back(name);
  }
  std::sort(ids.begin(), ids.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;
  });
  std::vector<JournalEntry> out;
  for (const auto& id : ids) {
    // No entry.json: an apply killed while it wrote the journal, before it
    // changed any file (write-ahead). Nothing to undo; the next apply drops it.
    if (!std::filesystem::exists(entry_dir(id) + "/entry.json", ec)) continue;
    try {
      out.push_back(load(id));
    } catch (const Error& e) {
      if (problems) problems->push_back(e.what());
    }
  }
  return out;
}

JournalEntry Journal::load(const std::string& id) const {
  std::string d = entry_dir(id);
  auto text = read_file(d + "/entry.json");
  if (!numeric(id) || !text) {
    std::vector<std::string> known;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir(), ec)) known.push_back(e.path().filename().string());
    std::sort(known.begin(), known.end());
    throw input_error(fmt::format("no journal entry '{}' in {}{}", id, dir(),
                                  known.empty() ? std::string(" (nothing was ever applied)")
                                                : "; known: " + join(known, ", ") + " ('vfioctl undo --list')"));
  }
  JournalEntry e;
  try {
    auto j = parse_json(*text);
    e.id = j.at("id").get<std::string>();
    e.created = j.at("created").get<std::string>();
    e.command = j.at("command").get<std::string>();
    e.state = j.at("state").get<std::string>();
    for (const auto& f : j.at("files")) {
      JournalFile jf;
      jf.path = f.at("path").get<std::string>();
      for (auto [key, slot] : {std::pair{"before", &jf.before}, std::pair{"after", &jf.after}}) {
        if (f.at(key).is_null()) continue;
        auto content = read_file(d + "/" + f.at(key).get<std::string>());
        if (!content) throw Error(ExitCode::refused, fmt::format("{}/{}: missing", d, f.at(key).get<std::string>()));
        *slot = std::move(*content);
      }
      jf.mode.mode = static_cast<mode_t>(std::stoul(f.at("mode").get<std::string>(), nullptr, 8));
      jf.mode.uid = f.at("uid").get<uid_t>();
      jf.mode.gid = f.at("gid").get<gid_t>();
      if (f.contains("new_dirs")) jf.new_dirs = f.at("new_dirs").get<std::vector<std::string>>();
      e.files.push_back(std::move(jf));
    }
    for (const auto& c : j.at("commands")) {
      e.commands.push_back({c.at("argv").get<std::vector<std::string>>(), c.at("why").get<std::string>()});
    }
    if (j.contains("kargs")) {
      e.kargs.append = j.at("kargs").at("append").get<std::vector<std::string>>();
      e.kargs.remove = j.at("kargs").at("remove").get<std::vector<std::string>>();
    }
  } catch (const nlohmann::json::exception& ex) {
    throw Error(ExitCode::refused, fmt::format("{}/entry.json: unreadable journal entry ({})", d, ex.what()));
  }
  return e;
}

void Journal::drop_incomplete() {
  std::error_code ec;
  std::vector<std::string> gone;
  for (const auto& d : std::filesystem::directory_iterator(dir(), ec)) {
    std::string name = d.path().filename().string();
    if (numeric(name) && !std::filesystem::exists(d.path() / "entry.json", ec)) gone.push_back(name);
  }
  for (const auto& id : gone) std::filesystem::remove_all(entry_dir(id), ec);
}

std::string Journal::next_id() const {
  long long max = 0;
  std::error_code ec;
  for (const auto& d : std::filesystem::directory_iterator(dir(), ec)) {
    std::string name = d.path().filename().string();
    if (numeric(name) && name.size() < 18) max = std::max(max, std::stoll(name));
  }
  return std::to_string(max + 1);
}

void Journal::save(const JournalEntry& e) {
  std::string d = entry_dir(e.id);
  FileMode private_mode{0600, 0, 0};
  for (size_t i = 0; i < e.files.size(); ++i) {
    if (e.files[i].before) m_fs.write(fmt::format("{}/before-{}", d, i), *e.files[i].before, private_mode);
    if (e.files[i].after) m_fs.write(fmt::format("{}/after-{}", d, i), *e.files[i].after, private_mode);
  }
  save_state(e);
}

void Journal::save_state(const JournalEntry& e) {
  m_fs.write(entry_dir(e.id) + "/entry.json", to_json(e).dump(2) + "\n", FileMode{0600, 0, 0});
}

void Journal::remove(const std::string& id) {
  std::error_code ec;
  std::filesystem::remove_all(entry_dir(id), ec);
  // Leave no empty journal directories behind a rolled-back first entry.
  std::filesystem::path p = dir();
  std::string top = real_path(m_root, "/var/lib");
  while (p.string().size() > top.size() && std::filesystem::is_empty(p, ec) && !ec) {
    std::filesystem::remove(p, ec);
    p = p.parent_path();
  }
}

std::optional<JournalEntry> apply(const Root& root, FileSystem& fs, const Plan& plan, const std::string& command) {
  auto changed = plan.changed();
  if (changed.empty() && plan.kargs.empty()) return std::nullopt;
  HostLock lock(root, command);
  Journal journal(root, fs);
  journal.drop_incomplete();
  JournalEntry e;
  e.id = journal.next_id();
  e.created = utc_now();
  e.command = command;
  e.state = "applied";
  e.commands = plan.commands;
  e.kargs = plan.kargs;
  for (const FileChange* c : changed) {
    std::string real = real_path(root, c->path);
    auto now = read_file(real);
    if (now != c->before) {
      throw Error(ExitCode::refused,
                  fmt::format("{}: changed since it was read; nothing was changed, run the command again", c->path));
    }
    JournalFile f;
    f.path = c->path;
    f.before = c->before;
    f.after = c->after;
    f.mode = file_mode(real).value_or(c->mode);
    if (!c->before) f.new_dirs = missing_dirs(root, c->path);
    e.files.push_back(std::move(f));
  }
  // Write-ahead: the entry is complete before the first file changes.
  try {
    journal.save(e);
  } catch (const Error& err) {
    journal.remove(e.id);
    throw rolled_back(err);
  }
  for (size_t i = 0; i < e.files.size(); ++i) {
    const auto& f = e.files[i];
    try {
      if (f.after)
        fs.write(real_path(root, f.path), *f.after, f.mode);
      else
        fs.remove(real_path(root, f.path));
    } catch (const Error& err) {
      restore(root, fs, std::vector<JournalFile>(e.files.begin(), e.files.begin() + static_cast<long>(i) + 1));
      journal.remove(e.id);
      throw rolled_back(err);
    }
  }
  return e;
}

std::vector<FileChange> undo_changes(const Root& root, const JournalEntry& entry) {
  std::vector<FileChange> out;
  for (auto it = entry.files.rbegin(); it != entry.files.rend(); ++it) {
    FileChange c;
    c.path = it->path;
    c.before = read_file(real_path(root, it->path));
    c.after = it->before;
    c.mode = it->mode;
    c.why = it->after == c.before ? "restore" : "restore (changed since vfioctl wrote it)";
    out.push_back(std::move(c));
  }
  return out;
}

void undo(const Root& root, FileSystem& fs, JournalEntry& entry, bool force) {
  HostLock lock(root, "undo " + entry.id);
  if (entry.state != "applied") {
    throw input_error(fmt::format("journal entry {} is already undone", entry.id));
  }
  // A file that holds its `before` already needs nothing: an apply killed
  // before it reached that file, or an undo killed after it restored it.
  // Only a file that holds neither side was changed by someone else.
  std::vector<JournalFile> current;      // what is there now, to roll back to
  std::vector<const JournalFile*> todo;  // entry files to restore, in that order
  for (auto it = entry.files.rbegin(); it != entry.files.rend(); ++it) {
    remove_stale_temporaries(root, it->path);
    auto now = read_file(real_path(root, it->path));
    if (now == it->before) {
      if (!it->before) remove_new_dirs(root, *it);
      continue;
    }
    if (now != it->after && !force) {
      throw Error(ExitCode::refused,
                  fmt::format("{} changed since entry {} wrote it; undo would lose those edits. 'vfioctl undo {}' "
                              "shows the difference; --force restores anyway",
                              it->path, entry.id, entry.id));
    }
    JournalFile f = *it;
    f.before = now;  // for rollback: "before" of the undo is the present
    f.new_dirs.clear();
    current.push_back(std::move(f));
    todo.push_back(&*it);
  }
  for (size_t i = 0; i < todo.size(); ++i) {
    const auto& target = *todo[i];
    try {
      if (target.before) {
        fs.write(real_path(root, target.path), *target.before, target.mode);
      } else {
        fs.remove(real_path(root, target.path));
        remove_new_dirs(root, target);
      }
    } catch (const Error& err) {
      restore(root, fs, std::vector<JournalFile>(current.begin(), current.begin() + static_cast<long>(i) + 1));
      throw rolled_back(err);
    }
  }
  entry.state = "undone";
  try {
    Journal(root, fs).save_state(entry);
  } catch (const Error& err) {
    entry.state = "applied";
    restore(root, fs, current);
    throw rolled_back(err);
  }
}

}  // namespace vfioctl::setup
