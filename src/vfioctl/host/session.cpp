#include "vfioctl/host/session.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "vfioctl/host/root.h"

namespace vfioctl {

Session read_session(const Root& root) {
  Session s;
  s.live = root.is_live();
  if (!s.live) return s;
  s.root_user = ::geteuid() == 0;
  int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd >= 0) {
    s.kvm_usable = true;
    ::close(fd);
  } else if (root.exists("/dev/kvm")) {
    s.kvm_usable = false;
  }
  rlimit lim{};
  if (::getrlimit(RLIMIT_MEMLOCK, &lim) == 0) {
    s.memlock_bytes = lim.rlim_cur == RLIM_INFINITY ? -1 : static_cast<long long>(lim.rlim_cur);
  }
  return s;
}

}  // namespace vfioctl
