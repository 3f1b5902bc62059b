// The one user-facing error type. Commands throw it; main catches it once and
// prints "vfioctl: error: <message>" and exits with its code.
#pragma once

#include <stdexcept>
#include <string>

#include "vfioctl/util/strings.h"

namespace vfioctl {

// Exit codes shared by every command (documented in the README).
enum class ExitCode : int {
  ok = 0,
  findings = 1,   // a check found errors (doctor, lint)
  bad_input = 2,  // bad usage or bad input
  refused = 3,    // the system refused: permission, missing tool, write failed
};

class Error : public std::runtime_error {
 public:
  // The message is clamped (util/strings.h): a bad value is quoted by its
  // first bytes, never whole.
  Error(ExitCode code, const std::string& message) : std::runtime_error(clamp_message(message)), m_code(code) {}
  ExitCode code() const { return m_code; }

 private:
  ExitCode m_code;
};

// Shorthand for the most common case: bad usage or input (exit 2).
inline Error input_error(const std::string& message) { return Error(ExitCode::bad_input, message); }

}  // namespace vfioctl
