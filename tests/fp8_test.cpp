// SPDX-License-Identifier: Apache-2.0
// FP8 storage (OCP E4M3 "fn" and E5M2) against formulas written here from
// the OCP OFP8 v1.0 definitions, independently of include/ropekit/fp8.hpp:
// - decoding: all 256 codes against an ldexp formula;
// - encoding: every binary16 value, every float within a few ulps of each
//   rounding boundary (midpoints, saturation thresholds, the
//   subnormal/normal boundary, zeros), NaN, infinities, float subnormals and
//   two million random floats against an exhaustive nearest-code search with
//   ties to the even code;
// - every SIMD path compiled here and supported by the CPU, bit for bit
//   against the scalar conversion, full and partial vectors touching only
//   the bytes they own (canaries; a guard page after the data), and on x86
//   with DAZ/FTZ set.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include <ropekit/detail/fp8_neon.hpp>
#include <ropekit/detail/fp8_x86_avx2.hpp>
#include <ropekit/detail/fp8_x86_avx512.hpp>
#include <ropekit/fp8.hpp>
#include <ropekit/rotate.hpp>

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif
#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

// ropekit's internal macros (kernel paths, target regions) for this file.
#include <ropekit/detail/macros_begin.inl>

namespace {

using namespace ropekit;
namespace tu = ropekit::detail::ROPEKIT_TU_NAMESPACE;

// The kernels' vector width and the conversions' must agree, so that the
// lead's `ops` can take them over as they are.
#if ROPEKIT_COMPILE_AVX2
static_assert(tu::avx2::fp8_ops::kF == tu::avx2::ops::kF);
#endif
#if ROPEKIT_COMPILE_AVX512
static_assert(tu::avx512::fp8_ops::kF == tu::avx512::ops::kF);
#if ROPEKIT_COMPILE_AVX512_BF16
static_assert(std::is_base_of_v<tu::avx512::fp8_ops, tu::avx512_bf16::ops>);
#endif
#endif
#if ROPEKIT_COMPILE_NEON
static_assert(tu::neon::fp8_ops::kF == tu::neon::ops::kF);
#endif

// The OCP definitions, stated again here for the independent formulas.
struct Spec {
  int exponent_bits, mantissa_bits, bias;
  bool ieee_specials;  // E5M2: all-ones exponent is inf/NaN; E4M3fn: only S.1111.111 is NaN
};
template <class F>
constexpr Spec spec() {
  if constexpr (std::is_same_v<F, float8_e4m3fn>) return {4, 3, 7, false};
  else return {5, 2, 15, true};
}

template <class F>
bool reference_is_nan(unsigned code) {
  constexpr Spec s = spec<F>();
  const unsigned e = (code >> s.mantissa_bits) & ((1u << s.exponent_bits) - 1);
  const unsigned m = code & ((1u << s.mantissa_bits) - 1);
  const unsigned top = (1u << s.exponent_bits) - 1;
  return s.ieee_specials ? (e == top && m != 0) : (e == top && m == (1u << s.mantissa_bits) - 1);
}

// Value of a code (NaN codes give NaN), by the definition.
template <class F>
double reference_value(unsigned code) {
  constexpr Spec s = spec<F>();
  const double sign = (code & 0x80) ? -1.0 : 1.0;
  const int e = static_cast<int>((code >> s.mantissa_bits) & ((1u << s.exponent_bits) - 1));
  const int m = static_cast<int>(code & ((1u << s.mantissa_bits) - 1));
  if (reference_is_nan<F>(code)) return std::numeric_limits<double>::quiet_NaN();
  if (s.ieee_specials && e == (1 << s.exponent_bits) - 1)
    return sign * std::numeric_limits<double>::infinity();
  if (e == 0) return sign * std::ldexp(m, 1 - s.bias - s.mantissa_bits);
  return sign * std::ldexp((1 << s.mantissa_bits) + m, e - s.bias - s.mantissa_bits);
}

std::uint32_t bits_of(float x) {
  std::uint32_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}
float float_of(std::uint32_t b) {
  float x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}

// Nearest finite code to |x| (ties: the even code), saturating, sign copied;
// NaN gives the NaN code 0x7F with the sign. Exhaustive over the codes.
template <class F>
class ReferenceEncoder {
 public:
  ReferenceEncoder() {
    for (unsigned code = 0; code < 0x80; ++code) {
      const double v = reference_value<F>(code);
      if (std::isfinite(v)) {
        values_.push_back(v);
        codes_.push_back(static_cast<std::uint8_t>(code));
        max_ = std::max(max_, v);
        if (v == max_) max_code_ = static_cast<std::uint8_t>(code);
      }
    }
  }

