// SPDX-License-Identifier: Apache-2.0
// Instruction-set paths, CPU detection and the switch that forces a path.
// Everything here is ISA-neutral (no intrinsics): the kernels themselves
// live in detail/ under ISA-tagged namespaces.
#ifndef ROPEKIT_ISA_HPP
#define ROPEKIT_ISA_HPP

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#endif

#include "detail/atomic_cell.hpp"
#include "error.hpp"
#include "version.hpp"

#include "detail/macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE

/// A kernel path. `scalar` is the reference kernel, always available.
/// `avx512_bf16` is the avx512 path with AVX512_BF16's conversion for what
/// it writes as bfloat16 (same bits; everything else runs the avx512 code).
/// (Appended last: the values are stable.)
enum class Isa { scalar, avx2, avx512, neon, avx512_bf16 };

constexpr const char* isa_name(Isa isa) noexcept {
  switch (isa) {
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
    case Isa::avx512_bf16: return "avx512_bf16";
    case Isa::neon: return "neon";
    default: return "scalar";
  }
}

/// Parses "scalar", "avx2", "avx512", "avx512_bf16" or "neon"; throws
/// naming `what`.
inline Isa parse_isa(const char* text, const char* what = "isa") {
  for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512, Isa::avx512_bf16, Isa::neon})
    if (std::strcmp(text, isa_name(isa)) == 0) return isa;
  detail::fail(what, text, "must be one of scalar, avx2, avx512, avx512_bf16, neon");
}

namespace detail {

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
// x86 feature bits straight from CPUID and XGETBV (the OS must save the
// vector state too), identical under GCC and Clang.
struct X86Features {
  bool avx2 = false;
  bool avx512 = false;
  bool avx512_bf16 = false;
};

inline X86Features detect_x86_features() noexcept {
  X86Features f;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return f;
  const bool fma = (ecx >> 12) & 1, osxsave = (ecx >> 27) & 1, avx = (ecx >> 28) & 1,
             f16c = (ecx >> 29) & 1;
  if (!(osxsave && avx)) return f;
  unsigned xcr0_lo = 0, xcr0_hi = 0;
  __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  const bool os_avx = (xcr0_lo & 0x6) == 0x6;             // XMM and YMM state
  const bool os_avx512 = (xcr0_lo & 0xE6) == 0xE6;        // plus opmask and ZMM state
  if (__get_cpuid_max(0, nullptr) < 7) return f;
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  const bool avx2 = (ebx >> 5) & 1, avx512f = (ebx >> 16) & 1, avx512dq = (ebx >> 17) & 1,
             avx512bw = (ebx >> 30) & 1, avx512vl = (ebx >> 31) & 1;
  f.avx2 = os_avx && avx2 && fma && f16c;
  f.avx512 = f.avx2 && os_avx512 && avx512f && avx512dq && avx512bw && avx512vl;
  // AVX512_BF16: leaf 7, sub-leaf 1, EAX bit 5 (sub-leaf 0's EAX is the
  // highest sub-leaf).
  if (f.avx512 && eax >= 1) {
    unsigned eax1 = 0, ebx1 = 0, ecx1 = 0, edx1 = 0;
    __cpuid_count(7, 1, eax1, ebx1, ecx1, edx1);
    f.avx512_bf16 = (eax1 >> 5) & 1;
  }
  return f;
}

inline const X86Features& x86_features() noexcept {
  static const X86Features features = detect_x86_features();
  return features;
}
#endif

}  // namespace detail

/// Whether the running CPU (and OS) can execute the path: what dispatch
/// checks. (The path must also be compiled into the calling translation
/// unit; see `available_isas` in <ropekit/rotate.hpp>.)
inline bool cpu_supports(Isa isa) noexcept {
  switch (isa) {
    case Isa::scalar: return true;
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    case Isa::avx2: return detail::x86_features().avx2;
    case Isa::avx512: return detail::x86_features().avx512;
    case Isa::avx512_bf16: return detail::x86_features().avx512_bf16;
#endif
#if defined(__aarch64__)
    case Isa::neon: return true;  // Advanced SIMD is mandatory on AArch64
#endif
    default: return false;
  }
}

namespace detail {

// -1: nothing forced; otherwise the forced Isa. Data only, shared by every
// translation unit whatever its flags.
inline AtomicCell<int>& forced_isa_slot() {
  static AtomicCell<int> slot{-2};  // -2: environment not read yet
  return slot;
}

// The forced path, or -1. The environment variable ROPEKIT_FORCE_ISA is read
// once, on first use.
inline int forced_isa_value() {
  AtomicCell<int>& slot = forced_isa_slot();
  int value = slot.load(std::memory_order_acquire);
  if (value == -2) {
    const char* env = std::getenv("ROPEKIT_FORCE_ISA");
    const int from_env =
        (env != nullptr && *env != '\0') ? static_cast<int>(parse_isa(env, "ROPEKIT_FORCE_ISA")) : -1;
    slot.compare_exchange(value, from_env, std::memory_order_acq_rel, std::memory_order_acquire);
    value = slot.load(std::memory_order_acquire);
  }
  return value;
}

}  // namespace detail

/// Forces every subsequent call (in every translation unit) onto `isa`, for
/// testing and benchmarking. A call whose translation unit lacks the path,
/// or on a CPU that cannot run it, throws std::invalid_argument before
/// writing anything. The environment variable ROPEKIT_FORCE_ISA=<name> has
/// the same effect from the first call on.
inline void force_isa(Isa isa) noexcept {
  detail::forced_isa_slot().store(static_cast<int>(isa), std::memory_order_release);
}

/// Back to automatic selection (ignores ROPEKIT_FORCE_ISA from then on).
inline void clear_forced_isa() noexcept {
  detail::forced_isa_slot().store(-1, std::memory_order_release);
}

/// True (and `*isa` set) when a path is forced by force_isa or the environment.
inline bool forced_isa(Isa* isa) {
  const int value = detail::forced_isa_value();
  if (value < 0) return false;
  if (isa != nullptr) *isa = static_cast<Isa>(value);
  return true;
}

ROPEKIT_END_NAMESPACE

#include "detail/macros_end.inl"

#endif  // ROPEKIT_ISA_HPP
