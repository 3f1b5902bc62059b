// Judging IOMMU groups: an IOMMU group can be given to guests only whole.
// Every endpoint in it must leave its host driver; bridges and root ports
// stay with the host and do not block the rest.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "vfioctl/host/host.h"

namespace vfioctl {

enum class GroupVerdict {
  ready,     // every endpoint is bound to vfio-pci already
  passable,  // the endpoints are the functions of one device (one slot;
             // chipset functions such as LPC and SMBus count apart)
  shared,    // endpoints of several devices: passing one takes the others
  none,      // no endpoint at all (bridges only): nothing to pass
};

const char* verdict_name(GroupVerdict v);

struct GroupAssessment {
  GroupVerdict verdict = GroupVerdict::none;
  std::vector<PciAddress> endpoints;  // devices that would go to guests
  std::vector<PciAddress> bridges;    // devices that stay with the host
};

GroupAssessment assess_group(const Host& host, const IommuGroup& group);

// Endpoints of `group` outside the slot of `dev`: what passing `dev` would
// also take. Empty when the group is passable for it.
std::vector<PciAddress> group_companions(const Host& host, const IommuGroup& group, const PciAddress& dev);

// Endpoint ids ("10de:1b81") held by more than one device, with the devices:
// a `vfio-pci.ids=` binding would claim every one of them.
std::map<std::string, std::vector<PciAddress>> shared_ids(const Host& host);

// What a passthrough selector takes from the host: the device(s) it names
// and every endpoint of their IOMMU groups, sorted. A kind ("gpu") must name
// one device (the boot GPU is left out when another matches). Throws an
// input Error starting with `where` ("guest.toml:4: passthrough", "--device")
// when the selector is malformed, matches nothing or several, the IOMMU is
// off, or the group holds other devices (unless `allow_shared`: then those
// are taken too).
std::vector<PciAddress> take_devices(const Host& host, const std::string& text, const std::string& where,
                                     bool allow_shared = false);

}  // namespace vfioctl
