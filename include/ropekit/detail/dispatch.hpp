// SPDX-License-Identifier: Apache-2.0
// Chooses a kernel path per call: the forced one (force_isa or
// ROPEKIT_FORCE_ISA), else the best path compiled into this translation unit
// that the CPU supports, detected once and cached.
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
#include "isa_config.hpp"
#include "neon.hpp"
#include "reference.hpp"
#include "x86_avx2.hpp"
#include "x86_avx512.hpp"

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
      case Isa::neon: return ROPEKIT_COMPILE_NEON;
      default: return true;
    }
  }

  static bool usable(Isa isa) noexcept { return compiled(isa) && cpu_supports(isa); }

  static Isa best() noexcept {
    static const Isa chosen = [] {
      for (Isa isa : {Isa::avx512, Isa::avx2, Isa::neon})
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

  // Rotates tokens [begin, end) of the views. Double storage always takes
  // the scalar path (the SIMD kernels compute in float).
  template <Layout L, class T, std::size_t N>
  static void run(Isa isa, const FrequencyTable& table, const RotaryDims& dims,
                  const HeadView<T> (&views)[N], const Positions& positions, std::int64_t begin,
                  std::int64_t end, Direction direction) {
    if constexpr (!std::is_same_v<T, double>) {
      switch (isa) {
#if ROPEKIT_COMPILE_AVX512
        case Isa::avx512:
          return avx512::apply<L>(table, dims, views, positions, begin, end, direction);
#endif
#if ROPEKIT_COMPILE_AVX2
        case Isa::avx2:
          return avx2::apply<L>(table, dims, views, positions, begin, end, direction);
#endif
#if ROPEKIT_COMPILE_NEON
        case Isa::neon:
          return neon::apply<L>(table, dims, views, positions, begin, end, direction);
#endif
        default: break;
      }
    }
    (void)isa;
    scalar::apply<L>(table, dims, views, positions, begin, end, direction);
  }

  // The same with cos/sin rows from a CosSinCache.
  template <Layout L, class T, std::size_t N, class Rows>
  static void run_rows(Isa isa, const Rows& rows, const RotaryDims& dims,
                       const HeadView<T> (&views)[N], const Positions& positions,
                       std::int64_t begin, std::int64_t end) {
    switch (isa) {
#if ROPEKIT_COMPILE_AVX512
      case Isa::avx512: return avx512::apply_rows<L>(rows, dims, views, positions, begin, end);
#endif
#if ROPEKIT_COMPILE_AVX2
      case Isa::avx2: return avx2::apply_rows<L>(rows, dims, views, positions, begin, end);
#endif
#if ROPEKIT_COMPILE_NEON
      case Isa::neon: return neon::apply_rows<L>(rows, dims, views, positions, begin, end);
#endif
      default: break;
    }
    scalar::apply_rows<L>(rows, dims, views, positions, begin, end);
  }

  // cos/sin rows for positions [first, first + count), as the path computes
  // them on the fly, so cached and uncached calls agree bit for bit.
  static void fill_rows(Isa isa, const FrequencyTable& table, std::int64_t first,
                        std::int64_t count, std::int64_t row_stride, float* cos_rows,
                        float* sin_rows) {
    switch (isa) {
#if ROPEKIT_COMPILE_AVX512
      case Isa::avx512: return avx512::fill_rows(table, first, count, row_stride, cos_rows, sin_rows);
#endif
#if ROPEKIT_COMPILE_AVX2
      case Isa::avx2: return avx2::fill_rows(table, first, count, row_stride, cos_rows, sin_rows);
#endif
#if ROPEKIT_COMPILE_NEON
      case Isa::neon: return neon::fill_rows(table, first, count, row_stride, cos_rows, sin_rows);
#endif
      default: break;
    }
    const RotationScale scale = rotation_scale(table, Direction::forward);
    for (std::int64_t p = first; p < first + count; ++p) {
      const double position_by_axis[Positions::kMaxAxes] = {
          static_cast<double>(p), static_cast<double>(p), static_cast<double>(p)};
      scalar::cos_sin(table, position_by_axis, 0, table.pairs(), scale,
                      cos_rows + (p - first) * row_stride, sin_rows + (p - first) * row_stride);
    }
  }
};

}  // namespace ROPEKIT_TU_NAMESPACE

/// This translation unit's dispatch tag (see isa_config.hpp).
using native_tag = ROPEKIT_TU_NAMESPACE::tag;

}  // namespace detail
ROPEKIT_END_NAMESPACE

#endif  // ROPEKIT_DETAIL_DISPATCH_HPP
