// SPDX-License-Identifier: Apache-2.0
// One case of the differential kernel fuzzer, read from fuzz bytes: storage
// type, layout, head geometry and memory placement, a policy of every
// AnyPolicy kind with parameters from wide ranges, and up to three calls
// (entry point, positions, and sometimes a deliberate mistake the library
// must reject before writing anything).
#ifndef ROPEKIT_TESTS_FUZZ_KERNEL_CASE_HPP
#define ROPEKIT_TESTS_FUZZ_KERNEL_CASE_HPP

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <ropekit/ropekit.hpp>

#include "fuzz_input.hpp"

namespace ropekit_fuzz {

enum class Storage { f32, bf16, f16, f64 };

/// How the heads of q and k sit in memory.
struct Placement {
  bool head_major = false;  // [heads, tokens, head_dim] per tensor
  bool fused = false;       // rows of [q heads | k heads | v heads]
  std::int64_t head_pad = 0, token_pad = 0;  // elements between heads / rows
  std::int64_t lead = 0, trail = 0;          // canaries before and after
};

enum class Op {
  apply,            // Rope::apply(q, k)
  apply_q,          // Rope::apply_q(q)
  apply_k,          // Rope::apply_k(k)
  inverse,          // Rope::apply_inverse(q, k)
  inverse_q,        // Rope::apply_inverse(q)
  rotate_table,     // rotate<L>(table, dims, q, k)
  rotate_inverse,   // rotate_inverse<L>(table, dims, q, k)
  cached,           // rotate<L>(CosSinCache, dims, q, k)
  parallel,         // parallel_apply(rope, q, k, threads = 2)
  count
};

/// Rows of the CosSinCache of a cached call: positions stay below this.
inline constexpr std::int64_t kCachedRows = 512;

/// A mistake planted in a call; the library must throw std::invalid_argument
/// on every path, before writing.
enum class Mistake { none, bad_id, range_overflow, count_mismatch, overlap, axes, count };

struct Call {
  Op op = Op::apply;
  Mistake mistake = Mistake::none;
  bool range = true;   // Positions::starting_at
  bool ids32 = false;  // else int64 ids
  std::int64_t start = 0;
  int axes = 1;
  std::int64_t axis_stride = 0;
  std::vector<std::int64_t> ids64;
  std::vector<std::int32_t> ids32_values;
  std::int64_t count = 0;  // ids given