  std::uint8_t operator()(float x) const {
    const std::uint8_t sign = std::signbit(x) ? 0x80 : 0;
    if (std::isnan(x)) return sign | 0x7F;
    const double a = std::fabs(static_cast<double>(x));
    if (a > max_) return sign | max_code_;
    // |a - v| is exact wherever two candidates could be close to a tie.
    std::uint8_t best = 0;
    double best_distance = std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < values_.size(); ++i) {
      const double d = std::fabs(a - values_[i]);
      if (d < best_distance || (d == best_distance && (codes_[i] & 1) == 0)) {
        best_distance = d;
        best = codes_[i];
      }
    }
    return sign | best;
  }

  const std::vector<double>& values() const { return values_; }
  double max() const { return max_; }

 private:
  std::vector<double> values_;
  std::vector<std::uint8_t> codes_;
  double max_ = 0;
  std::uint8_t max_code_ = 0;
};

float step(float x, int ulps) {
  for (; ulps > 0; --ulps) x = std::nextafter(x, std::numeric_limits<float>::infinity());
  for (; ulps < 0; ++ulps) x = std::nextafter(x, -std::numeric_limits<float>::infinity());
  return x;
}

// Every binary16 value, the neighbourhood of every rounding boundary and
// value, specials, and random floats (half of them in the format's range).
template <class F>
std::vector<float> encode_inputs(const ReferenceEncoder<F>& ref, std::size_t random_count) {
  std::vector<float> in;
  for (unsigned h = 0; h < 0x10000; ++h)
    in.push_back(static_cast<float>(Eigen::numext::bit_cast<Eigen::half>(static_cast<std::uint16_t>(h))));
  std::vector<double> points = ref.values();  // sorted ascending: codes 0..0x7F minus specials
  // The value after max finite were the format to go on: the midpoint to it
  // is where rounding without saturation would overflow.
  points.push_back(ref.max() + (ref.max() - points[points.size() - 2]));
  for (std::size_t i = 0; i + 1 < points.size(); ++i) {
    const float value = static_cast<float>(points[i]);
    const float midpoint = static_cast<float>((points[i] + points[i + 1]) / 2);  // exact
    for (int k = -4; k <= 4; ++k)
      for (float sign : {1.0f, -1.0f}) {
        in.push_back(sign * step(value, k));
        in.push_back(sign * step(midpoint, k));
      }
  }
  const float inf = std::numeric_limits<float>::infinity();
  for (float x : {0.0f, std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::min(),
                  std::numeric_limits<float>::max(), inf, 464.0f, 480.0f, 61440.0f, 65536.0f,
                  0x1p-10f, 0x1p-17f, 1e-30f, 1e30f})
    for (float sign : {1.0f, -1.0f}) in.push_back(sign * x);
  for (std::uint32_t b : {0x7FC00000u, 0xFFC00000u, 0x7F800001u, 0xFF800001u, 0x7FBFFFFFu,
                          0x7FFFFFFFu, 0xFFFFFFFFu, 0x00000001u, 0x807FFFFFu})
    in.push_back(float_of(b));
  std::mt19937 engine(20240607);
  std::uniform_int_distribution<std::uint32_t> any_bits;
  std::uniform_int_distribution<std::uint32_t> exponent(127 - 22, 127 + 18);  // 2^-22 .. 2^18
  for (std::size_t i = 0; i < random_count; ++i) {
    const std::uint32_t b = any_bits(engine);
    in.push_back(float_of(i % 2 ? b : (b & 0x807FFFFFu) | (exponent(engine) << 23)));
  }
  return in;
}

std::string hex(std::uint32_t v) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08X", v);
  return text;
}

