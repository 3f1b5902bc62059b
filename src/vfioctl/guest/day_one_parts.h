// Internal to the day-one part of a guest plan (plan_day_one() in
// guest_plan.h). Its parts, each in its own file:
//   day_one.cpp          the checks every part shares, the permissions and
//                        plan_day_one() that runs the parts in order
//   day_one_disks.cpp    disks and images to create, iothreads, boot order
//   day_one_install.cpp  install media and the steps the installer needs
//   day_one_usb.cpp      USB devices
//   day_one_network.cpp  the network
//   day_one_display.cpp  sound, display, SMBIOS
#pragma once

#include <string>

#include "vfioctl/guest/guest_plan.h"

namespace vfioctl::day_one {

using Kind = Root::FileInfo::Kind;

[[noreturn]] void fail_at(const SpecPos& pos, const std::string& msg);

// On a host tree (--root) what the spec names but the tree lacks is not an
// error: a snapshot carries host facts, not the user's images or sockets,
// and a fixture may lack whole kinds (no network interfaces, no USB). What
// the tree did capture (`captured`: it lists interfaces, USB devices) is
// checked as on the live host. Returns true (and says so) when `what` is
// not checked.
bool unchecked_because(const GuestEnv& env, GuestPlan& plan, const SpecPos& pos, const std::string& why,
                       bool captured = false);
bool unchecked(const GuestEnv& env, GuestPlan& plan, const SpecPos& pos, const std::string& what,
               bool captured = false);

// The fact GuestEnv holds about a path the spec names, or nullptr.
const FileFact* fact(const GuestEnv& env, const std::string& path);

// "64G", "512M": a size in MiB the way a spec and qemu-img write it.
std::string mib_text(long long mib);

// What exists instead of a missing file: its neighbours of the same kind,
// or that its directory is missing too.
std::string instead(const FileFact& f, const std::string& path);

// The parts, in the order plan_day_one() runs them.
void plan_disks(const GuestEnv& env, GuestPlan& plan);
void plan_install(const GuestEnv& env, GuestPlan& plan);
void plan_boot_order(GuestPlan& plan);
void plan_iothreads(GuestPlan& plan);
void plan_usb(const GuestEnv& env, GuestPlan& plan);
void plan_network(const Host& host, const GuestEnv& env, GuestPlan& plan);
void plan_audio(const GuestEnv& env, GuestPlan& plan);
void plan_display(GuestPlan& plan);
void plan_smbios(const GuestEnv& env, GuestPlan& plan);

}  // namespace vfioctl::day_one
