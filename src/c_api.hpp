// SPDX-License-Identifier: Apache-2.0
// Internals of the C API (include/ropekit/ropekit.h): the handle types and
// the guard every entry point runs its body in, so that no exception leaves
// the library and every failure leaves its message with the calling thread
// and with the handle.
#ifndef ROPEKIT_SRC_C_API_HPP
#define ROPEKIT_SRC_C_API_HPP

#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <ropekit/any_rope.hpp>
#include <ropekit/ropekit.h>

namespace ropekit_c {

// The last failure on one handle. Calls on a shared handle may fail on
// several threads at once, hence the lock.
class ErrorSlot {
 public:
  void set(const char* message) const noexcept;
  // Copies the message into the calling thread's read buffer.
  const char* read() const noexcept;

 private:
  mutable std::mutex mutex_;
  mutable std::string message_;
};

// Records a failure for the calling thread and on `slot` (may be null);
// returns `status`.
rk_status record(const ErrorSlot* slot, rk_status status, const char* message) noexcept;

// A failure the entry point names itself (status and message).
class Failure : public std::runtime_error {
 public:
  Failure(rk_status status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  rk_status status() const noexcept { return status_; }

 private:
  rk_status status_;
};

// The integer a C caller stored in an enum-typed field or argument. C
// accepts any int there; in C++ loading a value outside the enumerators'
// range is undefined, so enums from the caller are read as their bytes.
template <class Enum>
int raw(const Enum& value) noexcept {
  static_assert(sizeof(Enum) == sizeof(int), "C enums are int-sized on supported ABIs");
  int out;
  std::memcpy(&out, &value, sizeof out);
  return out;
}

// Throws RK_ERR_INVALID_ARGUMENT "ropekit: <parameter> = <value>: <requirement>".
[[noreturn]] void invalid(const std::string& parameter, const std::string& value,
                          const std::string& requirement);

// Runs `body` (returning rk_status) and turns every exception into a status
// and a message: std::invalid_argument is bad input, std::bad_alloc is out
// of memory, anything else is internal.
template <class Body>
rk_status guarded(const ErrorSlot* slot, Body&& body) noexcept {
  try {
    return body();
  } catch (const Failure& e) {
    return record(slot, e.status(), e.what());
  } catch (const std::invalid_argument& e) {
    return record(slot, RK_ERR_INVALID_ARGUMENT, e.what());
  } catch (const std::bad_alloc&) {
    return record(slot, RK_ERR_OUT_OF_MEMORY, "ropekit: out of memory");
  } catch (const std::exception& e) {
    return record(slot, RK_ERR_INTERNAL, e.what());
  } catch (...) {
    return record(slot, RK_ERR_INTERNAL, "ropekit: unknown exception");
  }
}

}  // namespace ropekit_c

// One rotation. A rope made by rk_rope_create owns itself; one of a model's
// layers belongs to the model (owner set) and is freed with it.
struct rk_rope {
  rk_rope(ropekit::AnyRope built, const rk_model* model) : rope(std::move(built)), owner(model) {}
  ropekit::AnyRope rope;
  const rk_model* owner;
  ropekit_c::ErrorSlot error;
};

// A model's rotations and, per layer, the index of the one it applies (-1:
// none): the shape of ropekit::ModelRope.
struct rk_model {
  std::vector<std::unique_ptr<rk_rope>> ropes;
  std::vector<std::int64_t> layer_rope;
  std::string model_type;
  ropekit_c::ErrorSlot error;
};

#endif  // ROPEKIT_SRC_C_API_HPP
