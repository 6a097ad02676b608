// SPDX-License-Identifier: Apache-2.0
// One row per invalid call across the public API. Each row must throw
// std::invalid_argument whose message starts with "ropekit: " and contains
// the row's needles (the parameter the caller set, usually with its value),
// and must leave every buffer a call could write byte for byte unchanged:
// the rows rotate views into canary-padded buffers, and the whole of each
// buffer is compared after the call.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#ifdef ROPEKIT_BAD_INPUT_JSON
#include <ropekit/hf_config.hpp>
#endif
#include <ropekit/scaling_law.hpp>

#include "bad_call.hpp"
#include "test_util.hpp"

namespace {

using namespace ropekit;
using namespace ropekit_test;
namespace s = ropekit::scaling;

constexpr std::int64_t kMax64 = std::numeric_limits<std::int64_t>::max();

// Buffers a row may hand to a call: q and k heads (4 tokens, 2 and 1 heads
// of 16) between canaries, in float and bfloat16.
struct Canvas {
  static constexpr std::int64_t kTokens = 4, kQHeads = 2, kKHeads = 1, kDim = 16, kPad = 8;
  std::vector<float> q = filled<float>(kQHeads, 1), k = filled<float>(kKHeads, 2);
  std::vector<Eigen::bfloat16> q16 = filled<Eigen::bfloat16>(kQHeads, 3);

  template <class T>
  static std::vector<T> filled(std::int64_t heads, unsigned seed) {
    std::vector<T> buffer = random_values<T>(
        static_cast<std::size_t>(kTokens * heads * kDim + 2 * kPad), seed);
    for (std::int64_t i = 0; i < kPad; ++i) {
      buffer[static_cast<std::size_t>(i)] = T(-1234.5f);
      buffer[buffer.size() - 1 - static_cast<std::size_t>(i)] = T(-1234.5f);
    }
    return buffer;
  }

  HeadView<float> qv() { return token_major_view(q.data() + kPad, kTokens, kQHeads, kDim); }
  HeadView<float> kv() { return token_major_view(k.data() + kPad, kTokens, kKHeads, kDim); }
  HeadView<Eigen::bfloat16> q16v() {
    return token_major_view(q16.data() + kPad, kTokens, kQHeads, kDim);
  }