  ropekit::Positions positions() const {
    if (range) return ropekit::Positions::starting_at(start);
    if (ids32) {
      if (axes == 1) return ropekit::Positions(ids32_values.data(), count);
      return ropekit::Positions::multi_axis(ids32_values.data(), axes, count, axis_stride);
    }
    if (axes == 1) return ropekit::Positions(ids64.data(), count);
    return ropekit::Positions::multi_axis(ids64.data(), axes, count, axis_stride);
  }
};

struct Case {
  Storage storage = Storage::f32;
  ropekit::Layout layout = ropekit::Layout::half_split;
  std::int64_t head_dim = 2, rotary_dim = 2, tokens = 1, q_heads = 1, k_heads = 1;
  Placement placement;
  int value_mode = 0;
  std::uint64_t value_seed = 0;
  std::optional<ropekit::AnyPolicy> policy;  // empty: the parameters were rejected
  std::int64_t trained_length = 4096;        // where length-dependent policies switch
  std::vector<Call> calls;
};

inline const char* storage_label(Storage s) {
  const char* names[] = {"f32", "bf16", "f16", "f64"};
  return names[static_cast<int>(s)];
}
inline const char* op_label(Op op) {
  const char* names[] = {"apply", "apply_q", "apply_k", "apply_inverse", "apply_inverse(q)",
                         "rotate(table)", "rotate_inverse(table)", "rotate(CosSinCache)",
                         "parallel_apply"};
  return names[static_cast<int>(op)];
}
inline const char* mistake_label(Mistake m) {
  const char* names[] = {"none", "bad_id", "range_overflow", "count_mismatch", "overlap", "axes"};
  return names[static_cast<int>(m)];
}

// --- parameters ---------------------------------------------------------------

// Any positive finite double, log-uniform: the library must reject what it
// cannot represent, not misbehave.
inline double fuzz_any_positive(FuzzInput& in) {
  return std::ldexp(1.0 + in.fraction(), static_cast<int>(in.integer(-1074, 1023)));
}

inline double fuzz_base(FuzzInput& in) {
  switch (in.pick(7)) {
    case 6: return fuzz_any_positive(in);
    case 0: return 10000.0;
    case 1: return 500000.0;
    case 2: return 1000000.0;
    case 3: return in.log_uniform(2.0, 1e9);
    case 4: return in.log_uniform(1.0001, 2.0);
    default: return in.log_uniform(1e-3, 1e15);  // far outside any model
  }
}

inline double fuzz_factor(FuzzInput& in) {
  switch (in.pick(7)) {
    case 6: return fuzz_any_positive(in);
    case 0: return 1.0;
    case 1: return 4.0;
    case 2: return 8.0;
    case 3: return 32.0;
    case 4: return in.log_uniform(1.0, 64.0);
    default: return in.log_uniform(1.0 / 64.0, 1e4);
  }
}

inline std::int64_t fuzz_length(FuzzInput& in) {
  switch (in.pick(5)) {
    case 0: return 4096;
    case 1: return 8192;
    case 2: return 32768;
    case 3: return in.integer(1, 64);
    default: return static_cast<std::int64_t>(in.log_uniform(1.0, 4194304.0));
  }
}

inline ropekit::scaling::Yarn::Params fuzz_yarn(FuzzInput& in) {
  ropekit::scaling::Yarn::Params p;
  p.factor = fuzz_factor(in);
  p.original_max_position_embeddings = fuzz_length(in);
  p.base = fuzz_base(in);
  if (in.flag()) {
    p.beta_slow = in.log_uniform(0.01, 64.0);
    p.beta_fast = p.beta_slow * in.log_uniform(1.0, 1024.0);
  }
  p.truncate = !in.flag();
  if (in.flag()) {
    p.mscale = in.fraction() * 2.0;
    p.mscale_all_dim = in.fraction() * 2.0;
  }
  if (in.pick(4) == 0) p.attention_factor = in.log_uniform(0.25, 4.0);
  return p;
}

// Sections that sum to `pairs`; for the interleaved layout also within what
// interleaving can give the h and w axes (every third pair).
inline ropekit::scaling::Mrope<>::sections_type fuzz_sections(FuzzInput& in, std::int64_t pairs,
                                                              bool interleaved) {
  const std::int64_t h = in.integer(0, interleaved ? (pairs + 1) / 3 : pairs);
  const std::int64_t w = in.integer(0, interleaved ? pairs / 3 : pairs - h);
  return {pairs - h - w, h, w};
}

inline ropekit::AnyPolicy fuzz_policy(FuzzInput& in, std::size_t kind, std::int64_t pairs,
                                      std::int64_t& trained) {
  namespace s = ropekit::scaling;
  switch (kind) {
    case 0: return s::Default(fuzz_base(in));
    case 1: {
      const double base = fuzz_base(in);
      return s::FixedBase(base, fuzz_base(in));
    }
    case 2: {
      const double factor = fuzz_factor(in);
      return s::Linear(factor, fuzz_base(in));
    }
    case 3: {
      const double factor = fuzz_factor(in);
      return s::NtkAware(factor, fuzz_base(in));
    }
    case 4: {
      const double factor = fuzz_factor(in);
      trained = fuzz_length(in);
      return s::DynamicNtk(factor, trained, fuzz_base(in));
    }
    case 5: {
      const auto p = fuzz_yarn(in);
      trained = p.original_max_position_embeddings;
      return s::Yarn(p);
    }
    case 6: {
      const double factor = fuzz_factor(in);
      const double low = in.log_uniform(0.25, 8.0);
      const double high = in.flag() ? low : low * in.log_uniform(1.0, 16.0);
      trained = fuzz_length(in);
      return s::Llama3(factor, low, high, trained, fuzz_base(in));
    }
    case 7: {
      s::LongRope::Params p;
      // Occasionally one entry too few or too many: rejected when built.
      const std::int64_t entries = pairs + (in.pick(16) == 0 ? (in.flag() ? 1 : -1) : 0);
      const std::uint64_t seed = in.seed();
      const double spread = in.log_uniform(1.0, 64.0);
      SplitMix values(seed);
      for (std::int64_t j = 0; j < entries; ++j) {
        p.short_factor.push_back(std::pow(spread, values.unit() - 0.25));
        p.long_factor.push_back(std::pow(spread, values.unit()));
      }
      p.original_max_position_embeddings = fuzz_length(in);
      p.max_position_embeddings = in.flag() ? p.original_max_position_embeddings * in.integer(1, 64) : 0;
      p.base = fuzz_base(in);
      if (in.flag() || p.max_position_embeddings == 0) p.factor = fuzz_factor(in);
      if (in.pick(4) == 0) p.attention_factor = in.log_uniform(0.25, 4.0);
      p.selection = static_cast<s::LongRope::Selection>(in.pick(3));
      trained = p.original_max_position_embeddings;
      return s::LongRope(std::move(p));
    }
    case 8: {
      const bool interleaved = in.flag();
      const auto sections = fuzz_sections(in, pairs, interleaved);
      return s::Mrope<>(sections, s::Default(fuzz_base(in)),
                        interleaved ? s::MropeLayout::interleaved : s::MropeLayout::sectioned);
    }
    default: {
      const bool interleaved = in.flag();
      const auto sections = fuzz_sections(in, pairs, interleaved);
      const auto p = fuzz_yarn(in);
      trained = p.original_max_position_embeddings;
      return s::Mrope<s::Yarn>(sections, s::Yarn(p),
                               interleaved ? s::MropeLayout::interleaved : s::MropeLayout::sectioned);
    }
  }
}

// --- positions ---------------------------------------------------------------

// A position id, biased towards the edges that matter: 0, the policy's
// trained length (where length-dependent policies switch tables), and
// max_position.
inline std::int64_t fuzz_id(FuzzInput& in, std::int64_t trained, std::int64_t cap) {
  std::int64_t id = 0;
  switch (in.pick(8)) {
    case 0: id = 0; break;
    case 1: id = in.integer(0, 64); break;
    case 2: id = trained - 1 + in.integer(-2, 2); break;
    case 3: id = ropekit::max_position - in.integer(0, 3); break;
    case 4: id = in.integer(0, 4095); break;
    default: id = in.integer(0, ropekit::max_position); break;
  }
  if (id < 0) id = 0;
  return id > cap ? id % (cap + 1) : id;
}

inline void fuzz_positions(FuzzInput& in, Call& call, std::int64_t tokens, std::int64_t trained,
                           bool multi_axis_policy) {
  // Cached calls need a small table of rows: keep their positions low.
  const std::int64_t cap = call.op == Op::cached ? kCachedRows - 1 : ropekit::max_position;
  call.range = in.pick(3) == 0;
  if (call.range) {
    const std::int64_t last_start = cap - (tokens > 0 ? tokens - 1 : 0);
    call.start = fuzz_id(in, trained, cap);
    if (call.start > last_start) call.start = last_start;
    return;
  }
  call.ids32 = in.flag();
  call.axes = multi_axis_policy && in.flag() ? 3 : 1;
  call.count = tokens;
  call.axis_stride = call.axes == 1 ? tokens : tokens + in.integer(0, 3);
  const std::int64_t n = call.axes == 1 ? tokens : 3 * call.axis_stride;
  // A few distinct ids, then repeats and spreads of them: engines batch
  // tokens of one sequence (close ids) and of many (far apart).
  for (std::int64_t i = 0; i < n; ++i) {
    std::int64_t id = fuzz_id(in, trained, cap);
    if (i > 0 && in.flag()) {
      id = call.ids64[static_cast<std::size_t>(i - 1)] + in.integer(-1, 2);
      id = id < 0 ? 0 : (id > cap ? cap : id);
    }
    call.ids64.push_back(id);
  }
}

inline void plant_mistake(FuzzInput& in, Call& call, std::int64_t tokens) {
  if (in.pick(12) != 0) return;
  call.mistake = static_cast<Mistake>(1 + in.pick(static_cast<std::size_t>(Mistake::count) - 1));
  switch (call.mistake) {
    case Mistake::bad_id: {
      if (call.range || tokens == 0) {
        call.mistake = Mistake::none;
        return;
      }
      // An id the call reads: token t of axis a (padding between axes is not read).
      const std::int64_t bad[] = {-1, ropekit::max_position + 1, std::int64_t{1} << 62};
      const std::int64_t at = in.integer(0, call.axes - 1) * call.axis_stride + in.integer(0, tokens - 1);
      call.ids64[static_cast<std::size_t>(at)] = bad[call.ids32 ? 0 : in.pick(3)];
      return;
    }
    case Mistake::range_overflow:
      call.range = true;
      call.start = ropekit::max_position - (tokens > 0 ? tokens - 1 : 0) + in.integer(1, 3);
      return;
    case Mistake::count_mismatch:
      if (call.range) call.ids64.assign(static_cast<std::size_t>(tokens), 0);
      call.range = false;
      call.axes = 1;
      call.count = tokens + 1;
      call.axis_stride = call.count;
      call.ids64.resize(static_cast<std::size_t>(call.count), 1);
      return;
    case Mistake::axes:
      // Two axes fit no table (1 for plain policies, 3 for M-RoPE).
      call.range = false;
      call.axes = 2;
      call.count = tokens;
      call.axis_stride = tokens;
      call.ids64.assign(static_cast<std::size_t>(2 * tokens), 7);
      return;
    default:
      return;  // overlap: k is made to alias q when the views are built
  }
}

inline Case read_case(FuzzInput& in) {
  Case c;
  c.storage = static_cast<Storage>(in.pick(4));
  c.layout = in.flag() ? ropekit::Layout::interleaved : ropekit::Layout::half_split;
  const std::size_t kind = in.pick(std::variant_size_v<ropekit::AnyPolicy>);
  // Pairs: small widths hit every vector tail; past 256 pairs the kernels
  // work in blocks.
  const std::int64_t pairs = in.pick(8) == 0 ? in.integer(1, 300) : in.integer(1, 72);
  c.rotary_dim = 2 * pairs;
  c.head_dim = c.rotary_dim + (in.flag() ? 0 : in.integer(1, 9));
  c.tokens = in.integer(0, 9);
  c.q_heads = in.integer(0, 6);
  c.k_heads = in.integer(0, 4);
  Placement& p = c.placement;
  switch (in.pick(3)) {
    case 1: p.head_major = true; break;
    case 2: p.fused = true; break;
    default: break;
  }
  p.head_pad = in.flag() ? 0 : in.integer(1, 5);
  p.token_pad = in.flag() ? 0 : in.integer(1, 9);
  p.lead = in.integer(0, 3);
  p.trail = in.integer(0, 3);
  c.value_mode = static_cast<int>(in.pick(4));
  c.value_seed = in.seed();
  try {
    c.policy = fuzz_policy(in, kind, pairs, c.trained_length);
  } catch (const std::invalid_argument&) {
    c.policy.reset();  // parameters the library rejects: nothing to compare
  }
  const bool multi_axis = kind >= 8;
  const std::int64_t calls = in.integer(1, 3);
  for (std::int64_t i = 0; i < calls; ++i) {
    Call call;
    call.op = static_cast<Op>(in.pick(static_cast<std::size_t>(Op::count)));
    fuzz_positions(in, call, c.tokens, c.trained_length, multi_axis);
    plant_mistake(in, call, c.tokens);
    c.calls.push_back(std::move(call));
  }
  // int32 ids hold what the int64 ids say (each is in [0, 2^31-1] or -1).
  for (Call& call : c.calls)
    for (std::int64_t id : call.ids64) call.ids32_values.push_back(static_cast<std::int32_t>(id));
  return c;
}

}  // namespace ropekit_fuzz

#endif  // ROPEKIT_TESTS_FUZZ_KERNEL_CASE_HPP