template <class F>
class Fp8 : public ::testing::Test {};
using Formats = ::testing::Types<float8_e4m3fn, float8_e5m2>;
struct FormatNames {
  template <class F>
  static std::string GetName(int) {
    return F::format::kName;
  }
};
TYPED_TEST_SUITE(Fp8, Formats, FormatNames);

TYPED_TEST(Fp8, IsAOneByteTriviallyCopyableType) {
  using F = TypeParam;
  static_assert(sizeof(F) == 1 && alignof(F) == 1 && std::is_trivially_copyable_v<F>);
  static_assert(F::from_bits(0xA5).bits() == 0xA5);
  static_assert(is_fp8_v<F> && !is_fp8_v<float> && !is_fp8_v<Eigen::half>);
  EXPECT_EQ(F::max_finite(), (std::is_same_v<F, float8_e4m3fn> ? 448.0f : 57344.0f));
}

TYPED_TEST(Fp8, DecodesEveryCodeByTheDefinition) {
  using F = TypeParam;
  constexpr Spec s = spec<F>();
  int nans = 0, infinities = 0;
  for (unsigned code = 0; code < 256; ++code) {
    const float got = static_cast<float>(F::from_bits(static_cast<std::uint8_t>(code)));
    const double want = reference_value<F>(code);
    const std::uint32_t sign = (code & 0x80) ? 0x80000000u : 0u;
    if (std::isnan(want)) {
      ++nans;
      // Quiet NaN, the code's sign, its mantissa bits at the top of the payload.
      const std::uint32_t m = code & ((1u << s.mantissa_bits) - 1);
      EXPECT_EQ(bits_of(got), sign | 0x7FC00000u | (m << (23 - s.mantissa_bits))) << code;
      continue;
    }
    infinities += std::isinf(want);
    // Exact (every value is a float), zeros with their sign.
    EXPECT_EQ(bits_of(got), bits_of(static_cast<float>(want))) << "code " << code << " = " << want;
    EXPECT_EQ(static_cast<double>(static_cast<float>(want)), want);
  }
  EXPECT_EQ(nans, s.ieee_specials ? 6 : 2);
  EXPECT_EQ(infinities, s.ieee_specials ? 2 : 0);
  EXPECT_EQ(static_cast<float>(F::from_bits(s.ieee_specials ? 0x7B : 0x7E)), F::max_finite());
  EXPECT_EQ(static_cast<float>(F::from_bits(0x01)), std::ldexp(1.0f, 1 - s.bias - s.mantissa_bits));
}

TYPED_TEST(Fp8, EncodesAsTheNearestCodeTiesToEvenSaturating) {
  using F = TypeParam;
  const ReferenceEncoder<F> reference;
  const auto inputs = encode_inputs(reference, 2000000);
  int failures = 0;
  for (float x : inputs) {
    const std::uint8_t got = F(x).bits(), want = reference(x);
    if (got != want && ++failures <= 10)
      ADD_FAILURE() << "x = " << x << " (" << hex(bits_of(x)) << "): got " << int(got) << ", want "
                    << int(want);
  }
  EXPECT_EQ(failures, 0) << "of " << inputs.size() << " inputs";
}

TYPED_TEST(Fp8, SpecialValuesAsDocumented) {
  using F = TypeParam;
  const float inf = std::numeric_limits<float>::infinity(), max = F::max_finite();
  const std::uint8_t max_code = std::is_same_v<F, float8_e4m3fn> ? 0x7E : 0x7B;
  EXPECT_EQ(F(inf).bits(), max_code);  // saturates: no infinity is ever written
  EXPECT_EQ(F(-inf).bits(), 0x80 | max_code);
  EXPECT_EQ(F(std::nextafter(max, inf)).bits(), max_code);
  EXPECT_EQ(F(std::numeric_limits<float>::quiet_NaN()).bits(), 0x7F);
  EXPECT_EQ(F(-std::numeric_limits<float>::quiet_NaN()).bits(), 0xFF);
  EXPECT_EQ(F(-0.0f).bits(), 0x80);
  EXPECT_EQ(F(-std::numeric_limits<float>::denorm_min()).bits(), 0x80);
  // Re-encoding a decoded code gives the code back, except NaNs (the one NaN
  // code of each sign) and E5M2 infinities (saturated).
  for (unsigned code = 0; code < 256; ++code) {
    const F x = F::from_bits(static_cast<std::uint8_t>(code));
    const std::uint8_t again = F(static_cast<float>(x)).bits();
    const float value = static_cast<float>(x);
    const std::uint8_t sign = code & 0x80;
    if (std::isnan(value)) EXPECT_EQ(again, sign | 0x7F) << code;
    else if (std::isinf(value)) EXPECT_EQ(again, sign | max_code) << code;
    else EXPECT_EQ(again, code) << code;
  }
}

