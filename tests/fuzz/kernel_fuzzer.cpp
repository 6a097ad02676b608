// SPDX-License-Identifier: Apache-2.0
// Differential kernel fuzzer: every kernel path compiled in and supported by
// this CPU against the scalar kernel, on cases read from the fuzz bytes
// (kernel_case.hpp). For each call of a case, on every path:
// * the same calls throw std::invalid_argument (a planted mistake always
//   does), and a call that throws leaves every byte as it was;
// * the rotary channels of every rotated head are finite and within
//   simd_bounds.hpp's bound of the scalar result (double: equal bits), and
//   half/bfloat16 results equal the same path's float results rounded once;
// * every other byte (the non-rotary tail of each head, padding between
//   heads and rows, v heads, canaries around the views, tensors the call
//   does not rotate) is unchanged, bit for bit.
// A failure prints the case and aborts, which libFuzzer reports as a crash.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <ropekit/ropekit.hpp>

#include "../simd_bounds.hpp"
#include "fuzz_input.hpp"
#include "kernel_case.hpp"

namespace ropekit_fuzz {
namespace {

using namespace ropekit;
using ropekit_test::ScopedIsa;

// The harness's own loops stay out of libFuzzer's coverage feedback.
#if defined(__clang__)
#define ROPEKIT_FUZZ_NO_COVERAGE __attribute__((no_sanitize("coverage")))
#else
#define ROPEKIT_FUZZ_NO_COVERAGE
#endif

const std::vector<Isa>& paths() {
  static const std::vector<Isa> isas = available_isas();  // scalar first
  return isas;
}

// Where one view lives: buffer 0 or 1, first element, strides.
struct ViewSpec {
  int buffer = 0;
  std::int64_t offset = 0, heads = 0, token_stride = 0, head_stride = 0;
};

struct Memory {
  std::int64_t sizes[2] = {0, 0};
  ViewSpec q, k;
};

std::int64_t extent(const Case& c, const ViewSpec& v) {
  if (c.tokens == 0 || v.heads == 0) return 0;
  return (c.tokens - 1) * v.token_stride + (v.heads - 1) * v.head_stride + c.head_dim;
}

Memory plan(const Case& c) {
  const Placement& p = c.placement;
  Memory m;
  const std::int64_t hs = c.head_dim + p.head_pad;
  if (p.fused) {
    // One row per token: q heads, k heads, then as many v heads as k heads.
    const std::int64_t heads = c.q_heads + 2 * c.k_heads;
    const std::int64_t row = heads * hs + p.token_pad;
    m.q = {0, p.lead, c.q_heads, row, hs};
    m.k = {0, p.lead + c.q_heads * hs, c.k_heads, row, hs};
    m.sizes[0] = p.lead + (c.tokens > 0 && heads > 0 ? (c.tokens - 1) * row + heads * hs : 0) + p.trail;
    return m;
  }
  for (int i = 0; i < 2; ++i) {
    ViewSpec& v = i == 0 ? m.q : m.k;
    v.buffer = i;
    v.offset = p.lead;
    v.heads = i == 0 ? c.q_heads : c.k_heads;
    if (p.head_major) {
      v.token_stride = hs;
      v.head_stride = c.tokens * hs + p.token_pad;
    } else {
      v.head_stride = hs;
      v.token_stride = v.heads * hs + p.token_pad;
    }
    m.sizes[i] = p.lead + extent(c, v) + p.trail;
  }
  return m;
}

template <class T>
HeadView<T> view_of(const Case& c, const ViewSpec& v, std::vector<T> (&buffers)[2]) {
  // An empty view may start anywhere; keep its pointer inside the buffer.
  std::vector<T>& buffer = buffers[v.buffer];
  const auto offset = std::min(static_cast<std::size_t>(v.offset), buffer.size());
  return HeadView<T>(buffer.data() + offset, c.tokens, v.heads, c.head_dim, v.token_stride,
                     v.head_stride);
}

// Canaries alternate a signalling NaN (any arithmetic on it changes its
// bits) and an ordinary number (a stray rotation changes it).
template <class T>
T canary(std::size_t i) {
  if (i % 2 == 1) return T(-7.25f);
  T value;
  if constexpr (sizeof(T) == 2) {
    const std::uint16_t bits = std::is_same_v<T, Eigen::half> ? 0x7d5a : 0x7fa5;
    std::memcpy(static_cast<void*>(&value), &bits, 2);  // half and bfloat16 are classes
  } else if constexpr (sizeof(T) == 4) {
    const std::uint32_t bits = 0x7fa5a5a5u;
    std::memcpy(&value, &bits, 4);
  } else {
    const std::uint64_t bits = 0x7ff4a5a5a5a5a5a5ull;
    std::memcpy(&value, &bits, 8);
  }
  return value;
}

template <class T>
T value(int mode, SplitMix& rng) {
  double v = 0.0;
  switch (mode) {
    case 1: {
      // Every binade the type holds without overflowing once rotated and
      // scaled (half: subnormals up to 2^11).
      const int lo = std::is_same_v<T, Eigen::half> ? -24 : (std::is_same_v<T, double> ? -200 : -60);
      const int hi = std::is_same_v<T, Eigen::half> ? 11 : (std::is_same_v<T, double> ? 200 : 40);
      v = (1.0 + rng.unit()) * std::ldexp(1.0, static_cast<int>(rng.integer(lo, hi)));
      if (rng.next() & 1) v = -v;
      break;
    }
    case 2:
      v = rng.integer(0, 3) == 0 ? (rng.next() & 1 ? -0.0 : 0.0) : 4.0 * rng.unit() - 2.0;
      break;
    case 3: v = static_cast<double>(rng.integer(-4, 4)); break;
    default: v = 4.0 * rng.unit() - 2.0; break;
  }
  if constexpr (std::is_same_v<T, double>) return v;
  else return T(static_cast<float>(v));
}

template <class T>
double as_double(T x) {
  return static_cast<double>(static_cast<widened_t<T>>(x));
}

// partner[i]: the other element of i's rotary pair when a call rotates i, else -1.
using Partners = std::vector<std::int64_t>;

void mark_pairs(const Case& c, const ViewSpec& v, Partners& partner) {
  const std::int64_t half = c.rotary_dim / 2;
  for (std::int64_t t = 0; t < c.tokens; ++t)
    for (std::int64_t h = 0; h < v.heads; ++h) {
      const std::int64_t head = v.offset + t * v.token_stride + h * v.head_stride;
      for (std::int64_t j = 0; j < half; ++j) {
        const bool split = c.layout == Layout::half_split;
        const std::int64_t a = head + (split ? j : 2 * j);
        const std::int64_t b = head + (split ? j + half : 2 * j + 1);
        partner[static_cast<std::size_t>(a)] = b;
        partner[static_cast<std::size_t>(b)] = a;
      }
    }
}

bool rotates_q(Op op) { return op != Op::apply_k; }
bool rotates_k(Op op) { return op != Op::apply_q && op != Op::inverse_q; }
bool is_inverse(Op op) {
  return op == Op::inverse || op == Op::inverse_q || op == Op::rotate_inverse;
}

std::string describe(const Case& c, const AnyRope& rope, std::size_t call_index) {
  const Placement& p = c.placement;
  std::string s = std::string("storage=") + storage_label(c.storage) +
                  " layout=" + layout_name(c.layout) + " policy=" + rope.policy_name() +
                  " head_dim=" + std::to_string(c.head_dim) +
                  " rotary_dim=" + std::to_string(c.rotary_dim) +
                  " tokens=" + std::to_string(c.tokens) + " q_heads=" + std::to_string(c.q_heads) +
                  " k_heads=" + std::to_string(c.k_heads) +
                  (p.fused ? " fused" : (p.head_major ? " head_major" : " token_major")) +
                  " head_pad=" + std::to_string(p.head_pad) + " token_pad=" +
                  std::to_string(p.token_pad) + " lead=" + std::to_string(p.lead) +
                  " trail=" + std::to_string(p.trail) + " values=" + std::to_string(c.value_mode);
  double largest_inv_freq = 0.0;
  for (double w : rope.inv_freq()) largest_inv_freq = std::fmax(largest_inv_freq, w);
  char table[96];
  std::snprintf(table, sizeof table, "\n  table: largest inv_freq %.17g, attention factor %.17g",
                largest_inv_freq, rope.attention_factor());
  s += table;
  for (std::size_t i = 0; i <= call_index && i < c.calls.size(); ++i) {
    const Call& call = c.calls[i];
    s += "\n  call " + std::to_string(i) + ": " + op_label(call.op) +
         " mistake=" + mistake_label(call.mistake);
    if (call.range) {
      s += " positions start " + std::to_string(call.start);
    } else {
      s += std::string(" ids") + (call.ids32 ? "32" : "64") + " axes=" +
           std::to_string(call.axes) + " [";
      for (std::size_t j = 0; j < call.ids64.size() && j < 12; ++j)
        s += (j ? " " : "") + std::to_string(call.ids64[j]);
      s += call.ids64.size() > 12 ? " ...]" : "]";
    }
  }
  return s;
}

[[noreturn]] void report(const Case& c, const AnyRope& rope, std::size_t call, const std::string& what) {
  std::fprintf(stderr, "ropekit kernel fuzzer: %s\n  case: %s\n", what.c_str(),
               describe(c, rope, call).c_str());
  std::abort();
}

// Runs one call on `isa`; true if it threw std::invalid_argument. Any
// other exception escapes and is reported by libFuzzer.
template <class T>
bool run_call(AnyRope& rope, const Case& c, const Call& call, const Memory& m,
              std::vector<T> (&buffers)[2], Isa isa) {
  ScopedIsa forced(isa);
  try {
    const HeadView<T> q = view_of(c, m.q, buffers);
    const HeadView<T> k = view_of(c, call.mistake == Mistake::overlap ? m.q : m.k, buffers);
    const Positions positions = call.positions();
    switch (call.op) {
      case Op::apply: rope.apply(q, k, positions); break;
      case Op::apply_q: rope.apply_q(q, positions); break;
      case Op::apply_k: rope.apply_k(k, positions); break;
      case Op::inverse: rope.apply_inverse(q, k, positions); break;
      case Op::inverse_q: rope.apply_inverse(q, positions); break;
      case Op::rotate_table:
      case Op::rotate_inverse:
        rope.visit([&](auto& r) {
          constexpr Layout L = std::decay_t<decltype(r)>::layout;
          if (call.op == Op::rotate_table) rotate<L>(r.table(), r.dims(), q, k, positions);
          else rotate_inverse<L>(r.table(), r.dims(), q, k, positions);
        });
        break;
      case Op::cached:
        if constexpr (std::is_same_v<T, double>) {
          rope.apply(q, k, positions);  // CosSinCache holds float cos/sin
        } else {
          std::int64_t largest = call.range ? call.start + c.tokens - 1 : 0;
          for (std::int64_t id : call.ids64) largest = id > largest ? id : largest;
          const std::int64_t rows = largest < 0 ? 1 : (largest >= kCachedRows ? kCachedRows : largest + 1);
          rope.visit([&](auto& r) {
            constexpr Layout L = std::decay_t<decltype(r)>::layout;
            const CosSinCache cache(r.table(), rows);
            if (cache.isa() != isa) std::abort();  // the cache must hold this path's values
            rotate<L>(cache, r.dims(), q, k, positions);
          });
        }
        break;
      default:
        rope.visit([&](auto& r) { parallel_apply(r, q, k, positions, 2); });
        break;
    }
  } catch (const std::invalid_argument&) {
    return true;
  }
  return false;
}

template <class T>
ROPEKIT_FUZZ_NO_COVERAGE void make_input(const Case& c, const Memory& m, std::vector<T> (&input)[2]) {
  SplitMix rng(c.value_seed);
  for (int b = 0; b < 2; ++b) {
    input[b].resize(static_cast<std::size_t>(m.sizes[b]));
    for (std::size_t i = 0; i < input[b].size(); ++i) input[b][i] = canary<T>(i);
  }
  // Heads (the rotary channels and the tail) get values; v heads of a fused
  // buffer and all padding keep their canaries.
  for (const ViewSpec* v : {&m.q, &m.k})
    for (std::int64_t t = 0; t < c.tokens; ++t)
      for (std::int64_t h = 0; h < v->heads; ++h)
        for (std::int64_t i = 0; i < c.head_dim; ++i)
          input[v->buffer][static_cast<std::size_t>(v->offset + t * v->token_stride +
                                                    h * v->head_stride + i)] =
              value<T>(c.value_mode, rng);
}

template <class T>
ROPEKIT_FUZZ_NO_COVERAGE void widen(const std::vector<T> (&input)[2], std::vector<float> (&out)[2]) {
  for (int b = 0; b < 2; ++b) out[b].assign(input[b].begin(), input[b].end());
}

// One call's outcome on every path (index 0: scalar).
template <class T>
struct Results {
  std::vector<bool> threw;
  std::vector<std::vector<T>> out[2];
  std::vector<std::vector<float>> wide_out[2];  // 16-bit storage: the float twin's
};

// Compares every path's outcome of call `ci` with the scalar one (see the
// file comment). The checks are left out of coverage feedback: only the
// library's branches should steer the fuzzer.
template <class T>
ROPEKIT_FUZZ_NO_COVERAGE void check_call(const Case& c, const Memory& m, std::size_t ci,
                                         const std::vector<T> (&input)[2], const Results<T>& r,
                                         const AnyRope& rope) {
  const Call& call = c.calls[ci];
  const bool views_empty = c.tokens == 0 || c.q_heads == 0;
  const bool two_views = call.op != Op::apply_q && call.op != Op::apply_k && call.op != Op::inverse_q;
  const bool must_throw = call.mistake != Mistake::none &&
                          !(call.mistake == Mistake::overlap && (!two_views || views_empty));
  if (must_throw && !r.threw[0]) report(c, rope, ci, "a planted mistake was not rejected");

  Partners partner[2];
  for (int b = 0; b < 2; ++b) partner[b].assign(input[b].size(), -1);
  if (!r.threw[0]) {
    if (rotates_q(call.op)) mark_pairs(c, m.q, partner[m.q.buffer]);
    if (rotates_k(call.op)) {
      const ViewSpec& k = call.mistake == Mistake::overlap ? m.q : m.k;
      mark_pairs(c, k, partner[k.buffer]);
    }
  }
  const double factor = rope.attention_factor();
  const double scale = is_inverse(call.op) ? 1.0 / factor : factor;
  for (std::size_t p = 0; p < r.threw.size(); ++p) {
    const char* isa = isa_name(paths()[p]);
    if (r.threw[p] != r.threw[0])
      report(c, rope, ci, std::string(isa) + (r.threw[p] ? " threw" : " did not throw") +
                              ", scalar " + (r.threw[0] ? "did" : "did not"));
    for (int b = 0; b < 2; ++b)
      for (std::size_t i = 0; i < input[b].size(); ++i) {
        const T x = r.out[b][p][i];
        const std::int64_t j = partner[b][i];
        const auto where = [&] {
          return std::string(isa) + " buffer " + std::to_string(b) + " element " + std::to_string(i);
        };
        if (j < 0) {
          if (std::memcmp(&x, &input[b][i], sizeof(T)) != 0)
            report(c, rope, ci, where() + ": an element outside the rotated channels changed");
          continue;
        }
        const double got = as_double(x);
        const double in_magnitude = std::fabs(as_double(input[b][i])) +
                                    std::fabs(as_double(input[b][static_cast<std::size_t>(j)]));
        // Values near the top of T's range may overflow once rotated and
        // scaled; the caller chose them, the library cannot help it.
        if (scale * in_magnitude > 0.5 * static_cast<double>(std::numeric_limits<T>::max())) continue;
        if (!std::isfinite(got))
          report(c, rope, ci, where() + ": not finite (" + std::to_string(got) + ")");
        if constexpr (sizeof(T) == 2) {
          const T rounded(r.wide_out[b][p][i]);
          if (std::memcmp(&rounded, &x, sizeof(T)) != 0)
            report(c, rope, ci, where() + ": not the same path's float result rounded once");
        }
        if (p == 0) continue;
        const T ref = r.out[b][0][i];
        if constexpr (std::is_same_v<T, double>) {
          if (std::memcmp(&x, &ref, sizeof(T)) != 0)
            report(c, rope, ci, where() + ": double storage differs from the scalar path");
        } else {
          const double bound = ropekit_test::simd_pair_bound<T>(scale, in_magnitude);
          if (!(std::fabs(got - as_double(ref)) <= bound)) {
            char numbers[160];
            std::snprintf(numbers, sizeof numbers, ": %.9g, scalar %.9g, bound %.3g (|a|+|b| %.9g)",
                          got, as_double(ref), bound, in_magnitude);
            report(c, rope, ci, where() + numbers);
          }
        }
      }
  }
}

template <class T>
void run_case(const Case& c) {
  const Memory m = plan(c);
  std::vector<T> input[2];
  make_input(c, m, input);
  const RotaryDims dims(c.head_dim, c.rotary_dim);
  constexpr bool k16 = sizeof(T) == 2;
  // Per path a fresh object (length-dependent policies carry state from
  // call to call), and for 16-bit storage a float twin.
  std::vector<AnyRope> ropes, wide;
  try {
    for (std::size_t p = 0; p < paths().size(); ++p) {
      ropes.emplace_back(dims, c.layout, *c.policy);
      if (k16) wide.emplace_back(dims, c.layout, *c.policy);
    }
  } catch (const std::invalid_argument&) {
    return;  // e.g. M-RoPE sections or LongRoPE lists that do not fit the dims
  }
  for (std::size_t ci = 0; ci < c.calls.size(); ++ci) {
    const Call& call = c.calls[ci];
    Results<T> r;
    for (std::size_t p = 0; p < paths().size(); ++p) {
      std::vector<T> buffers[2] = {input[0], input[1]};
      r.threw.push_back(run_call(ropes[p], c, call, m, buffers, paths()[p]));
      for (int b = 0; b < 2; ++b) r.out[b].push_back(std::move(buffers[b]));
      if constexpr (k16) {
        std::vector<float> widened[2];
        widen(input, widened);
        if (run_call(wide[p], c, call, m, widened, paths()[p]) != r.threw[p])
          report(c, ropes[0], ci, std::string("float and 16-bit calls disagree on throwing on ") +
                                      isa_name(paths()[p]));
        for (int b = 0; b < 2; ++b) r.wide_out[b].push_back(std::move(widened[b]));
      }
    }
    check_call(c, m, ci, input, r, ropes[0]);
  }
}

}  // namespace
}  // namespace ropekit_fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ropekit_fuzz;
  FuzzInput in(data, size);
  const Case c = read_case(in);
  if (!c.policy) return 0;
  switch (c.storage) {
    case Storage::f32: run_case<float>(c); break;
    case Storage::bf16: run_case<Eigen::bfloat16>(c); break;
    case Storage::f16: run_case<Eigen::half>(c); break;
    default: run_case<double>(c); break;
  }
  return 0;
}
