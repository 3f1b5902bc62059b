// A minimal QMP client (QEMU Machine Protocol) over a unix socket: connect,
// negotiate capabilities, run a command, read its answer. Enough for
// `vfioctl pin` (vCPU and iothread thread ids, resuming a paused guest).
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace vfioctl {

struct QmpVcpu {
  int index = 0;      // cpu-index
  int thread_id = 0;  // the host thread that runs it
};

struct QmpIothread {
  std::string id;  // "iothread1"
  int thread_id = 0;
};

class QmpClient {
 public:
  // Connects to the QMP socket at `path`, reads the greeting and negotiates
  // capabilities. Throws Error(refused) with what went wrong and what to do:
  // no socket there, nobody listening, no greeting within `timeout` (another
  // client holds the monitor), not QMP.
  explicit QmpClient(const std::string& path, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~QmpClient();
  QmpClient(const QmpClient&) = delete;
  QmpClient& operator=(const QmpClient&) = delete;

  // Runs a command ({"execute": ..., "arguments": ...}; arguments_json is a
  // JSON object or empty) and returns its "return" value as JSON text.
  // Asynchronous events on the way are skipped. Throws Error(refused) on an
  // "error" answer (with QEMU's description) or a broken connection.
  std::string execute(const std::string& command, const std::string& arguments_json = "");

  std::vector<QmpVcpu> query_cpus_fast();
  std::vector<QmpIothread> query_iothreads();
  // Whether the guest runs (query-status "running").
  bool running();
  // Lets a guest started with -S (or stopped) run.
  void cont();

  // The process on the other end of the socket (SO_PEERCRED), or 0.
  int peer_pid() const { return m_peer_pid; }
  const std::string& path() const { return m_path; }

 private:
  std::string read_message();  // one JSON line
  void send(const std::string& json);

  std::string m_path;
  int m_fd = -1;
  int m_peer_pid = 0;
  std::string m_buffer;
};

}  // namespace vfioctl
