// SPDX-License-Identifier: Apache-2.0
// The C API's messages, status names and version.
#include <ropekit/version.hpp>

#include "c_api.hpp"

static_assert(RK_VERSION == ROPEKIT_VERSION, "ropekit.h and version.hpp disagree on the version");

namespace ropekit_c {
namespace {

// The calling thread's last failure, and the buffer handle messages are
// copied into for reading (so a pointer handed out is never rewritten by
// another thread).
struct ThreadMessages {
  std::string last;
  std::string read;
  // Set when storing `last` ran out of memory.
  bool last_lost = false;
};

ThreadMessages& thread_messages() noexcept {
  thread_local ThreadMessages messages;
  return messages;
}

constexpr const char* kLost = "ropekit: out of memory (the error message was lost)";

}  // namespace

void ErrorSlot::set(const char* message) const noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  try {
    message_ = message;
  } catch (...) {
    message_.clear();
  }
}

const char* ErrorSlot::read() const noexcept {
  ThreadMessages& mine = thread_messages();
  std::lock_guard<std::mutex> lock(mutex_);
  try {
    mine.read = message_;
  } catch (...) {
    return kLost;
  }
  return mine.read.c_str();
}

rk_status record(const ErrorSlot* slot, rk_status status, const char* message) noexcept {
  ThreadMessages& mine = thread_messages();
  try {
    mine.last = message;
    mine.last_lost = false;
  } catch (...) {
    mine.last.clear();
    mine.last_lost = true;
  }
  if (slot != nullptr) slot->set(message);
  return status;
}

[[noreturn]] void invalid(const std::string& parameter, const std::string& value,
                          const std::string& requirement) {
  throw Failure(RK_ERR_INVALID_ARGUMENT,
                "ropekit: " + parameter + " = " + value + ": " + requirement);
}

}  // namespace ropekit_c

extern "C" {

int rk_version(void) { return ROPEKIT_VERSION; }

const char* rk_version_string(void) {
#define ROPEKIT_C_STRING(x) #x
#define ROPEKIT_C_VERSION_STRING(a, b, c) ROPEKIT_C_STRING(a) "." ROPEKIT_C_STRING(b) "." ROPEKIT_C_STRING(c)
  return ROPEKIT_C_VERSION_STRING(ROPEKIT_VERSION_MAJOR, ROPEKIT_VERSION_MINOR,
                                  ROPEKIT_VERSION_PATCH);
#undef ROPEKIT_C_VERSION_STRING
#undef ROPEKIT_C_STRING
}

const char* rk_status_name(rk_status status) {
  switch (ropekit_c::raw(status)) {
    case RK_OK: return "RK_OK";
    case RK_NO_ROPE: return "RK_NO_ROPE";
    case RK_ERR_INVALID_ARGUMENT: return "RK_ERR_INVALID_ARGUMENT";
    case RK_ERR_CONFIG: return "RK_ERR_CONFIG";
    case RK_ERR_OUT_OF_MEMORY: return "RK_ERR_OUT_OF_MEMORY";
    case RK_ERR_INTERNAL: return "RK_ERR_INTERNAL";
  }
  return "RK_UNKNOWN_STATUS";
}

const char* rk_last_error(void) {
  const ropekit_c::ThreadMessages& mine = ropekit_c::thread_messages();
  return mine.last_lost ? ropekit_c::kLost : mine.last.c_str();
}

const char* rk_rope_error(const rk_rope* rope) {
  return rope == nullptr ? "" : rope->error.read();
}

const char* rk_model_error(const rk_model* model) {
  return model == nullptr ? "" : model->error.read();
}

}  // extern "C"
