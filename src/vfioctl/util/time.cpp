#include "vfioctl/util/time.h"

namespace vfioctl {

std::string utc_timestamp(std::time_t t) {
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string utc_now() { return utc_timestamp(std::time(nullptr)); }

}  // namespace vfioctl
