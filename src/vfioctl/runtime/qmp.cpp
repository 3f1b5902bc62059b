#include "vfioctl/runtime/qmp.h"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "vfioctl/util/error.h"
#include "vfioctl/util/json_input.h"

namespace vfioctl {

namespace {

using json = nlohmann::json;

Error refused(const std::string& msg) { return Error(ExitCode::refused, msg); }

json parse(const std::string& path, const std::string& text) {
  try {
    return parse_json(text);
  } catch (const json::exception&) {
    throw refused(fmt::format("QMP socket {}: the answer is not JSON ({:.80}); is this a QMP socket?", path, text));
  }
}

}  // namespace

QmpClient::QmpClient(const std::string& path, std::chrono::milliseconds timeout) : m_path(path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw refused(fmt::format("QMP socket {}: {}; is the guest running (QEMU with -qmp unix:{},server=on)?", path,
                              std::strerror(errno), path));
  }
  if (!S_ISSOCK(st.st_mode)) throw refused(fmt::format("{} is not a socket; give the QMP socket of a QEMU", path));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) throw refused(fmt::format("QMP socket path too long: {}", path));
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  m_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (m_fd < 0) throw refused(fmt::format("socket: {}", std::strerror(errno)));
  if (::connect(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int err = errno;
    ::close(m_fd);
    m_fd = -1;
    throw refused(fmt::format("cannot connect to the QMP socket {}: {}{}", path, std::strerror(err),
                              err == ECONNREFUSED ? " (a leftover of a QEMU that has ended?)" : ""));
  }
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (::getsockopt(m_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) m_peer_pid = cred.pid;

  auto deadline = std::chrono::steady_clock::now() + timeout;
  // The greeting: {"QMP": {"version": ..., "capabilities": [...]}}.
  std::string greeting;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) left = std::chrono::milliseconds(0);
    pollfd pfd{m_fd, POLLIN, 0};
    int n = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {
      ::close(m_fd);
      m_fd = -1;
      throw refused(
          fmt::format("QMP socket {}: no greeting within {} ms; another client may hold the monitor "
                      "(QEMU serves one at a time)",
                      path, timeout.count()));
    }
    break;
  }
  try {
    greeting = read_message();
    json g = parse(path, greeting);
    if (!g.contains("QMP")) throw refused(fmt::format("QMP socket {}: no QMP greeting (got {:.80})", path, greeting));
    execute("qmp_capabilities");
  } catch (...) {
    ::close(m_fd);
    m_fd = -1;
    throw;
  }
}

QmpClient::~QmpClient() {
  if (m_fd >= 0) ::close(m_fd);
}

void QmpClient::send(const std::string& text) {
  std::string msg = text + "\n";
  size_t off = 0;
  while (off < msg.size()) {
    ssize_t n = ::send(m_fd, msg.data() + off, msg.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw refused(fmt::format("QMP socket {}: write failed: {}", m_path, std::strerror(errno)));
    off += static_cast<size_t>(n);
  }
}

std::string QmpClient::read_message() {
  while (true) {
    auto nl = m_buffer.find('\n');
    if (nl != std::string::npos) {
      std::string line = m_buffer.substr(0, nl);
      m_buffer.erase(0, nl + 1);
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      if (line.empty()) continue;
      return line;
    }
    pollfd pfd{m_fd, POLLIN, 0};
    int p = ::poll(&pfd, 1, 30000);
    if (p < 0 && errno == EINTR) continue;
    if (p == 0) throw refused(fmt::format("QMP socket {}: no answer within 30 s", m_path));
    char buf[4096];
    ssize_t n = ::recv(m_fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw refused(fmt::format("QMP socket {}: read failed: {}", m_path, std::strerror(errno)));
    if (n == 0) throw refused(fmt::format("QMP socket {}: QEMU closed the connection", m_path));
    m_buffer.append(buf, static_cast<size_t>(n));
  }
}

std::string QmpClient::execute(const std::string& command, const std::string& arguments_json) {
  json req = {{"execute", command}};
  if (!arguments_json.empty()) req["arguments"] = parse(m_path, arguments_json);
  send(req.dump());
  while (true) {
    json ans = parse(m_path, read_message());
    if (ans.contains("event")) continue;
    if (ans.contains("error")) {
      const json& e = ans["error"];
      std::string desc = e.contains("desc") && e["desc"].is_string() ? e["desc"].get<std::string>() : e.dump();
      throw refused(fmt::format("QMP {} failed: {}", command, desc));
    }
    if (ans.contains("return")) return ans["return"].dump();
    throw refused(fmt::format("QMP socket {}: unexpected answer to {}: {:.80}", m_path, command, ans.dump()));
  }
}

std::vector<QmpVcpu> QmpClient::query_cpus_fast() {
  json r = parse(m_path, execute("query-cpus-fast"));
  std::vector<QmpVcpu> out;
  if (!r.is_array()) throw refused("QMP query-cpus-fast: the answer is not a list");
  for (const auto& c : r) {
    if (!c.contains("cpu-index") || !c.contains("thread-id")) {
      throw refused("QMP query-cpus-fast: an entry without cpu-index or thread-id: " + c.dump());
    }
    if (!c["cpu-index"].is_number_integer() || !c["thread-id"].is_number_integer()) {
      throw refused("QMP query-cpus-fast: cpu-index or thread-id is not a number: " + c.dump());
    }
    out.push_back({c["cpu-index"].get<int>(), c["thread-id"].get<int>()});
  }
  return out;
}

std::vector<QmpIothread> QmpClient::query_iothreads() {
  json r = parse(m_path, execute("query-iothreads"));
  std::vector<QmpIothread> out;
  if (!r.is_array()) throw refused("QMP query-iothreads: the answer is not a list");
  for (const auto& t : r) {
    if (!t.contains("id") || !t.contains("thread-id")) {
      throw refused("QMP query-iothreads: an entry without id or thread-id: " + t.dump());
    }
    if (!t["id"].is_string() || !t["thread-id"].is_number_integer()) {
      throw refused("QMP query-iothreads: id or thread-id of the wrong type: " + t.dump());
    }
    out.push_back({t["id"].get<std::string>(), t["thread-id"].get<int>()});
  }
  return out;
}

bool QmpClient::running() {
  json r = parse(m_path, execute("query-status"));
  return r.contains("running") && r["running"].is_boolean() && r["running"].get<bool>();
}

void QmpClient::cont() { execute("cont"); }

}  // namespace vfioctl
