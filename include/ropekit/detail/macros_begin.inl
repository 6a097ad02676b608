// SPDX-License-Identifier: Apache-2.0
// ropekit's internal macros, defined for the body of one header and undefined
// again by macros_end.inl at its end, so that none leaks into the code that
// includes ropekit (only ROPEKIT_VERSION* and the options a user sets,
// ROPEKIT_DYNAMIC_DISPATCH and ROPEKIT_SCALAR_ONLY, are public). Every header
// includes this after its own includes: regions never nest. No include guard,
// on purpose.
#ifdef ROPEKIT_DETAIL_MACROS_ACTIVE
#error "ropekit: macros_begin.inl twice without macros_end.inl"
#endif
#define ROPEKIT_DETAIL_MACROS_ACTIVE

// Which kernel paths this translation unit compiles, and the namespace that
// keeps them apart from units compiled with other flags.
//
// Selection defaults to compile time: a path is compiled when the unit's
// predefined macros allow it (-mavx2 -mfma -mf16c, -march=native, ...).
// Defining ROPEKIT_DYNAMIC_DISPATCH (GCC/Clang, x86-64) also compiles the
// AVX2 and AVX-512 kernels under target attributes and picks one per CPU at
// run time, so a baseline x86-64 build still gets them.
//
// ODR: the same inline function compiled under different -march flags gets
// different code, and the linker keeps one copy. So every flag-dependent
// function lives in `detail::ROPEKIT_TU_NAMESPACE`, whose name encodes the
// unit's static ISA level and dispatch mode, and the public entry points take
// that namespace's tag as a defaulted template argument: units built with
// different flags instantiate differently named functions.
#if defined(__x86_64__) || defined(_M_X64)
#define ROPEKIT_ARCH_X86_64 1
#else
#define ROPEKIT_ARCH_X86_64 0
#endif

#if defined(__aarch64__) && defined(__ARM_NEON)
#define ROPEKIT_ARCH_AARCH64 1
#else
#define ROPEKIT_ARCH_AARCH64 0
#endif

#if ROPEKIT_ARCH_X86_64 && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#define ROPEKIT_STATIC_AVX2 1
#else
#define ROPEKIT_STATIC_AVX2 0
#endif

#if ROPEKIT_STATIC_AVX2 && defined(__AVX512F__) && defined(__AVX512BW__) && \
    defined(__AVX512VL__) && defined(__AVX512DQ__)
#define ROPEKIT_STATIC_AVX512 1
#else
#define ROPEKIT_STATIC_AVX512 0
#endif

#if ROPEKIT_STATIC_AVX512 && defined(__AVX512BF16__)
#define ROPEKIT_STATIC_AVX512_BF16 1
#else
#define ROPEKIT_STATIC_AVX512_BF16 0
#endif

#if defined(ROPEKIT_DYNAMIC_DISPATCH) && ROPEKIT_ARCH_X86_64 && \
    (defined(__GNUC__) || defined(__clang__))
#define ROPEKIT_USE_DYNAMIC_DISPATCH 1
#else
#define ROPEKIT_USE_DYNAMIC_DISPATCH 0
#endif

// ROPEKIT_SCALAR_ONLY compiles no SIMD path (for debugging and comparison).
#if defined(ROPEKIT_SCALAR_ONLY)
#define ROPEKIT_COMPILE_AVX2 0
#define ROPEKIT_COMPILE_AVX512 0
#define ROPEKIT_COMPILE_AVX512_BF16 0
#define ROPEKIT_COMPILE_NEON 0
#else
#define ROPEKIT_COMPILE_AVX2 (ROPEKIT_STATIC_AVX2 || ROPEKIT_USE_DYNAMIC_DISPATCH)
#define ROPEKIT_COMPILE_AVX512 (ROPEKIT_STATIC_AVX512 || ROPEKIT_USE_DYNAMIC_DISPATCH)
#define ROPEKIT_COMPILE_AVX512_BF16 (ROPEKIT_STATIC_AVX512_BF16 || ROPEKIT_USE_DYNAMIC_DISPATCH)
#define ROPEKIT_COMPILE_NEON ROPEKIT_ARCH_AARCH64
#endif

