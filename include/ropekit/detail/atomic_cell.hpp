// SPDX-License-Identifier: Apache-2.0
// A lock-free atomic value for the baseline-compiled region (see version.hpp).
// std::atomic's members are always_inline in libstdc++ and compiled for the
// unit's flags, so GCC and Clang refuse to inline them into functions built
// for baseline x86-64 when the unit uses -mavx2; the __atomic builtins are not
// functions and have no such restriction. Other compilers use std::atomic.
#ifndef ROPEKIT_DETAIL_ATOMIC_CELL_HPP
#define ROPEKIT_DETAIL_ATOMIC_CELL_HPP

#include <atomic>
#include <type_traits>

#include "../version.hpp"

#include "macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE
namespace detail {

#if defined(__GNUC__) || defined(__clang__)

constexpr int builtin_order(std::memory_order order) noexcept {
  switch (order) {
    case std::memory_order_relaxed: return __ATOMIC_RELAXED;
    case std::memory_order_consume: return __ATOMIC_CONSUME;
    case std::memory_order_acquire: return __ATOMIC_ACQUIRE;
    case std::memory_order_release: return __ATOMIC_RELEASE;
    case std::memory_order_acq_rel: return __ATOMIC_ACQ_REL;
    default: return __ATOMIC_SEQ_CST;
  }
}

/// A value of a trivially copyable type of 1, 2, 4 or 8 bytes, read and
/// written atomically (lock-free on every target ropekit supports).
template <class T>
class AtomicCell {
  static_assert(std::is_trivially_copyable_v<T> &&
                    (sizeof(T) == 1 || sizeof(T) == 2 || sizeof(T) == 4 || sizeof(T) == 8),
                "AtomicCell holds small trivially copyable values");

 public:
  constexpr AtomicCell() noexcept : value_() {}
  constexpr explicit AtomicCell(T value) noexcept : value_(value) {}
  AtomicCell(const AtomicCell&) = delete;
  AtomicCell& operator=(const AtomicCell&) = delete;

  T load(std::memory_order order) const noexcept {
    T out;
    __atomic_load(&value_, &out, builtin_order(order));
    return out;
  }
  void store(T value, std::memory_order order) noexcept {
    __atomic_store(&value_, &value, builtin_order(order));
  }
  bool compare_exchange(T& expected, T desired, std::memory_order success,
                        std::memory_order failure) noexcept {
    return __atomic_compare_exchange(&value_, &expected, &desired, false, builtin_order(success),
                                     builtin_order(failure));
  }
  template <class U = T, std::enable_if_t<std::is_integral_v<U>, int> = 0>
  T fetch_add(T delta, std::memory_order order) noexcept {
    return __atomic_fetch_add(&value_, delta, builtin_order(order));
  }

 private:
  alignas(sizeof(T)) mutable T value_;
};

#else

template <class T>
class AtomicCell {
 public:
  constexpr AtomicCell() noexcept : value_() {}
  constexpr explicit AtomicCell(T value) noexcept : value_(value) {}
  AtomicCell(const AtomicCell&) = delete;
  AtomicCell& operator=(const AtomicCell&) = delete;
  T load(std::memory_order order) const noexcept { return value_.load(order); }
  void store(T value, std::memory_order order) noexcept { value_.store(value, order); }
  bool compare_exchange(T& expected, T desired, std::memory_order success,
                        std::memory_order failure) noexcept {
    return value_.compare_exchange_strong(expected, desired, success, failure);
  }
  template <class U = T, std::enable_if_t<std::is_integral_v<U>, int> = 0>
  T fetch_add(T delta, std::memory_order order) noexcept {
    return value_.fetch_add(delta, order);
  }

 private:
  std::atomic<T> value_;
};

#endif

}  // namespace detail
ROPEKIT_END_NAMESPACE

#include "macros_end.inl"

#endif  // ROPEKIT_DETAIL_ATOMIC_CELL_HPP