TYPED_TEST(Fp8, ScaleDividesOnWriteAndMultipliesOnRead) {
  using F = TypeParam;
  std::mt19937 engine(7);
  std::uniform_real_distribution<float> dist(-600.0f, 600.0f);
  for (float scale : {1.0f, 0.5f, 3.0f, 0.0123f, 2.5f / 448.0f}) {
    for (int i = 0; i < 20000; ++i) {
      const float x = dist(engine);
      ASSERT_EQ(quantize_fp8<F>(x, scale).bits(), F(x / scale).bits());
    }
    for (unsigned code = 0; code < 256; ++code) {
      const F c = F::from_bits(static_cast<std::uint8_t>(code));
      const float read = dequantize_fp8(c, scale), want = static_cast<float>(c) * scale;
      ASSERT_EQ(bits_of(read), bits_of(want));
    }
  }
  // The note in fp8.hpp: for scale = 2^k, x * 2^-k is the same float as x / scale.
  std::uniform_int_distribution<std::uint32_t> any_bits;
  for (int k : {-126, -20, -1, 1, 7, 126})
    for (int i = 0; i < 20000; ++i) {
      const float x = float_of(any_bits(engine));
      if (std::isnan(x)) continue;
      ASSERT_EQ(bits_of(x / std::ldexp(1.0f, k)), bits_of(x * std::ldexp(1.0f, -k))) << x << " k=" << k;
    }
}

// What fp8.hpp promises for the scale: the fp8 rounding of the float
// quotient, which near an fp8 midpoint is not always the nearest code to the
// exact quotient (the float quotient lands on the midpoint). Such cases must
// exist, and in each the stored code must be the float quotient's.
TYPED_TEST(Fp8, ScaleRoundsTheFloatQuotient) {
  using F = TypeParam;
  const ReferenceEncoder<F> reference;
  const std::vector<double>& values = reference.values();
  std::mt19937 engine(11);
  std::uniform_real_distribution<float> scales(0.01f, 100.0f);
  int double_roundings = 0;
  for (int trial = 0; trial < 200; ++trial) {
    const float scale = scales(engine);
    for (std::size_t i = 0; i + 1 < values.size(); ++i) {
      const double midpoint = (values[i] + values[i + 1]) / 2;
      const auto x = static_cast<float>(midpoint * scale);
      const float quotient = x / scale;
      const std::uint8_t stored = quantize_fp8<F>(x, scale).bits();
      ASSERT_EQ(stored, reference(quotient));
      // The exact quotient's side of the midpoint (double resolves it: the
      // distance is at least ~2^-30 relative when it is not zero).
      const double exact = static_cast<double>(x) / static_cast<double>(scale);
      if (static_cast<double>(quotient) == midpoint && exact != midpoint) {
        const auto nearest = static_cast<std::uint8_t>(exact > midpoint ? i + 1 : i);
        double_roundings += stored != nearest;
      }
    }
  }
  EXPECT_GT(double_roundings, 0);
}

// The vector paths this unit has and this CPU runs.
template <class F>
struct Path {
  const char* name;
  void (*quantize)(const float*, F*, std::int64_t, float);
  void (*dequantize)(const F*, float*, std::int64_t, float);
};

template <class F>
std::vector<Path<F>> simd_paths() {
  using Format = typename F::format;
  std::vector<Path<F>> paths;
#if ROPEKIT_COMPILE_AVX2
  if (cpu_supports(Isa::avx2))
    paths.push_back({"avx2", &tu::avx2::quantize_fp8_array<Format>,
                     &tu::avx2::dequantize_fp8_array<Format>});
#endif
#if ROPEKIT_COMPILE_AVX512
  if (cpu_supports(Isa::avx512))
    paths.push_back({"avx512", &tu::avx512::quantize_fp8_array<Format>,
                     &tu::avx512::dequantize_fp8_array<Format>});
#endif
#if ROPEKIT_COMPILE_NEON
  paths.push_back({"neon", &tu::neon::quantize_fp8_array<Format>, &tu::neon::dequantize_fp8_array<Format>});
#endif
  (void)sizeof(Format);
  return paths;
}

