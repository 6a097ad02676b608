// SPDX-License-Identifier: Apache-2.0
// Version macros and the versioned inline namespace every public name lives in.
#ifndef ROPEKIT_VERSION_HPP
#define ROPEKIT_VERSION_HPP

#define ROPEKIT_VERSION_MAJOR 0
#define ROPEKIT_VERSION_MINOR 1
#define ROPEKIT_VERSION_PATCH 0
#define ROPEKIT_VERSION \
  (ROPEKIT_VERSION_MAJOR * 10000 + ROPEKIT_VERSION_MINOR * 100 + ROPEKIT_VERSION_PATCH)

// ISA-neutral code is compiled for baseline x86-64 (SSE2) whatever the
// unit's -m flags: its inline functions are shared by every unit of a
// program and the linker keeps one copy, so a copy built with -mavx2 in one
// unit must not be the one a baseline unit runs on a CPU without AVX. Only
// the kernels (detail::tu_*, under their own target regions) use wider
// instructions. Code in the region must not call always_inline functions
// compiled for wider targets (std::atomic members are: ropekit uses
// detail::AtomicCell instead).
#if (defined(__x86_64__) || defined(_M_X64)) && defined(__clang__)
// (A region with no function in it would warn: -Wpragma-clang-attribute.)
#define ROPEKIT_BASELINE_PUSH                                                                  \
  _Pragma("clang diagnostic push")                                                             \
  _Pragma("clang diagnostic ignored \"-Wpragma-clang-attribute\"")                             \
  _Pragma(                                                                                     \
      "clang attribute push(__attribute__((target(\"no-sse3,no-f16c,no-fma,no-bmi,no-bmi2,no-lzcnt,no-popcnt\"))), apply_to = function)")
#define ROPEKIT_BASELINE_POP _Pragma("clang attribute pop") _Pragma("clang diagnostic pop")
#elif (defined(__x86_64__) || defined(_M_X64)) && defined(__GNUC__)
#define ROPEKIT_BASELINE_PUSH \
  _Pragma("GCC push_options")  \
      _Pragma("GCC target(\"no-sse3,no-f16c,no-fma,no-bmi,no-bmi2,no-lzcnt,no-popcnt\")")
#define ROPEKIT_BASELINE_POP _Pragma("GCC pop_options")
#else
#define ROPEKIT_BASELINE_PUSH
#define ROPEKIT_BASELINE_POP
#endif

// The inline namespace carries the ABI version so that two ropekit versions
// linked into one program do not silently share inline functions. Headers
// include everything they need before opening it, so regions never nest.
#define ROPEKIT_BEGIN_NAMESPACE \
  ROPEKIT_BASELINE_PUSH         \
  namespace ropekit {           \
  inline namespace v0 {
#define ROPEKIT_END_NAMESPACE \
  }                           \
  }                           \
  ROPEKIT_BASELINE_POP

// The kernel headers' namespace: no baseline region (they open their own
// target regions; see detail/isa_config.hpp).
#define ROPEKIT_BEGIN_KERNEL_NAMESPACE \
  namespace ropekit {                  \
  inline namespace v0 {
#define ROPEKIT_END_KERNEL_NAMESPACE \
  }                                  \
  }

#endif  // ROPEKIT_VERSION_HPP