#if defined(ROPEKIT_SCALAR_ONLY)
#define ROPEKIT_TU_NAMESPACE tu_scalar_only
#elif ROPEKIT_USE_DYNAMIC_DISPATCH && ROPEKIT_STATIC_AVX512_BF16
#define ROPEKIT_TU_NAMESPACE tu_avx512_bf16_dyn
#elif ROPEKIT_USE_DYNAMIC_DISPATCH && ROPEKIT_STATIC_AVX512
#define ROPEKIT_TU_NAMESPACE tu_avx512_dyn
#elif ROPEKIT_USE_DYNAMIC_DISPATCH && ROPEKIT_STATIC_AVX2
#define ROPEKIT_TU_NAMESPACE tu_avx2_dyn
#elif ROPEKIT_USE_DYNAMIC_DISPATCH
#define ROPEKIT_TU_NAMESPACE tu_baseline_dyn
#elif ROPEKIT_STATIC_AVX512_BF16
#define ROPEKIT_TU_NAMESPACE tu_avx512_bf16
#elif ROPEKIT_STATIC_AVX512
#define ROPEKIT_TU_NAMESPACE tu_avx512
#elif ROPEKIT_STATIC_AVX2
#define ROPEKIT_TU_NAMESPACE tu_avx2
#elif ROPEKIT_ARCH_AARCH64
#define ROPEKIT_TU_NAMESPACE tu_neon
#else
#define ROPEKIT_TU_NAMESPACE tu_baseline
#endif

// Kernel entry points are not inlined into callers: one copy per (layout,
// type) serves every call site, which keeps object code and compile time
// proportional to the kernels, not to the number of calls.
#if defined(__GNUC__) || defined(__clang__)
#define ROPEKIT_NOINLINE __attribute__((noinline))
#elif defined(_MSC_VER)
#define ROPEKIT_NOINLINE __declspec(noinline)
#else
#define ROPEKIT_NOINLINE
#endif

// Target regions for the x86 kernels: GCC and Clang spell them differently.
// Intrinsics headers declare every intrinsic regardless of -m flags, so the
// kernels compile in any unit; they run only where dispatch allows.
#if defined(__clang__)
#define ROPEKIT_TARGET_PUSH_AVX2 \
  _Pragma("clang attribute push(__attribute__((target(\"avx2,fma,f16c\"))), apply_to = function)")
#define ROPEKIT_TARGET_PUSH_AVX512                                                               \
  _Pragma(                                                                                       \
      "clang attribute push(__attribute__((target(\"avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq\"))), apply_to = function)")
#define ROPEKIT_TARGET_PUSH_AVX512_BF16                                                          \
  _Pragma(                                                                                       \
      "clang attribute push(__attribute__((target(\"avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512bf16\"))), apply_to = function)")
#define ROPEKIT_TARGET_POP _Pragma("clang attribute pop")
#elif defined(__GNUC__)
#define ROPEKIT_TARGET_PUSH_AVX2 \
  _Pragma("GCC push_options") _Pragma("GCC target(\"avx2,fma,f16c\")")
#define ROPEKIT_TARGET_PUSH_AVX512 \
  _Pragma("GCC push_options")      \
      _Pragma("GCC target(\"avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq\")")
#define ROPEKIT_TARGET_PUSH_AVX512_BF16 \
  _Pragma("GCC push_options")           \
      _Pragma("GCC target(\"avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512bf16\")")
#define ROPEKIT_TARGET_POP _Pragma("GCC pop_options")
#else
#define ROPEKIT_TARGET_PUSH_AVX2
#define ROPEKIT_TARGET_PUSH_AVX512
#define ROPEKIT_TARGET_PUSH_AVX512_BF16
#define ROPEKIT_TARGET_POP
#endif

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

// The kernels' intrinsic wrappers (each ISA's `ops`): always inlined, as
// Highway's are. A large unit (the type-pair test suites) otherwise exceeds
// GCC's inlining budget and calls some of them out of line, and GCC 12 then
// warns inside AVX-512 intrinsics (GCC bug 105593) where a precompiled header
// has dropped the pragma that silences it.
#if defined(__GNUC__) || defined(__clang__)
#define ROPEKIT_INLINE __attribute__((always_inline))
#else
#define ROPEKIT_INLINE
#endif

// Out of line and cold: error paths.
#if defined(__GNUC__) || defined(__clang__)
#define ROPEKIT_COLD __attribute__((noinline, cold))
#elif defined(_MSC_VER)
#define ROPEKIT_COLD __declspec(noinline)
#else
#define ROPEKIT_COLD
#endif