template <class F>
std::vector<F> scalar_quantized(const std::vector<float>& in, float scale) {
  std::vector<F> out;
  for (float x : in) out.push_back(quantize_fp8<F>(x, scale));
  return out;
}

// Every code in every lane position, twice.
template <class F>
std::vector<F> all_codes() {
  std::vector<F> codes;
  for (unsigned rotation : {0u, 5u})
    for (unsigned i = 0; i < 256; ++i) codes.push_back(F::from_bits(static_cast<std::uint8_t>(i + rotation)));
  return codes;
}

template <class F>
void expect_same_codes(const std::vector<F>& got, const std::vector<F>& want,
                       const std::vector<float>& in, const char* what) {
  int failures = 0;
  for (std::size_t i = 0; i < want.size(); ++i)
    if (got[i].bits() != want[i].bits() && ++failures <= 10)
      ADD_FAILURE() << what << ": x = " << in[i] << " (" << hex(bits_of(in[i])) << ") at " << i
                    << ": got " << int(got[i].bits()) << ", want " << int(want[i].bits());
  EXPECT_EQ(failures, 0);
}

template <class F>
void expect_same_floats(const std::vector<float>& got, const std::vector<F>& codes, float scale,
                        const char* what) {
  for (std::size_t i = 0; i < codes.size(); ++i)
    ASSERT_EQ(bits_of(got[i]), bits_of(dequantize_fp8(codes[i], scale)))
        << what << ": code " << int(codes[i].bits()) << " at " << i;
}

TYPED_TEST(Fp8, EverySimdPathMatchesScalarBitForBit) {
  using F = TypeParam;
  const ReferenceEncoder<F> reference;
  const auto inputs = encode_inputs(reference, 300000);
  const auto codes = all_codes<F>();
  // No path this unit compiles and the CPU runs may be left out (the
  // avx512_bf16 path's FP8 conversions are the avx512 path's fp8_ops).
  const auto usable = available_isas();
  ASSERT_EQ(simd_paths<F>().size() + 1,
            usable.size() - static_cast<std::size_t>(std::count(usable.begin(), usable.end(), Isa::avx512_bf16)));
  for (const Path<F>& path : simd_paths<F>()) {
    SCOPED_TRACE(path.name);
    for (float scale : {1.0f, 0.25f, 0.0123f, 2.5f / 448.0f}) {
      std::vector<F> got(inputs.size());
      path.quantize(inputs.data(), got.data(), static_cast<std::int64_t>(inputs.size()), scale);
      expect_same_codes(got, scalar_quantized<F>(inputs, scale), inputs, path.name);
      std::vector<float> floats(codes.size());
      path.dequantize(codes.data(), floats.data(), static_cast<std::int64_t>(codes.size()), scale);
      expect_same_floats(floats, codes, scale, path.name);
    }
  }
}

