// What `vfioctl new` does on the host once asked to write (-o,
// --qemu-script, --define): creates the plan's disk images with qemu-img
// (through a CommandRunner) and talks to libvirt (define a domain, read one
// back, ask its version). libvirt's client library is loaded only when one
// of those calls needs it; a vfioctl built without libvirt refuses them
// with the virsh command to run instead.
#pragma once

#include <optional>
#include <ostream>
#include <string>

#include "vfioctl/guest/guest_plan.h"
#include "vfioctl/host/root.h"
#include "vfioctl/host/system.h"
#include "vfioctl/setup/transaction.h"

namespace vfioctl::setup {

// Defines (does not start) the domain `xml`, named `name`, at `uri`.
// Error(refused) with libvirt's reason when the library, the connection or
// the definition fails.
void define_domain(const std::string& uri, const std::string& xml, const std::string& name);

// The version of the libvirt at `uri` (major * 1000000 + minor * 1000 +
// micro), for what the XML defined there may hold; nullopt when it does not
// say (or vfioctl was built without libvirt).
std::optional<unsigned long> libvirt_version(const std::string& uri, const std::string& name);

// The persistent definition of domain `name` at `uri`. Error(bad_input)
// when there is no such domain (or no libvirt to ask), Error(refused) when
// libvirt fails.
std::string fetch_domain(const std::string& uri, const std::string& name);

// Creates the plan's images with qemu-img through `runner`: only on the live
// host (under another root each is a note on `log`), never over a file that
// appeared since the plan. Error(refused) when qemu-img is missing or fails;
// each image created is a line on `log`.
void create_images(const GuestPlan& plan, const Root& root, const Distro& distro, CommandRunner& runner,
                   std::ostream& log);

}  // namespace vfioctl::setup
