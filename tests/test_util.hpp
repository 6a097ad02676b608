// SPDX-License-Identifier: Apache-2.0
// Shared test helpers: the storage x layout type list, deterministic inputs,
// an independent long-double oracle, and the list of policies every property
// test runs over.
#ifndef ROPEKIT_TESTS_TEST_UTIL_HPP
#define ROPEKIT_TESTS_TEST_UTIL_HPP

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <stdexcept>
#include <memory>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <ropekit/ropekit.hpp>

#include "simd_bounds.hpp"

namespace ropekit_test {

/// The SIMD paths this build and CPU can run: every available one but scalar
/// (Tag, as for available_isas, keeps translation units built for different
/// ISAs apart).
template <class Tag = ropekit::detail::native_tag>
std::vector<ropekit::Isa> simd_paths() {
  std::vector<ropekit::Isa> paths;
  for (ropekit::Isa isa : ropekit::available_isas<Tag>())
    if (isa != ropekit::Isa::scalar) paths.push_back(isa);
  return paths;
}

using ropekit::Layout;

template <class T, Layout L>
struct Config {
  using type = T;
  static constexpr Layout layout = L;
};

using AllConfigs = ::testing::Types<
    Config<float, Layout::half_split>, Config<float, Layout::interleaved>,
    Config<double, Layout::half_split>, Config<double, Layout::interleaved>,
    Config<Eigen::half, Layout::half_split>, Config<Eigen::half, Layout::interleaved>,
    Config<Eigen::bfloat16, Layout::half_split>, Config<Eigen::bfloat16, Layout::interleaved>>;

struct ConfigNames {
  template <class C>
  static std::string GetName(int) {
    return std::string(ropekit::storage_name<typename C::type>()) + "_" +
           ropekit::layout_name(C::layout);
  }
};

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

/// Runs f and expects std::invalid_argument whose message starts with
/// "ropekit: " and contains every needle (the parameter and its value).
template <class F, class Needles = std::initializer_list<const char*>>
void expect_rejected(F&& f, const Needles& needles) {
  try {
    f();
    ADD_FAILURE() << "no exception; expected one mentioning "
                  << (needles.size() > 0 ? *needles.begin() : "anything");
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind("ropekit: ", 0), 0u) << message;
    for (const char* needle : needles)
      EXPECT_NE(message.find(needle), std::string::npos) << "'" << needle << "' not in: " << message;
  } catch (...) {
    ADD_FAILURE() << "wrong exception type";
  }
}

/// The SIMD paths this CPU and build can run (the scalar path excluded).
inline std::vector<ropekit::Isa> simd_paths() {
  std::vector<ropekit::Isa> paths;
  for (ropekit::Isa isa : ropekit::available_isas())
    if (isa != ropekit::Isa::scalar) paths.push_back(isa);
  return paths;
}

/// A token count, a multiple of 8, whose call moves just over the bytes
/// that take the in-cache visit order (ropekit::detail::kCacheResidentBytes,
/// 4 MiB unless the build sets ROPEKIT_CACHE_RESIDENT_BYTES): such a call
/// streams from memory and prefetches, and its pieces of 8 tokens do not.
inline std::int64_t streaming_tokens(std::int64_t bytes_per_token) {
  return (ropekit::detail::kCacheResidentBytes / bytes_per_token / 8 + 1) * 8;
}

/// How the heads of a SIMD-vs-scalar test sit in memory.
enum class Placement { contiguous, unaligned, padded_strides, head_major };

/// Strides, the offset of the first element and the buffer size for
/// `tokens x heads` heads of `head_dim` elements placed as `placement`.
struct Placed {
  std::int64_t token_stride, head_stride, offset, size;
};

inline Placed placed(Placement placement, std::int64_t tokens, std::int64_t heads,
                     std::int64_t head_dim) {
  switch (placement) {
    case Placement::unaligned:  // one element in: every vector load misaligned
      return {heads * head_dim, head_dim, 1, tokens * heads * head_dim + 1};
    case Placement::padded_strides:
      return {heads * (head_dim + 5) + 3, head_dim + 5, 0, tokens * (heads * (head_dim + 5) + 3)};
    case Placement::head_major:
      return {head_dim, tokens * head_dim, 0, tokens * heads * head_dim};
    default:
      return {heads * head_dim, head_dim, 0, tokens * heads * head_dim};
  }
}