  bool same(const Canvas& other) const {
    return bytes_equal(q, other.q) && bytes_equal(k, other.k) && bytes_equal(q16, other.q16);
  }
};

using BadCall = ropekit_test::BadCall<Canvas>;

// A path this binary cannot run (neon on x86, an x86 path elsewhere).
Isa unavailable_isa() {
  const auto usable = available_isas();
  for (Isa isa : {Isa::neon, Isa::avx512_bf16, Isa::avx512, Isa::avx2})
    if (std::find(usable.begin(), usable.end(), isa) == usable.end()) return isa;
  return Isa::scalar;  // every path runs here: the row then fails, visibly
}

s::Yarn::Params yarn_params() {
  s::Yarn::Params p;
  p.factor = 4.0;
  p.original_max_position_embeddings = 4096;
  return p;
}

s::LongRope::Params longrope_params(std::int64_t pairs = 8) {
  s::LongRope::Params p;
  p.short_factor.assign(static_cast<std::size_t>(pairs), 1.0);
  p.long_factor.assign(static_cast<std::size_t>(pairs), 2.0);
  p.original_max_position_embeddings = 4096;
  p.max_position_embeddings = 131072;
  return p;
}

Frequencies table_input(std::vector<long double> inv_freq) {
  Frequencies f;
  f.inv_freq = std::move(inv_freq);
  return f;
}

const RotaryDims kDims(Canvas::kDim);  // 8 pairs

// Every row: a distinct invalid call.
std::vector<BadCall> policy_rows() {
  return {
      {"default_base_zero", {"base = 0"}, [](Canvas&) { s::Default(0.0); }},
      {"default_base_nan", {"base = nan"}, [](Canvas&) { (void)s::Default(kNaN); }},
      {"default_base_subnormal", {"base = 4.9406564584124654e-324", "inv_freq[1]"},
       [](Canvas&) { Rope<s::Default>(RotaryDims(512), s::Default(5e-324)); }},
      {"default_base_tiny", {"base = 1e-10", "inv_freq[4]"},
       [](Canvas&) { Rope<s::Default>(RotaryDims(128), s::Default(1e-10)); }},
      {"fixed_base_pretrained_negative", {"pretrained_base = -1"},
       [](Canvas&) { s::FixedBase(1e6, -1.0); }},
      {"fixed_base_tiny", {"base = 0.01"},
       [](Canvas&) { Rope<s::FixedBase>(kDims, s::FixedBase(0.01)); }},
      {"linear_factor_inf", {"factor = inf"}, [](Canvas&) { (void)s::Linear(kInf); }},
      {"linear_factor_tiny", {"factor = 1e-300", "inv_freq[0]"},
       [](Canvas&) { Rope<s::Linear>(kDims, s::Linear(1e-300)); }},
      {"linear_factor_just_past_pi", {"factor = 0.29999999999999999", "inv_freq[0] = 3.33"},
       [](Canvas&) { Rope<s::Linear>(kDims, s::Linear(0.3)); }},
      {"linear_base_tiny", {"base = 1e-10"},
       [](Canvas&) { Rope<s::Linear>(kDims, s::Linear(2.0, 1e-10)); }},
      {"ntk_factor_zero", {"factor = 0"}, [](Canvas&) { s::NtkAware(0.0); }},
      {"ntk_rotary_dim_two", {"rotary_dim = 2"},
       [](Canvas&) { Rope<s::NtkAware>(RotaryDims(2), s::NtkAware(4.0)); }},
      {"ntk_factor_tiny", {"factor = 1.0000000000000001e-30"},
       [](Canvas&) { Rope<s::NtkAware>(kDims, s::NtkAware(1e-30)); }},
      {"dynamic_max_position_zero", {"max_position_embeddings = 0"},
       [](Canvas&) { s::DynamicNtk(2.0, 0); }},
      {"dynamic_base_negative", {"base = -5"}, [](Canvas&) { s::DynamicNtk(2.0, 64, -5.0); }},
      {"dynamic_base_tiny", {"base = 9.9999999999999995e-21"},
       [](Canvas&) { Rope<s::DynamicNtk>(kDims, s::DynamicNtk(2.0, 64, 1e-20)); }},
      {"yarn_base_one", {"base = 1"}, [](Canvas&) { s::Yarn(4.0, 4096, 1.0); }},
      {"yarn_factor_negative", {"factor = -4"}, [](Canvas&) { s::Yarn(-4.0, 4096); }},
      {"yarn_original_zero", {"original_max_position_embeddings = 0"},
       [](Canvas&) { s::Yarn(4.0, 0); }},
      {"yarn_beta_fast_below_slow", {"beta_fast = 0.5"},
       [](Canvas&) {
         auto p = yarn_params();
         p.beta_fast = 0.5;
         s::Yarn{p};
       }},
      {"yarn_beta_slow_zero", {"beta_slow = 0"},
       [](Canvas&) {
         auto p = yarn_params();
         p.beta_slow = 0.0;
         s::Yarn{p};
       }},
      {"yarn_mscale_negative", {"mscale = -1"},
       [](Canvas&) {
         auto p = yarn_params();
         p.mscale = -1.0;
         s::Yarn{p};
       }},
      {"yarn_attention_factor_huge", {"attention_factor = 1.0000000000000001e+300", "[0.001, 1000]"},
       [](Canvas&) {
         auto p = yarn_params();
         p.attention_factor = 1e300;
         s::Yarn{p};
       }},
      {"yarn_attention_factor_tiny", {"attention_factor = 1e-300"},
       [](Canvas&) {
         auto p = yarn_params();
         p.attention_factor = 1e-300;
         s::Yarn{p};
       }},
      {"yarn_mscale_huge", {"mscale = 1.0000000000000001e+300"},
       [](Canvas&) {
         auto p = yarn_params();
         p.mscale = 1e300;
         p.mscale_all_dim = 1.0;
         s::Yarn{p};
       }},
      {"yarn_mscale_all_dim_huge", {"mscale_all_dim = 1e+20"},
       [](Canvas&) {
         auto p = yarn_params();
         p.mscale = 1.0;
         p.mscale_all_dim = 1e20;
         s::Yarn{p};
       }},
      {"yarn_factor_tiny", {"factor = 1e-300"},
       [](Canvas&) { Rope<s::Yarn>(RotaryDims(128), s::Yarn(1e-300, 4096)); }},
      {"yarn_empty_correction_range", {"original_max_position_embeddings = 2"},
       [](Canvas&) { Rope<s::Yarn>(RotaryDims(128), s::Yarn(4.0, 2)); }},
      {"llama3_high_below_low", {"high_freq_factor = 0.5"},
       [](Canvas&) { s::Llama3(8.0, 1.0, 0.5, 8192, 5e5); }},
      {"llama3_low_zero", {"low_freq_factor = 0"},
       [](Canvas&) { s::Llama3(8.0, 0.0, 4.0, 8192, 5e5); }},
      {"llama3_original_negative", {"original_max_position_embeddings = -8192"},
       [](Canvas&) { s::Llama3(8.0, 1.0, 4.0, -8192, 5e5); }},
      {"llama3_factor_tiny", {"factor = 1e-300"},
       [](Canvas&) { Rope<s::Llama3>(kDims, s::Llama3(1e-300, 1.0, 4.0, 8192, 5e5)); }},
      {"longrope_short_factor_negative", {"short_factor[1] = -1"},
       [](Canvas&) {
         auto p = longrope_params();
         p.short_factor[1] = -1.0;
         s::LongRope{p};
       }},
      {"longrope_long_factor_tiny", {"long_factor[3] = 1e-300", "inv_freq[3]"},
       [](Canvas&) {
         auto p = longrope_params();
         p.long_factor[3] = 1e-300;
         Rope<s::LongRope>(kDims, s::LongRope(p));
       }},
      {"longrope_list_length", {"long_factor length = 7"},
       [](Canvas&) {
         auto p = longrope_params();
         p.long_factor.pop_back();
         Rope<s::LongRope>(kDims, s::LongRope(p));
       }},
      {"longrope_original_one", {"original_max_position_embeddings = 1"},
       [](Canvas&) {
         auto p = longrope_params();
         p.original_max_position_embeddings = 1;
         s::LongRope{p};
       }},
      {"longrope_no_length", {"max_position_embeddings = 0"},
       [](Canvas&) {
         auto p = longrope_params();
         p.max_position_embeddings = 0;
         s::LongRope{p};
       }},
      {"longrope_attention_factor_huge", {"attention_factor = 5000"},
       [](Canvas&) {
         auto p = longrope_params();
         p.attention_factor = 5000.0;
         s::LongRope{p};
       }},
      {"longrope_selection_invalid", {"selection = 7"},
       [](Canvas&) {
         auto p = longrope_params();
         p.selection = static_cast<s::LongRope::Selection>(7);
         s::LongRope{p};
       }},
      {"mrope_section_negative", {"mrope_section[1] = -2"},
       [](Canvas&) { s::Mrope<>({4, -2, 6}); }},
      {"mrope_section_sum", {"mrope_section sum = 7"},
       [](Canvas&) { Rope<s::Mrope<>>(kDims, s::Mrope<>({3, 2, 2})); }},
      // Summed in int64 these wrap around to 4, the pair count.
      {"mrope_section_overflow", {"mrope_section[0] = 9223372036854775807", "rotary_dim / 2 = 4"},
       [](Canvas&) { Rope<s::Mrope<>>(RotaryDims(8), s::Mrope<>({kMax64, kMax64, 6})); }},
      {"mrope_interleaved_too_many_h", {"mrope_section[1] = 5", "interleaved"},
       [](Canvas&) {
         Rope<s::Mrope<>>(kDims, s::Mrope<>({1, 5, 2}, s::Default(), s::MropeLayout::interleaved));
       }},
      {"mrope_layout_invalid", {"mrope layout = 9"},
       [](Canvas&) { s::Mrope<>({2, 3, 3}, s::Default(), static_cast<s::MropeLayout>(9)); }},
  };
}

std::vector<BadCall> geometry_rows() {
  return {
      {"dims_head_zero", {"head_dim = 0"}, [](Canvas&) { RotaryDims(0); }},
      {"dims_head_huge", {"head_dim = 65538"}, [](Canvas&) { RotaryDims(65538); }},
      {"dims_rotary_odd", {"rotary_dim = 15"}, [](Canvas&) { RotaryDims(16, 15); }},
      {"dims_rotary_above_head", {"rotary_dim = 18"}, [](Canvas&) { RotaryDims(16, 18); }},
      {"dims_rotary_negative", {"rotary_dim = -4"}, [](Canvas&) { RotaryDims(16, -4); }},
      {"view_tokens_negative", {"tokens = -1"},
       [](Canvas& c) { HeadView<float>(c.q.data(), -1, 1, 16, 16, 16); }},
      {"view_heads_negative", {"heads = -3"},
       [](Canvas& c) { HeadView<float>(c.q.data(), 1, -3, 16, 16, 16); }},
      {"view_head_dim_zero", {"head_dim = 0"},
       [](Canvas& c) { HeadView<float>(c.q.data(), 1, 1, 0, 16, 16); }},
      {"view_token_stride_negative", {"token_stride = -32"},
       [](Canvas& c) { HeadView<float>(c.q.data(), 2, 2, 16, -32, 16); }},
      {"view_head_stride_negative", {"head_stride = -16"},
       [](Canvas& c) { HeadView<float>(c.q.data(), 2, 2, 16, 32, -16); }},
      {"view_null_data", {"data = nullptr"},
       [](Canvas&) { HeadView<float>(nullptr, 2, 2, 16, 32, 16); }},
      {"view_heads_overlap", {"head_stride = 8", "overlap"},
       [](Canvas& c) { HeadView<float>(c.q.data(), 2, 2, 16, 32, 8); }},
      {"view_tokens_overlap", {"token_stride = 8", "overlap"},
       [](Canvas& c) { HeadView<float>(c.q.data(), 2, 2, 16, 8, 32); }},
      // (heads - 1) * stride + head_dim would overflow in the overlap check.
      {"view_head_dim_near_int64_max", {"head_dim = 9223372036854775806: must be at most"},
       [](Canvas& c) { HeadView<float>(c.q.data(), 1, 2, kMax64 - 1, 0, kMax64 / 8); }},
      {"view_token_stride_overflow", {"token_stride = 4611686018427387904"},
       [](Canvas& c) { HeadView<float>(c.q.data(), 4, 1, 16, std::int64_t{1} << 62, 16); }},
      {"view_token_range_past_end", {"token range = [2, 5)"},
       [](Canvas& c) { c.qv().token_range(2, 3); }},
      {"view_token_range_overflow",
       {"token range = [9223372036854775807, 9223372036854775807 + 9223372036854775807)"},
       [](Canvas& c) { c.qv().token_range(kMax64, kMax64); }},
      {"view_head_range_negative", {"head range = [-1, 0)"},
       [](Canvas& c) { c.qv().head_range(-1, 1); }},
      {"token_major_view_overflow", {"heads = 4611686018427387904", "overflows"},
       [](Canvas& c) { token_major_view(c.q.data(), 1, std::int64_t{1} << 62, 16); }},
      {"head_major_view_overflow", {"tokens = 4611686018427387904", "overflows"},
       [](Canvas& c) { head_major_view(c.q.data(), std::int64_t{1} << 62, 1, 16); }},
      {"fused_qkv_q_heads_negative", {"q_heads = -1"},
       [](Canvas& c) { fused_qkv_views(c.q.data(), 2, -1, 1, 8); }},
      {"fused_qkv_row_stride_short", {"row_stride = 20", "32"},
       [](Canvas& c) { fused_qkv_views(c.q.data(), 2, 2, 1, 8, 20); }},
      {"fused_qkv_width_overflow", {"kv_heads = 4611686018427387904", "overflows"},
       [](Canvas& c) { fused_qkv_views(c.q.data(), 2, 2, std::int64_t{1} << 62, 8); }},
      {"eigen_map_width", {"map width = 24"},
       [](Canvas& c) {
         Eigen::Map<Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> map(
             c.q.data(), 2, 24);
         view_of(map, 16);
       }},
      {"positions_start_negative", {"start position = -1"},
       [](Canvas&) { Positions::starting_at(-1); }},
      {"positions_start_past_max", {"start position = 2147483648"},
       [](Canvas&) { Positions::starting_at(std::int64_t{1} << 31); }},
      {"positions_count_negative", {"positions count = -2"},
       [](Canvas&) {
         const std::int64_t ids[1] = {0};
         Positions(ids, -2);
       }},
      {"positions_null_ids", {"position ids = nullptr"},
       [](Canvas&) { Positions(static_cast<const std::int32_t*>(nullptr), 3); }},
      {"positions_four_axes", {"position axes = 4"},
       [](Canvas&) {
         const std::int64_t ids[4] = {0, 0, 0, 0};
         Positions::multi_axis(ids, 4, 1, 1);
       }},
      {"positions_axis_stride_short", {"position axis_stride = 1"},
       [](Canvas&) {
         const std::int64_t ids[6] = {};
         Positions::multi_axis(ids, 3, 2, 1);
       }},
      {"positions_axis_stride_overflow", {"position axis_stride = 9223372036854775807"},
       [](Canvas&) {
         const std::int64_t ids[3] = {};
         Positions::multi_axis(ids, 3, 1, kMax64);
       }},
  };
}

std::vector<BadCall> call_rows() {
  return {
      {"apply_id_negative", {"position id [2] = -5"},
       [](Canvas& c) {
         const std::int64_t ids[4] = {0, 1, -5, 3};
         Rope<s::Default>(kDims).apply(c.qv(), c.kv(), Positions(ids, 4));
       }},
      {"apply_id_past_max", {"position id [3] = 2147483648"},
       [](Canvas& c) {
         const std::int64_t ids[4] = {0, 1, 2, std::int64_t{1} << 31};
         Rope<s::Default>(kDims).apply(c.qv(), c.kv(), Positions(ids, 4));
       }},
      {"apply_start_plus_tokens", {"start position = 2147483647", "4 tokens"},
       [](Canvas& c) {
         Rope<s::Default>(kDims).apply(c.qv(), c.kv(), Positions::starting_at(max_position));
       }},
      {"apply_count_mismatch", {"positions count = 3"},
       [](Canvas& c) {
         const std::int32_t ids[3] = {0, 1, 2};
         Rope<s::Default>(kDims).apply(c.qv(), c.kv(), Positions(ids, 3));
       }},
      {"apply_head_dim_mismatch", {"q.head_dim = 16", "head_dim = 32"},
       [](Canvas& c) {
         Rope<s::Default>(RotaryDims(32)).apply_q(c.qv(), Positions::starting_at(0));
       }},
      {"apply_k_tokens_mismatch", {"k.tokens = 3"},
       [](Canvas& c) {
         Rope<s::Default>(kDims).apply(c.qv(), c.kv().token_range(0, 3), Positions::starting_at(0));
       }},
      {"apply_q_k_overlap", {"overlaps q"},
       [](Canvas& c) {
         Rope<s::Default>(kDims).apply(c.qv(), c.qv().head_range(1, 1), Positions::starting_at(0));
       }},
      {"apply_unaligned", {"q.data", "aligned"},
       [](Canvas& c) {
         auto* misaligned = reinterpret_cast<float*>(reinterpret_cast<char*>(c.q.data() + 8) + 2);
         Rope<s::Default>(kDims).apply_q(HeadView<float>(misaligned, 1, 1, 16, 16, 16),
                                         Positions::starting_at(0));
       }},
      {"apply_axes_mismatch", {"positions axes = 2"},
       [](Canvas& c) {
         const std::int64_t ids[8] = {};
         Rope<s::Default>(kDims).apply_q(c.qv(), Positions::multi_axis(ids, 2, 4, 4));
       }},
      {"apply_inverse_bad_id", {"position id [0] = -1"},
       [](Canvas& c) {
         const std::int64_t ids[4] = {-1, 0, 0, 0};
         Rope<s::Yarn>(kDims, s::Yarn(4.0, 4096)).apply_inverse(c.q16v(), Positions(ids, 4));
       }},
      {"dynamic_apply_bad_id", {"position id [1] = -7"},
       [](Canvas& c) {
         Rope<s::DynamicNtk> rope(kDims, s::DynamicNtk(2.0, 64));
         const std::int64_t ids[4] = {5000, -7, 0, 0};
         try {
           rope.apply_q(c.qv(), Positions(ids, 4));
         } catch (...) {
           EXPECT_EQ(rope.state(), 64);  // a rejected call does not advance the state
           throw;
         }
       }},
      {"anyrope_apply_bad_id", {"position id [3] = -1"},
       [](Canvas& c) {
         const std::int64_t ids[4] = {0, 1, 2, -1};
         AnyRope(kDims, Layout::interleaved, s::Llama3::llama3_1())
             .apply(c.qv(), c.kv(), Positions(ids, 4));
       }},
      {"anyrope_layout_invalid", {"layout = 7"},
       [](Canvas&) { AnyRope(kDims, static_cast<Layout>(7), s::Default()); }},
      {"anyrope_table_for_length_zero", {"seq_len = 0"},
       [](Canvas&) { AnyRope(kDims, Layout::half_split, s::Default()).table_for_length(0); }},
      {"anyrope_policy_out_of_range", {"factor = 0.001"},
       [](Canvas&) { AnyRope(kDims, Layout::half_split, s::Linear(0.001)); }},
      {"rotate_table_pairs", {"table pairs = 16"},
       [](Canvas& c) {
         const Rope<s::Default> wide(RotaryDims(32));
         rotate<neox>(wide.table(), kDims, c.qv(), c.kv(), Positions::starting_at(0));
       }},
      {"rotate_inverse_head_dim", {"x.head_dim = 32"},
       [](Canvas& c) {
         const Rope<s::Default> rope(kDims);
         rotate_inverse<gptj>(rope.table(), kDims, token_major_view(c.q.data() + 8, 2, 1, 32),
                              Positions::starting_at(0));
       }},
      {"forced_isa_unavailable", {"forced isa = "},
       [](Canvas& c) {
         const ScopedIsa scoped(unavailable_isa());
         Rope<s::Default>(kDims).apply(c.qv(), c.kv(), Positions::starting_at(0));
       }},
      {"parse_isa_unknown", {"isa = sse9"}, [](Canvas&) { parse_isa("sse9"); }},
      {"table_inv_freq_size", {"inv_freq size = 3"},
       [](Canvas&) { FrequencyTable(kDims, table_input({1, 0.5, 0.25})); }},
      {"table_inv_freq_past_pi", {"inv_freq[0] = 3.1415926535897931", "[0, pi]"},
       [](Canvas&) {
         std::vector<long double> w(8, 1.0L);
         w[0] = std::nextafter(max_inv_freq, 4.0L);
         FrequencyTable(kDims, table_input(w));
       }},
      {"table_inv_freq_negative", {"inv_freq[5] = -1"},
       [](Canvas&) {
         std::vector<long double> w(8, 1.0L);
         w[5] = -1.0L;
         FrequencyTable(kDims, table_input(w));
       }},
      {"table_attention_factor", {"attention_factor = 2000"},
       [](Canvas&) {
         Frequencies f = table_input(std::vector<long double>(8, 1.0L));
         f.attention_factor = 2000.0;
         FrequencyTable(kDims, f);
       }},
      {"table_position_axes", {"position_axes = 4"},
       [](Canvas&) {
         Frequencies f = table_input(std::vector<long double>(8, 1.0L));
         f.position_axes = 4;
         FrequencyTable(kDims, f);
       }},
      {"table_position_axis", {"position_axis[2] = 1"},
       [](Canvas&) {
         Frequencies f = table_input(std::vector<long double>(8, 1.0L));
         f.position_axis.assign(8, 0);
         f.position_axis[2] = 1;
         FrequencyTable(kDims, f);
       }},
      {"cache_positions_zero", {"cache positions = 0"},
       [](Canvas&) { CosSinCache(Rope<s::Default>(kDims).table(), 0); }},
      {"cache_positions_too_many", {"cache positions = 2147483649"},
       [](Canvas&) { CosSinCache(Rope<s::Default>(kDims).table(), (std::int64_t{1} << 31) + 1); }},
      {"cache_multi_axis_table", {"table axes = 3"},
       [](Canvas&) { CosSinCache(Rope<s::Mrope<>>(kDims, s::Mrope<>({2, 3, 3})).table(), 8); }},
      {"cache_rotate_past_rows", {"position = 8", "positions = 8"},
       [](Canvas& c) {
         const CosSinCache cache(Rope<s::Default>(kDims).table(), 8);
         const std::int64_t ids[4] = {0, 8, 1, 2};
         rotate<neox>(cache, kDims, c.q16v(), Positions(ids, 4));
       }},
      {"cache_pairs_mismatch", {"cache pairs = 16"},
       [](Canvas& c) {
         const CosSinCache cache(Rope<s::Default>(RotaryDims(32)).table(), 8);
         rotate<neox>(cache, kDims, c.qv(), c.kv(), Positions::starting_at(0));
       }},
      {"law_rotary_dim_odd", {"rotary_dim = 127"},
       [](Canvas&) { critical_dimension(RopePretraining{127, 4096, 1e4}); }},
      {"law_base_below_one", {"base = 0.5"},
       [](Canvas&) { critical_dimension(RopePretraining{128, 4096, 0.5}); }},
      {"law_tuned_base_below_base", {"tuned_base = 5000"},
       [](Canvas&) { extrapolation_limit(RopePretraining{128, 4096, 1e4}, 5000.0); }},
      {"law_target_length_nan", {"target_length = nan"},
       [](Canvas&) { base_for_context(RopePretraining{128, 4096, 1e4}, kNaN); }},
      {"law_inv_freq_negative", {"inv_freq[1] = -0.5"},
       [](Canvas&) { decay_sum(std::vector<double>{1.0, -0.5}, 10); }},
      {"law_context_zero", {"context_length = 0"},
       [](Canvas&) { decay_bound_holds(128, 1e4, 0); }},
      {"law_grid_stop", {"grid.stop = 10"},
       [](Canvas&) {
         BaseGrid grid;
         grid.stop = 10.0;
         min_base_for_context(4096, 128, grid);
       }},
      {"law_pair_periods_null", {"inv_freq = nullptr"},
       [](Canvas&) { pair_periods(static_cast<const double*>(nullptr), 4, 4096.0); }},
  };
}

#ifdef ROPEKIT_BAD_INPUT_JSON
// A config.json row: the loader must name the JSON field (HfConfigError is
// a std::invalid_argument).
BadCall config_row(const char* name, std::vector<const char*> needles, const char* json) {
  return {name, std::move(needles),
          [json](Canvas&) { hf_config_from_json(nlohmann::json::parse(json), "config.json"); }};
}

std::vector<BadCall> config_rows() {
  return {
      config_row("hf_rope_theta_subnormal", {"config.json: rope_theta = 4.9406564584124654e-324"},
                 R"({"head_dim": 512, "rope_theta": 5e-324})"),
      config_row("hf_rope_theta_tiny_block", {"rope_scaling.rope_theta = 1e-08"},
                 R"({"head_dim": 64, "rope_scaling": {"rope_type": "default", "rope_theta": 1e-8}})"),
      config_row("hf_linear_factor_tiny", {"rope_scaling.factor = 1e-300"},
                 R"({"head_dim": 64, "rope_scaling": {"rope_type": "linear", "factor": 1e-300}})"),
      config_row("hf_factor_string", {"rope_scaling.factor = \"4\"", "must be a number"},
                 R"({"head_dim": 64, "rope_scaling": {"rope_type": "linear", "factor": "4"}})"),
      config_row("hf_yarn_attention_factor_huge", {"rope_scaling.attention_factor = 1.0000000000000001e+300"},
                 R"({"head_dim": 64, "max_position_embeddings": 4096, "rope_scaling":
                     {"rope_type": "yarn", "factor": 4, "attention_factor": 1e300}})"),
      config_row("hf_yarn_mscale_huge", {"rope_scaling.mscale = 1.0000000000000001e+300"},
                 R"({"head_dim": 64, "max_position_embeddings": 4096, "rope_scaling":
                     {"rope_type": "yarn", "factor": 4, "mscale": 1e300, "mscale_all_dim": 1}})"),
      config_row("hf_dynamic_alpha_tiny", {"rope_scaling.alpha = 9.9999999999999993e-41"},
                 R"({"head_dim": 64, "rope_scaling": {"rope_type": "dynamic", "alpha": 1e-40}})"),
      config_row("hf_longrope_factor_tiny",
                 {"rope_scaling.long_factor[3] = 1e-300"},
                 R"({"head_dim": 8, "max_position_embeddings": 131072,
                     "original_max_position_embeddings": 4096, "rope_scaling": {"rope_type":
                     "longrope", "short_factor": [1, 1, 1, 1], "long_factor": [1, 1, 1, 1e-300]}})"),
      config_row("hf_llama3_high_below_low", {"rope_scaling.high_freq_factor = 0.5"},
                 R"({"head_dim": 64, "rope_scaling": {"rope_type": "llama3", "factor": 8,
                     "low_freq_factor": 1, "high_freq_factor": 0.5,
                     "original_max_position_embeddings": 8192}})"),
      config_row("hf_mrope_section_overflow", {"rope_scaling.mrope_section[0] = 9223372036854775807"},
                 R"({"head_dim": 8, "rope_scaling": {"rope_type": "default",
                     "mrope_section": [9223372036854775807, 9223372036854775807, 6]}})"),
      config_row("hf_mrope_section_float_overflow", {"rope_scaling.mrope_section[0] = 4e+18"},
                 R"({"head_dim": 8, "rope_scaling": {"rope_type": "default",
                     "mrope_section": [4e18, 4e18, 4e18]}})"),
      config_row("hf_head_dim_huge", {"config.json: head_dim = 70000"},
                 R"({"head_dim": 70000})"),
      config_row("hf_partial_rotary_factor", {"partial_rotary_factor = 1.5"},
                 R"({"head_dim": 64, "partial_rotary_factor": 1.5})"),
      config_row("hf_unknown_rope_type", {"rope_scaling.rope_type = \"quadratic\""},
                 R"({"head_dim": 64, "rope_scaling": {"rope_type": "quadratic"}})"),
      config_row("hf_root_not_object", {"(root) = [1,2]"}, R"([1, 2])"),
  };
}
#endif

std::vector<BadCall> all_rows() {
  std::vector<BadCall> rows;
  for (auto part : {policy_rows(), geometry_rows(), call_rows()})
    rows.insert(rows.end(), part.begin(), part.end());
#ifdef ROPEKIT_BAD_INPUT_JSON
  const auto config = config_rows();
  rows.insert(rows.end(), config.begin(), config.end());
#endif
  return rows;
}

class BadInputTable : public ::testing::TestWithParam<BadCall> {};

TEST_P(BadInputTable, RejectedNamingTheParameterAndWritingNothing) {
  expect_rejected_writing_nothing(GetParam());
}

INSTANTIATE_TEST_SUITE_P(Rows, BadInputTable, ::testing::ValuesIn(all_rows()),
                         [](const ::testing::TestParamInfo<BadCall>& info) {
                           return std::string(info.param.name);
                         });

// The table covers what it claims: enough distinct calls, unique names.
TEST(BadInputTableSize, AtLeastSixtyDistinctRows) {
  const auto rows = all_rows();
  EXPECT_GE(rows.size(), 60u);
  std::vector<std::string> names;
  for (const BadCall& row : rows) names.emplace_back(row.name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
}

}  // namespace
