// SPDX-License-Identifier: Apache-2.0
// Chooses a kernel path per call: the forced one (force_isa or
// ROPEKIT_FORCE_ISA), else the best path compiled into this translation unit
// that the CPU supports, detected once and cached; and the one switch from a
// path to its kernels.
#ifndef ROPEKIT_DETAIL_DISPATCH_HPP
#define ROPEKIT_DETAIL_DISPATCH_HPP

#include <cstdint>
#include <type_traits>

#include "../dims.hpp"
#include "../error.hpp"
#include "../frequencies.hpp"
#include "../isa.hpp"
#include "../layout.hpp"
#include "../positions.hpp"
#include "../version.hpp"
#include "../view.hpp"
#include "neon.hpp"
#include "reference.hpp"
#include "x86_avx2.hpp"
#include "x86_avx512.hpp"
#include "x86_avx512_bf16.hpp"

#include "macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE
namespace detail {
namespace ROPEKIT_TU_NAMESPACE {

// The entry points' defaulted template argument: naming this unit's
// namespace in every instantiation keeps units with other flags apart.
struct tag {
  static constexpr bool compiled(Isa isa) noexcept {
    switch (isa) {
      case Isa::avx2: return ROPEKIT_COMPILE_AVX2;
      case Isa::avx512: return ROPEKIT_COMPILE_AVX512;
      case Isa::avx512_bf16: return ROPEKIT_COMPILE_AVX512_BF16;
      case Isa::neon: return ROPEKIT_COMPILE_NEON;
      default: return true;
    }
  }

  static bool usable(Isa isa) noexcept { return compiled(isa) && cpu_supports(isa); }

  static Isa best() noexcept {
    static const Isa chosen = [] {
      for (Isa isa : {Isa::avx512_bf16, Isa::avx512, Isa::avx2, Isa::neon})
        if (usable(isa)) return isa;
      return Isa::scalar;
    }();
    return chosen;
  }

  // The path the next call takes; throws (before anything is written) when
  // a forced path cannot run here.
  static Isa resolve() {
    Isa forced = Isa::scalar;
    if (!forced_isa(&forced)) return best();
    if (!usable(forced))
      fail("forced isa", isa_name(forced),
           compiled(forced) ? "is not supported by this CPU"
                            : "is not compiled into this translation unit (see ROPEKIT_DYNAMIC_DISPATCH)");
    return forced;
  }

  // The one switch from a path to its kernels: calls f(kernel) with the
  // path's `kernel` struct (static members run() and fill_rows()). Storage
  // type T picks the scalar kernel for double (the SIMD kernels compute in
  // float) whatever the path. The avx512_bf16 path differs from avx512 only
  // in what it writes as bfloat16, so jobs that write none run the avx512
  // kernels (no second copy of them).
  template <class T, bool kWritesBfloat16 = false, class F>
  static decltype(auto) with_kernel(Isa isa, F&& f) {
    if constexpr (std::is_same_v<T, double>) {
      (void)isa;
      return f(scalar::kernel{});
    } else {
      switch (isa) {
#if ROPEKIT_COMPILE_AVX512_BF16
        case Isa::avx512_bf16:
          if constexpr (kWritesBfloat16) return f(avx512_bf16::kernel{});
          else return f(avx512::kernel{});
#endif
#if ROPEKIT_COMPILE_AVX512
        case Isa::avx512: return f(avx512::kernel{});
#endif
#if ROPEKIT_COMPILE_AVX2
        case Isa::avx2: return f(avx2::kernel{});
#endif
#if ROPEKIT_COMPILE_NEON
        case Isa::neon: return f(neon::kernel{});
#endif
        default: return f(scalar::kernel{});
      }
    }
  }
};

}  // namespace ROPEKIT_TU_NAMESPACE

/// This translation unit's dispatch tag (see isa_config.hpp).
using native_tag = ROPEKIT_TU_NAMESPACE::tag;

}  // namespace detail
ROPEKIT_END_NAMESPACE

#include "macros_end.inl"

#endif  // ROPEKIT_DETAIL_DISPATCH_HPP