/// Absolute cos/sin error that limits double storage: ropekit's reduced
/// angle (~1e-16 rad) and libm, plus the long-double oracle's own angle
/// rounding, position * ω * 2^-63, which dominates at large positions.
constexpr double cos_sin_error(double max_position) {
  return 2e-15 + max_position * 0x1p-62;
}

/// Tolerance for a rotated element whose pair has magnitude up to `magnitude`:
/// `roundings` roundings to T plus the cos/sin error.
template <class T>
double rotation_tolerance(double magnitude, double roundings = 3.0,
                          double max_position = 1.1e6) {
  return magnitude * (roundings * unit_roundoff<T>() + cos_sin_error(max_position));
}

template <class T>
double to_double(T value) {
  return static_cast<double>(static_cast<ropekit::widened_t<T>>(value));
}

/// Values in [-2, 2), exactly representable in T, deterministic per seed.
template <class T>
std::vector<T> random_values(std::size_t n, unsigned seed) {
  std::mt19937 engine(seed);
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(dist(engine));
  return v;
}

template <class T>
bool bytes_equal(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

/// Independent oracle: rotates a contiguous [tokens, heads, head_dim] buffer
/// in long double with the given inverse frequencies, computing every angle
/// directly as position * ω (no reduction tricks).
inline std::vector<long double> oracle_rotate(const std::vector<long double>& input,
                                              std::int64_t tokens, std::int64_t heads,
                                              std::int64_t head_dim, std::int64_t rotary_dim,
                                              Layout layout,
                                              const std::vector<std::int64_t>& positions,
                                              const std::vector<long double>& inv_freq,
                                              long double attention_factor = 1.0L) {
  std::vector<long double> out = input;
  const std::int64_t half = rotary_dim / 2;
  for (std::int64_t t = 0; t < tokens; ++t) {
    for (std::int64_t h = 0; h < heads; ++h) {
      long double* x = out.data() + (t * heads + h) * head_dim;
      for (std::int64_t j = 0; j < half; ++j) {
        const long double angle = static_cast<long double>(positions[t]) * inv_freq[j];
        const long double c = std::cos(angle) * attention_factor;
        const long double s = std::sin(angle) * attention_factor;
        const std::int64_t i0 = layout == Layout::half_split ? j : 2 * j;
        const std::int64_t i1 = layout == Layout::half_split ? j + half : 2 * j + 1;
        const long double a = x[i0], b = x[i1];
        x[i0] = a * c - b * s;
        x[i1] = b * c + a * s;
      }
    }
  }
  return out;
}

/// ω_j = base^(-2j/d) computed independently of the library.
inline std::vector<long double> default_inv_freq(long double base, std::int64_t rotary_dim) {
  std::vector<long double> w(static_cast<std::size_t>(rotary_dim / 2));
  for (std::size_t j = 0; j < w.size(); ++j)
    w[j] = std::pow(base, -2.0L * static_cast<long double>(j) / static_cast<long double>(rotary_dim));
  return w;
}

/// Calls f(policy) for every policy the property tests cover, each set up so
/// that its scaling is active (factor > 1 and, for length-dependent ones,
/// positions past the trained length). LongRoPE's factor lists and M-RoPE's
/// sections depend on the width: `rotary_pairs` is rotary_dim / 2 of the
/// dims the caller builds (24 for the property tests' rotary_dim 48).
template <class F>
void for_each_policy(F&& f, std::int64_t rotary_pairs = 24) {
  namespace s = ropekit::scaling;
  f(s::Default(10000.0));
  f(s::FixedBase(1000000.0, 10000.0));
  f(s::Linear(4.0, 10000.0));
  f(s::NtkAware(4.0, 10000.0));
  f(s::DynamicNtk(4.0, 64, 10000.0));
  // YaRN with a ramp inside the pairs and attention factor 1.1386.
  f(s::Yarn(4.0, 4096, 10000.0));
  f(s::Llama3(8.0, 1.0, 4.0, 8192, 500000.0));
  {
    // Per-call selection: the 10^6 positions switch it to the long factors.
    s::LongRope::Params p;
    for (std::int64_t j = 0; j < rotary_pairs; ++j) {
      p.short_factor.push_back(1.0 + 0.05 * static_cast<double>(j));
      p.long_factor.push_back(1.0 + 3.0 * static_cast<double>(j) / static_cast<double>(rotary_pairs));
    }
    p.original_max_position_embeddings = 4096;
    p.max_position_embeddings = 131072;
    f(s::LongRope(p));
  }
  // Qwen2-VL's 1/4, 3/8, 3/8 split over YaRN; Qwen3-VL's interleaving.
  const std::int64_t third = 3 * rotary_pairs / 8;
  f(s::Mrope<s::Yarn>({rotary_pairs - 2 * third, third, third}, s::Yarn(4.0, 4096, 1000000.0)));
  const std::int64_t h = (rotary_pairs + 1) / 3, w = rotary_pairs / 3;
  f(s::Mrope<>({rotary_pairs - h - w, h, w}, s::Default(5000000.0), s::MropeLayout::interleaved));
  // Gemma 4 full attention (a quarter of the pairs rotate); Qwen2-VL's vision tower.
  f(s::Proportional(0.25, 1000000.0));
  f(s::Vision2d::qwen2_vl());
}

/// One policy's Rope behind a virtual interface, so that property tests
/// instantiate their assertions once per storage type and layout rather than
/// once per policy as well (which made one test file take minutes to compile).
template <class T, Layout L>
struct PolicyRope {
  virtual ~PolicyRope() = default;
  virtual const char* name() const = 0;
  virtual const ropekit::RotaryDims& dims() const = 0;
  virtual ropekit::FrequencyTable table() const = 0;
  virtual void apply(ropekit::HeadView<T> q, ropekit::HeadView<T> k, const ropekit::Positions& p) = 0;
  virtual void apply_q(ropekit::HeadView<T> q, const ropekit::Positions& p) = 0;
  virtual void apply_inverse(ropekit::HeadView<T> q, ropekit::HeadView<T> k,
                             const ropekit::Positions& p) = 0;
};

template <class P, class T, Layout L>
struct PolicyRopeOf final : PolicyRope<T, L> {
  PolicyRopeOf(const ropekit::RotaryDims& dims, const P& policy) : rope(dims, policy) {}
  const char* name() const override { return P::name; }
  const ropekit::RotaryDims& dims() const override { return rope.dims(); }
  ropekit::FrequencyTable table() const override { return rope.table(); }
  void apply(ropekit::HeadView<T> q, ropekit::HeadView<T> k, const ropekit::Positions& p) override {
    rope.apply(q, k, p);
  }
  void apply_q(ropekit::HeadView<T> q, const ropekit::Positions& p) override { rope.apply_q(q, p); }
  void apply_inverse(ropekit::HeadView<T> q, ropekit::HeadView<T> k,
                     const ropekit::Positions& p) override {
    rope.apply_inverse(q, k, p);
  }
  ropekit::Rope<P, L> rope;
};

/// A fresh Rope<P, L> for every policy of `for_each_policy`, same order.
template <class T, Layout L>
std::vector<std::unique_ptr<PolicyRope<T, L>>> policy_ropes(const ropekit::RotaryDims& dims) {
  std::vector<std::unique_ptr<PolicyRope<T, L>>> ropes;
  for_each_policy(
      [&](auto policy) {
        ropes.push_back(std::make_unique<PolicyRopeOf<decltype(policy), T, L>>(dims, policy));
      },
      dims.pairs());
  return ropes;
}

}  // namespace ropekit_test

#endif  // ROPEKIT_TESTS_TEST_UTIL_HPP
