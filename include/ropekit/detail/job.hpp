// SPDX-License-Identifier: Apache-2.0
// What every kernel path is handed for one call: the angles (an exact table,
// or precomputed cos/sin rows), the scale the direction applies, which
// channels of a head rotate, and the streams to process (each a source view
// rotated, or copied, into a destination: itself, another view, or KV-cache
// slots, optionally RMS-normalised first), all validated before a job
// exists. The scalar reference and the SIMD kernels share this vocabulary
// and nothing else.
#ifndef ROPEKIT_DETAIL_JOB_HPP
#define ROPEKIT_DETAIL_JOB_HPP

#include <cstddef>
#include <cstdint>
#include <tuple>
#include <type_traits>

#include "../frequencies.hpp"
#include "../isa.hpp"
#include "../positions.hpp"
#include "../version.hpp"
#include "../view.hpp"

#include "macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE
namespace detail {

// forward: rotate by the angle, times the attention factor m.
// inverse: undo forward (rotate by -angle, divide by m).
// backward: the gradient of forward (its transpose: rotate by -angle, times m).
// shift: rotate by the angle alone (re-rotating keys that already carry m).
enum class Direction { forward, inverse, backward, shift };

// Scale applied to cos and to sin.
struct RotationScale {
  double cos_scale;
  double sin_scale;
};

inline RotationScale rotation_scale(double attention_factor, Direction direction) {
  const double m = attention_factor;
  switch (direction) {
    case Direction::inverse: return {1.0 / m, -1.0 / m};
    case Direction::backward: return {m, -m};
    case Direction::shift: return {1.0, 1.0};
    default: return {m, m};
  }
}

// Pairs handled per block: bounds the stack buffers for any rotary_dim and
// keeps a block's cos/sin in L1 while every head of the token is rotated.
inline constexpr std::int64_t kPairBlock = 256;

// Which of a table's pairs a call rotates and where they sit, beyond what
// RotaryDims says; the defaults describe a plain table.
struct PairShape {
  // Trailing pairs whose rotation is the identity (FrequencyTable::
  // rotated_pairs), skipped by every call.
  std::int64_t identity_tail = 0;
  // Half-split parts (Frequencies::half_split_parts).
  std::int64_t half_split_parts = 1;
};

// A FrequencyTable's arrays as the kernels read them (non-owning). Arrays
// are padded with zeros to a multiple of 16 pairs, so whole vectors past
// the last pair read harmless angles.
struct AngleTable {
  // Quarter turns per position mod 4 as a double-double, for the SIMD paths
  // (fma(p, head, -p*head) recovers the product's rounding error exactly).
  const double* quarters_head;
  const double* quarters_tail;
  // Turns per position in three parts whose products with a position are
  // exact for the first two, for the scalar reference.
  const double* turns_hi;
  const double* turns_mid;
  const double* turns_lo;
  // The position axis each pair reads (all 0 unless multimodal).
  const std::uint8_t* axis;
  int axes;
  double attention_factor;
  PairShape shape;
};

// Precomputed cos/sin, one padded row per position (CosSinCache).
struct CosSinRows {
  const float* cos;
  const float* sin;
  std::int64_t stride;
  PairShape shape;
};

// Which channels of a head rotate. Half-split pair j is channels
// (offset + j, offset + half + j); interleaved pair j is channels
// (offset + 2j, offset + 2j + 1); j < pairs. With parts > 1 (half-split
// only; then pairs = parts * half) the head's rotary channels are `parts`
// runs of 2 * half channels, each half-split on its own: pair j is channels
// (offset + j + p * half, offset + j + (p + 1) * half), p = j / half. Every
// other channel of the head passes through (copied, and normalised, when
// the stream writes elsewhere or normalises).
struct Geometry {
  std::int64_t head_dim;
  std::int64_t offset;
  std::int64_t pairs;
  std::int64_t half;
  std::int64_t parts = 1;
};

// The stream writes its own source.
struct InPlace {};

// Per-head RMSNorm before the rotation: x * r * w (or x * r * (1 + w)), with
// r = 1 / sqrt(mean(x^2) + eps) over the head's head_dim channels.
struct NormSpec {
  const float* weight;  // head_dim floats
  float eps;
  bool plus_one;        // Gemma's (1 + w)
};

// The element types a stream reads and writes.
template <class Src, class Dst>
struct stream_values {
  using source = std::remove_const_t<typename Src::element_type>;
  using destination = std::remove_const_t<typename Dst::element_type>;
};
template <class Src>
struct stream_values<Src, InPlace> {
  using source = std::remove_const_t<typename Src::element_type>;
  using destination = source;
};

// One group of heads sharing the token's cos/sin: `src` (a HeadView,
// possibly of const elements) rotated (or, with kRotate false, copied) into
// `dst` (InPlace, a HeadView or KV-cache slots), normalised first with kNorm.
template <class Src, class Dst, bool kRotate = true, bool kNorm = false>
struct Stream {
  using src_type = Src;
  using dst_type = Dst;
  static constexpr bool rotates = kRotate;
  static constexpr bool normalises = kNorm;
  static constexpr bool in_place = std::is_same_v<Dst, InPlace>;
  using source_value = typename stream_values<Src, Dst>::source;
  using destination_value = typename stream_values<Src, Dst>::destination;
  Src src;
  Dst dst;
  NormSpec norm;
};

// Heads [part * heads / parts, (part + 1) * heads / parts) of a stream, for
// splitting a call with few tokens across threads.
template <class Stream>
void head_part(Stream& st, std::int64_t part, std::int64_t parts) {
  const std::int64_t heads = st.src.heads();
  const std::int64_t begin = heads * part / parts;
  const std::int64_t count = heads * (part + 1) / parts - begin;
  st.src = st.src.head_range(begin, count);
  if constexpr (!Stream::in_place) st.dst = st.dst.head_range(begin, count);
}

// Calls that move more bytes than this (every stream's source read, plus
// its destination when out of place) cannot stay in cache: they take the
// streaming visit order and prefetch the next token (kernel-inl.hpp). A
// build may set ROPEKIT_CACHE_RESIDENT_BYTES, the same in every unit; the
// sanitizer and qemu test builds lower it so that their streaming cases
// stay small. Both orders give the same bits (the tests compare them).
#ifdef ROPEKIT_CACHE_RESIDENT_BYTES
inline constexpr std::int64_t kCacheResidentBytes = ROPEKIT_CACHE_RESIDENT_BYTES;
#else
inline constexpr std::int64_t kCacheResidentBytes = std::int64_t{4} << 20;
#endif
static_assert(kCacheResidentBytes > 0, "ROPEKIT_CACHE_RESIDENT_BYTES must be positive");

template <class... Streams>
inline bool streams_from_memory(std::int64_t tokens, const std::tuple<Streams...>& streams) {
  std::int64_t bytes = 0;
  std::apply(
      [&](const auto&... stream) {
        const auto add = [&](const auto& st) {
          using St = std::decay_t<decltype(st)>;
          const std::size_t element = sizeof(typename St::source_value) +
                                      (St::in_place ? 0 : sizeof(typename St::destination_value));
          bytes += tokens * st.src.heads() * st.src.head_dim() * static_cast<std::int64_t>(element);
        };
        (add(stream), ...);
      },
      streams);
  return tokens > 1 && bytes > kCacheResidentBytes;
}

// A double-double: hi + lo, |lo| <= ulp(hi) / 2.
struct dd {
  double hi, lo;
};

// A decode step's geometric correction (DynamicNtk::geometric_step): x, and
// y ≈ x^(-1/k) to double precision, from which the kernels build its table.
struct StepRoot {
  dd x;
  double y;
};
// The most decode steps' tables built in one call (step_table.hpp).
inline constexpr int kStepBatch = 4;

// One validated call. Its angles, scale and geometry are bound after
// construction. Member by member: GCC value-initialised the aggregate form
// with one `rep stos` over all 472 bytes, positions and streams included,
// then copied those over it (a stall on every call; 6% of a decode step).
// Braces, not parentheses: `table()` called AngleTable's implicit
// constructor, which GCC emitted with the unit's ISA (tests/odr).
template <class... Streams>
struct Job {
  Job(const Positions& positions_, const std::tuple<Streams...>& streams_)
      : table{}, rows{}, scale{1.0, 1.0}, geometry{}, positions(positions_), streams(streams_) {}
  AngleTable table;
  CosSinRows rows;  // used instead of the table when rows.cos is set
  RotationScale scale;
  Geometry geometry;
  Positions positions;
  std::tuple<Streams...> streams;
};

// Whether a job runs on a SIMD kernel on path `isa` (double storage always
// takes the scalar reference).
template <class... Streams>
bool job_kernel_is_simd(const Job<Streams...>& /*job*/, Isa isa) noexcept {
  using First = std::tuple_element_t<0, std::tuple<Streams...>>;
  return isa != Isa::scalar && !std::is_same_v<typename First::source_value, double>;
}

// The kernels' view of a FrequencyTable (whose arrays are not public API).
struct TableAccess {
  static AngleTable angles(const FrequencyTable& table) noexcept {
    const FrequencyTable::Data& d = *table.data_;
    const PairShape shape{table.pairs() - d.rotated_pairs, d.half_split_parts};
    return {d.quarters_head.data(), d.quarters_tail.data(), d.turns_hi.data(), d.turns_mid.data(),
            d.turns_lo.data(),      d.axis.data(),          d.axes,            d.attention_factor,
            shape};
  }
};

// A token's position on each axis; a single-axis id list feeds every axis
// (text tokens of an M-RoPE model). One at() per axis given: for packed
// sequences each is a search.
inline void token_positions(const Positions& positions, std::int64_t token,
                            double (&out)[Positions::kMaxAxes]) {
  const int axes = positions.axes();
  const double first = static_cast<double>(positions.at(token, 0));
  out[0] = first;
  out[1] = axes > 1 ? static_cast<double>(positions.at(token, 1)) : first;
  out[2] = axes > 2 ? static_cast<double>(positions.at(token, 2)) : first;
}

}  // namespace detail
ROPEKIT_END_NAMESPACE

#include "macros_end.inl"

#endif  // ROPEKIT_DETAIL_JOB_HPP
