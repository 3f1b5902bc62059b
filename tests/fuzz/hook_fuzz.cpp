// libFuzzer target over the libvirt hook (`vfioctl hook run|status|recover`),
// on the model of the kernel the hook's unit tests use (tests/unit/hook_model.h).
// The input is split at "\n--8<--\n" lines into
//   0  the domain XML libvirt passes on stdin;
//   1  /run/vfioctl/host.json (the shared settings and their holders);
//   2  /run/vfioctl/guests/DOMAIN.json (the guest's record; DOMAIN is the
//      XML's name when it can name a state file, else "guest");
//   3  /run/libvirt/qemu/DOMAIN.pid (libvirt's pid file: 100 is a live process);
//   4+ other guests' records: /run/vfioctl/guests/other-N.json for even N,
//      /run/vfioctl/other-N.json (where records were kept before) for odd N.
// A part that is not there, or is one NUL byte, is a missing file. The state files are read as `hook
// status` does, then recovered as `hook recover --apply` does. Then the domain
// runs prepare, started and release on a clean model, as `hook run` does; the
// model must end exactly as it began (the property the state exists for).
// vfioctl::Error is an expected refusal; any other exception escaping is a
// finding.
#include <cerrno>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "../unit/hook_model.h"
#include "fuzz_util.h"
#include "vfioctl/util/error.h"

namespace {

using namespace vfioctl;
using namespace vfioctl::runtime;
using fuzz::check;

// The model, with the kernel's refusals where the model's own parsing would
// throw: a value the kernel would not take is EINVAL, a path it does not
// have is ENOENT (the model is a test tool; its std::stoll is not the hook's).
class FuzzIo : public test_model::ModelIo {
 public:
  void write(const std::string& path, const std::string& value) override {
    std::string attr = path.substr(path.rfind('/') + 1);
    bool number = attr == "nr_hugepages" || attr == "cgroup.procs";
    if (number) {
      auto n = parse_int(trim(value));
      if (!n || *n < 0 || *n > std::numeric_limits<int>::max()) throw IoError(path, EINVAL);
    }
    if (attr == "cpuset.cpus" && !parse_cpulist(value)) throw IoError(path, EINVAL);
    ModelIo::write(path, value);
  }
  void rmdir(const std::string& path) override {
    if (!starts_with(path, std::string(kCpuset) + "/")) throw IoError(path, ENOENT);
    ModelIo::rmdir(path);
  }
};

bool state_name(const std::string& name) {
  return !name.empty() && name.find('/') == std::string::npos && name[0] != '.';
}

void put(FuzzIo& io, const std::vector<std::string>& parts, size_t i, const std::string& path) {
  if (i < parts.size() && parts[i] != std::string(1, '\0')) io.files[path] = parts[i];
}

// `hook status`: everything it reads and prints.
void status(FuzzIo& io) {
  std::ostringstream quiet;
  Tuner t(io, quiet);
  for (const auto& s : t.states()) (void)s;
  (void)t.host_state_json();
  (void)t.leftover_cgroup();
  (void)t.stale_domains();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 256 * 1024) return 0;
  auto parts = fuzz::split_parts(data, size);
  std::optional<DomainTune> domain;
  try {
    domain = parse_domain_tune(parts[0]);
  } catch (const Error&) {
  }
  std::string dom = domain && state_name(domain->name) ? domain->name : "guest";

  FuzzIo io;
  io.k.systemd = size % 2 == 1;
  put(io, parts, 1, kHostState);
  put(io, parts, 2, std::string(kGuestStateDir) + "/" + dom + ".json");
  put(io, parts, 3, "/run/libvirt/qemu/" + dom + ".pid");
  for (size_t i = 4; i < parts.size(); ++i)
    put(io, parts, i, std::string(i % 2 ? kStateDir : kGuestStateDir) + "/other-" + std::to_string(i) + ".json");
  try {
    status(io);
    std::ostringstream log;
    Tuner t(io, log);
    t.recover(t.stale_domains());
    status(io);
  } catch (const Error&) {
  }

  // `hook run` with this domain, from a host without state.
  if (!domain || !domain->opted_in || !state_name(domain->name)) return 0;
  FuzzIo clean;
  clean.k.systemd = io.k.systemd;
  clean.k.nr = 0;
  test_model::Kernel before = clean.k;
  std::ostringstream log;
  Tuner t(clean, log);
  if (t.run("prepare", "begin", *domain) == 0) {
    t.run("started", "begin", *domain);
    clean.k.used = 0;  // the guest ran and stopped
  }
  t.run("release", "end", *domain);
  check(clean.k == before);
  try {
    status(clean);
  } catch (const Error&) {
  }
  return 0;
}
