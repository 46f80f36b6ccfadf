// SPDX-License-Identifier: Apache-2.0
/// @file error.hpp
/// The exception hierarchy of calibrisk and the internal assertion macro.
#pragma once

#include <stdexcept>
#include <string>

#if defined(_WIN32)
#define CALIBRISK_API
#else
/// Default visibility so the exception types can be caught across shared objects
/// (a Python extension catching what the library threw, for example).
#define CALIBRISK_API __attribute__((visibility("default")))
#endif

namespace calibrisk {

/// Base of everything calibrisk throws.
class CALIBRISK_API Error : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The data or arguments passed by the caller are wrong (shapes, labels, weights, values).
class CALIBRISK_API InvalidInput : public Error {
  using Error::Error;
};

/// A field of a `*Params` struct is outside its documented range.
class CALIBRISK_API InvalidParams : public InvalidInput {
  using InvalidInput::InvalidInput;
};

/// A model was used (predict, save, ...) before it was fitted.
class CALIBRISK_API NotFitted : public Error {
  using Error::Error;
};

/// A model file is truncated, edited, corrupt or from a newer format version.
class CALIBRISK_API ModelFormatError : public Error {
  using Error::Error;
};

/// The operating system refused a file operation of `save`, `generate_key_pair` or a key read
/// (a missing or unwritable directory, a path that is a directory, a full disk). `error_code()`
/// is the errno value (0 when unknown). Python: `OSError`.
class CALIBRISK_API FileError : public Error {
 public:
  FileError(const std::string& what, int error_code) : Error(what), code_(error_code) {}
  int error_code() const noexcept { return code_; }

 private:
  int code_;
};

namespace detail {
[[noreturn]] inline void assertion_failed(const char* expr, const char* file, int line) {
  throw Error(std::string("internal error: assertion `") + expr + "` failed at " + file + ":" +
              std::to_string(line) + "; please report this as a bug.");
}
}  // namespace detail

}  // namespace calibrisk

/// Guards an invariant of the library itself (never the caller's input). It is checked in every
/// build type; a broken invariant throws `Error` whose message starts with "internal error:".
/// Never use it inside a hot loop.
#define CALIBRISK_ASSERT(cond)                                                     \
  do {                                                                             \
    if (!(cond)) ::calibrisk::detail::assertion_failed(#cond, __FILE__, __LINE__); \
  } while (false)