// Lengths 1..3 vectors + a few: full vectors and every partial length, each
// written between canaries, each read from the end of the data.
TYPED_TEST(Fp8, PartialVectorsTouchOnlyTheirBytes) {
  using F = TypeParam;
  constexpr std::uint8_t kCanary = 0xA5;
  constexpr std::size_t kPad = 32;
  const ReferenceEncoder<F> reference;
  const auto inputs = encode_inputs(reference, 0);
  const auto codes = all_codes<F>();
  for (const Path<F>& path : simd_paths<F>()) {
    SCOPED_TRACE(path.name);
    for (std::size_t n = 1; n <= 50; ++n) {
      SCOPED_TRACE("n=" + std::to_string(n));
      const std::size_t first = (n * 37) % (inputs.size() - n);
      const std::vector<float> in(inputs.begin() + first, inputs.begin() + first + n);
      std::vector<F> out(n + 2 * kPad, F::from_bits(kCanary));
      path.quantize(in.data(), out.data() + kPad, static_cast<std::int64_t>(n), 0.5f);
      const auto want = scalar_quantized<F>(in, 0.5f);
      for (std::size_t i = 0; i < out.size(); ++i) {
        const std::uint8_t expected = i < kPad || i >= kPad + n ? kCanary : want[i - kPad].bits();
        ASSERT_EQ(out[i].bits(), expected) << "byte " << i;
      }
      const std::vector<F> source(codes.begin() + static_cast<std::ptrdiff_t>(n),
                                  codes.begin() + static_cast<std::ptrdiff_t>(2 * n));
      std::vector<float> floats(n + 2 * kPad, -7.0f);
      path.dequantize(source.data(), floats.data() + kPad, static_cast<std::int64_t>(n), 3.0f);
      for (std::size_t i = 0; i < floats.size(); ++i) {
        if (i < kPad || i >= kPad + n) ASSERT_EQ(floats[i], -7.0f) << "float " << i;
        else ASSERT_EQ(bits_of(floats[i]), bits_of(dequantize_fp8(source[i - kPad], 3.0f)));
      }
    }
  }
}

#if defined(__linux__)
// Codes that end exactly at an inaccessible page: reading or writing one
// byte too many faults.
TYPED_TEST(Fp8, PartialVectorsStopAtAGuardPage) {
  using F = TypeParam;
  const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  void* mapping = mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(mapping, MAP_FAILED);
  auto* bytes = static_cast<unsigned char*>(mapping);
  ASSERT_EQ(mprotect(bytes + page, page, PROT_NONE), 0);
  auto* end = reinterpret_cast<F*>(bytes + page);
  for (const Path<F>& path : simd_paths<F>()) {
    SCOPED_TRACE(path.name);
    for (std::int64_t n = 1; n <= 40; ++n) {
      std::vector<float> in(static_cast<std::size_t>(n));
      for (std::int64_t i = 0; i < n; ++i) in[static_cast<std::size_t>(i)] = 0.75f * static_cast<float>(i - 9);
      path.quantize(in.data(), end - n, n, 1.0f);
      std::vector<float> back(static_cast<std::size_t>(n));
      path.dequantize(end - n, back.data(), n, 1.0f);
      for (std::int64_t i = 0; i < n; ++i)
        ASSERT_EQ(back[static_cast<std::size_t>(i)],
                  static_cast<float>(F(in[static_cast<std::size_t>(i)])));
    }
  }
  munmap(mapping, 2 * page);
}
#endif

#if defined(__x86_64__)
// Denormals-are-zero and flush-to-zero, as engines built with -ffast-math
// run: the vector conversions must still match the (integer) scalar ones.
TYPED_TEST(Fp8, SimdPathsIgnoreDazAndFtz) {
  using F = TypeParam;
  std::vector<float> in;
  for (float x = std::numeric_limits<float>::denorm_min(); x < 0x1p-5f;
       x = std::max(x * 1.37f, std::nextafter(x, 1.0f))) {
    in.push_back(x);
    in.push_back(-x);
  }
  for (float x = 0x1p-18f; x < 0x1p-5f; x = std::nextafter(x, 1.0f) * 1.001f) in.push_back(x);
  const auto want = scalar_quantized<F>(in, 1.0f);
  const auto codes = all_codes<F>();
  for (const Path<F>& path : simd_paths<F>()) {
    SCOPED_TRACE(path.name);
    std::vector<F> got(in.size());
    std::vector<float> floats(codes.size());
    volatile float tiny = std::numeric_limits<float>::denorm_min();
    const unsigned saved = _mm_getcsr();
    _mm_setcsr(saved | 0x8040u);  // FTZ | DAZ
    path.quantize(in.data(), got.data(), static_cast<std::int64_t>(in.size()), 1.0f);
    path.dequantize(codes.data(), floats.data(), static_cast<std::int64_t>(codes.size()), 1.0f);
    const float flushed = tiny * 2.0f;
    _mm_setcsr(saved);
    ASSERT_EQ(flushed, 0.0f) << "DAZ did not take effect";
    expect_same_codes(got, want, in, path.name);
    expect_same_floats(floats, codes, 1.0f, path.name);
  }
}
#endif

}  // namespace

#include <ropekit/detail/macros_end.inl>
