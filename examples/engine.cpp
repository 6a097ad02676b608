// SPDX-License-Identifier: Apache-2.0
// ropekit-engine: a llama-style attention stack on random weights, small enough to read.
//
// Per layer: RMSNorm, q/k/v projections, optional per-head QK-norm, RoPE and the KV append into a
// paged cache (bfloat16 or FP8 E4M3), GQA attention over the cache, output projection, residual.
// A prompt is prefilled, then tokens are decoded; when the cache is full the oldest tokens after
// an attention-sink prefix are evicted and the kept keys re-rotated in one pass (llama.cpp's
// context shift, StreamingLLM's sinks). A naive reference (double cos/sin, a float cache, its own
// shift) runs alongside, fed each layer's input, and every layer's output is checked against it
// at every step within a bound derived from the cache's rounding (engine_check-inl.hpp).
#include <ropekit/ropekit.hpp>
#if ROPEKIT_ENGINE_WITH_CONFIG
#include <ropekit/hf_config.hpp>
#endif

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Options {
  std::int64_t layers = 2, heads = 8, kv_heads = 2, head_dim = 64;
  std::int64_t prompt = 120, steps = 240, cache_tokens = 192, page_size = 16, sinks = 4;
  std::string cache = "bf16", config;
  bool qk_norm = false;
  std::int64_t break_shift = 0;  // added to the engine's shift delta, to see the check fail
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(
      stderr,
      "ropekit-engine: %s\nusage: ropekit-engine [--layers N] [--heads N] [--kv-heads N] "
      "[--head-dim N] [--cache bf16|fp8] [--qk-norm] [--prompt N] [--steps N] "
      "[--cache-tokens N] [--config config.json] [--break-shift N (a wrong shift delta)]\n",
      why.c_str());
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(flag + " needs a value");
      return argv[++i];
    };
    auto number = [&]() -> std::int64_t {
      const std::string text = value();
      char* end = nullptr;
      const long long n = std::strtoll(text.c_str(), &end, 10);
      if (text.empty() || *end != '\0') usage(flag + " " + text + ": not an integer");
      return n;
    };
    if (flag == "--layers") o.layers = number();
    else if (flag == "--heads") o.heads = number();
    else if (flag == "--kv-heads") o.kv_heads = number();
    else if (flag == "--head-dim") o.head_dim = number();
    else if (flag == "--prompt") o.prompt = number();
    else if (flag == "--steps") o.steps = number();
    else if (flag == "--cache-tokens") o.cache_tokens = number();
    else if (flag == "--break-shift") o.break_shift = number();
    else if (flag == "--cache") o.cache = value();
    else if (flag == "--config") o.config = value();
    else if (flag == "--qk-norm") o.qk_norm = true;
    else usage("unknown option " + flag);
  }
  if (o.cache != "bf16" && o.cache != "fp8") usage("--cache " + o.cache + ": bf16 or fp8");
  if (o.layers < 1 || o.heads < 1 || o.kv_heads < 1 || o.head_dim < 2 || o.steps < 0 ||
      o.prompt < 1)
    usage("--layers, --heads, --kv-heads, --prompt must be positive, --head-dim >= 2");
  if (o.heads % o.kv_heads != 0) usage("--heads must be a multiple of --kv-heads");
  if (o.cache_tokens % o.page_size != 0 || o.cache_tokens < 2 * o.sinks + 2)
    usage("--cache-tokens must be a multiple of 16 and at least 16");
  if (o.prompt > o.cache_tokens) usage("--prompt must fit the cache (--cache-tokens)");
  return o;
}

// Random weights, scaled so projections of a unit-RMS input have unit variance.
struct Layer {
  std::vector<float> attn_norm, wq, wk, wv, wo, q_norm, k_norm;
};

std::vector<float> random_vector(std::mt19937& gen, std::size_t n, float lo, float hi) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> out(n);
  for (float& x : out) x = dist(gen);
  return out;
}

// out[t][r] = sum_c w[r][c] * in[t][c]: every projection (shared by engine and reference).
void project(const float* in, std::int64_t tokens, std::int64_t in_dim, const std::vector<float>& w,
             std::int64_t out_dim, float* out) {
  for (std::int64_t t = 0; t < tokens; ++t)
    for (std::int64_t r = 0; r < out_dim; ++r) {
      float sum = 0.0f;
      for (std::int64_t c = 0; c < in_dim; ++c) sum += w[r * in_dim + c] * in[t * in_dim + c];
      out[t * out_dim + r] = sum;
    }
}

void rms_norm(const float* in, std::int64_t tokens, std::int64_t dim, const std::vector<float>& w,
              float* out) {
  for (std::int64_t t = 0; t < tokens; ++t) {
    double sum = 0.0;
    for (std::int64_t c = 0; c < dim; ++c) sum += double(in[t * dim + c]) * in[t * dim + c];
    const float r = float(1.0 / std::sqrt(sum / double(dim) + 1e-6));
    for (std::int64_t c = 0; c < dim; ++c) out[t * dim + c] = in[t * dim + c] * r * w[c];
  }
}

// Rounding of one cache store: |stored - x| <= u * |x| + a (a: half the subnormal spacing).
struct Rounding {
  double u, a;
};

// The cache-independent part of the run: timings, the checks, the reference's state.
struct Stats {
  double engine_s = 0, rotate_s = 0, convert_s = 0, prefill_s = 0, decode_s = 0;
  double max_dev = 0, max_ratio = 0, max_attention_dev = 0, max_attention_ratio = 0;
  std::int64_t checks = 0, shifts = 0, evicted = 0;
};

// The reference: its own RoPE (cos/sin in double), a float cache per layer, its own shift.
struct Reference {
  std::int64_t kv_heads, head_dim;
  std::vector<double> inv_freq;
  double attention_factor;
  bool half_split;
  std::vector<std::vector<float>> k, v;  // per layer: [cache_tokens][kv_heads][head_dim]
  std::vector<int> rounds;               // per cell: cache roundings its key went through

  void rotate(float* head, double angle_of_pos, double scale) const {
    const std::int64_t half = head_dim / 2;
    for (std::int64_t i = 0; i < half; ++i) {
      const std::int64_t a = half_split ? i : 2 * i, b = half_split ? i + half : 2 * i + 1;
      const double angle = angle_of_pos * inv_freq[std::size_t(i)];
      const double x = head[a], y = head[b], c = std::cos(angle), s = std::sin(angle);
      head[a] = float((x * c - y * s) * scale);
      head[b] = float((y * c + x * s) * scale);
    }
  }
};

template <class C>
class Engine {
 public:
  Engine(const Options& o, std::vector<const ropekit::AnyRope*> ropes, Rounding rounding)
      : o_(o), ropes_(std::move(ropes)), rounding_(rounding) {
    hidden_ = o.heads * o.head_dim;
    std::mt19937 gen(1234);
    const float wscale = std::sqrt(3.0f / float(hidden_));
    embeddings_ = random_vector(gen, std::size_t(vocab_ * hidden_), -1.7f, 1.7f);
    for (std::int64_t l = 0; l < o.layers; ++l) {
      Layer w;
      w.attn_norm = random_vector(gen, std::size_t(hidden_), 0.9f, 1.1f);
      w.wq = random_vector(gen, std::size_t(hidden_ * hidden_), -wscale, wscale);
      w.wk = random_vector(gen, std::size_t(kv_dim() * hidden_), -wscale, wscale);
      w.wv = random_vector(gen, std::size_t(kv_dim() * hidden_), -wscale, wscale);
      w.wo = random_vector(gen, std::size_t(hidden_ * hidden_), -wscale, wscale);
      w.q_norm = random_vector(gen, std::size_t(o.head_dim), 0.8f, 1.2f);
      w.k_norm = random_vector(gen, std::size_t(o.head_dim), 0.8f, 1.2f);
      weights_.push_back(std::move(w));
    }
    // One paged cache per layer; pages handed out in a shuffled order, as an allocator would.
    pages_ = o.cache_tokens / o.page_size;
    const std::size_t elements = std::size_t(o.cache_tokens * kv_dim());
    for (std::int64_t l = 0; l < o.layers; ++l) {
      k_store_.emplace_back(elements);
      v_store_.emplace_back(elements);
    }
    for (std::int64_t p = 0; p < pages_; ++p) block_table_.push_back(std::int32_t(p));
    std::shuffle(block_table_.begin(), block_table_.end(), gen);
    // FP8: stored = fp8(x / scale); 0.1 keeps |x| up to 44.8 unsaturated (checked below).
    scale_ = 0.1f;
    const ropekit::AnyRope& rope = *ropes_[0];
    ref_ = Reference{o.kv_heads,
                     o.head_dim,
                     rope.inv_freq(),
                     rope.attention_factor(),
                     rope.layout() == ropekit::Layout::half_split,
                     {},
                     {},
                     {}};
    ref_.k.assign(std::size_t(o.layers), std::vector<float>(elements));
    ref_.v.assign(std::size_t(o.layers), std::vector<float>(elements));
    ref_.rounds.assign(std::size_t(o.cache_tokens), 0);
  }

  int run() {
    std::vector<std::int32_t> tokens;
    std::mt19937 gen(99);
    for (std::int64_t t = 0; t < o_.prompt; ++t) tokens.push_back(std::int32_t(gen() % vocab_));
    auto start = Clock::now();
    if (!forward(tokens)) return 1;
    stats_.prefill_s = stats_.engine_s;
    for (std::int64_t step = 0; step < o_.steps; ++step) {
      if (cached_ == o_.cache_tokens) context_shift();
      if (!forward({next_token_})) return 1;
    }
    stats_.decode_s = stats_.engine_s - stats_.prefill_s;
    report(seconds_since(start));
    return 0;
  }

 private:
  std::int64_t kv_dim() const { return o_.kv_heads * o_.head_dim; }

  ropekit::PagedKvCache<C> cache(std::int64_t layer) {
    ropekit::PagedKvCache<C> c(k_store_[std::size_t(layer)].data(),
                               v_store_[std::size_t(layer)].data(), pages_, o_.page_size,
                               o_.kv_heads, o_.head_dim);
    if constexpr (ropekit::is_fp8_v<C>) return c.with_scales(scale_, scale_);
    return c;
  }

  // `count` cache rows of page `page` from row `row` (K when `keys`): for convert and shift.
  ropekit::HeadView<C> rows(std::int64_t layer, bool keys, std::int64_t page, std::int64_t row,
                            std::int64_t count) {
    auto& store = keys ? k_store_[std::size_t(layer)] : v_store_[std::size_t(layer)];
    ropekit::HeadView<C> view(store.data() + (page * o_.page_size + row) * kv_dim(), count,
                              o_.kv_heads, o_.head_dim, kv_dim(), o_.head_dim);
    if constexpr (ropekit::is_fp8_v<C>) return view.with_scale(scale_);
    return view;
  }

  // Calls `f(page, row, cell, count)` for each run of cells [first, first + n) within one page.
  template <class F>
  void for_each_run(std::int64_t first, std::int64_t n, F f) {
    for (std::int64_t cell = first; cell < first + n;) {
      const std::int64_t row = cell % o_.page_size;
      const std::int64_t count = std::min(o_.page_size - row, first + n - cell);
      f(std::int64_t(block_table_[std::size_t(cell / o_.page_size)]), row, cell, count);
      cell += count;
    }
  }

  bool forward(const std::vector<std::int32_t>& tokens) {
    const std::int64_t n = std::int64_t(tokens.size()), first = cached_;
    std::vector<float> x(std::size_t(n * hidden_));
    for (std::int64_t t = 0; t < n; ++t)
      std::memcpy(&x[std::size_t(t * hidden_)],
                  &embeddings_[std::size_t(tokens[std::size_t(t)] * hidden_)],
                  std::size_t(hidden_) * sizeof(float));
    for (std::int64_t l = 0; l < o_.layers; ++l) {
      const std::vector<float> input = x;
      const auto start = Clock::now();
      layer(l, first, n, x);
      stats_.engine_s += seconds_since(start);
      if (!check(l, first, n, input, x)) return false;
    }
    cached_ += n;
    // The next token: the final hidden state's largest channel (no LM head needed to drive decode).
    const float* last = &x[std::size_t((n - 1) * hidden_)];
    next_token_ = std::int32_t((std::max_element(last, last + hidden_) - last) % vocab_);
    return true;
  }

  // One layer of the engine on tokens at positions [first, first + n); x is updated in place.
  void layer(std::int64_t l, std::int64_t first, std::int64_t n, std::vector<float>& x) {
    const Layer& w = weights_[std::size_t(l)];
    const ropekit::AnyRope& rope = *ropes_[std::size_t(l)];
    std::vector<float> xn(x.size()), q(x.size()), k(std::size_t(n * kv_dim())), v(k.size());
    rms_norm(x.data(), n, hidden_, w.attn_norm, xn.data());
    project(xn.data(), n, hidden_, w.wq, hidden_, q.data());
    project(xn.data(), n, hidden_, w.wk, kv_dim(), k.data());
    project(xn.data(), n, hidden_, w.wv, kv_dim(), v.data());
    auto qv = ropekit::token_major_view(q.data(), n, o_.heads, o_.head_dim);
    auto kv = ropekit::token_major_view(k.data(), n, o_.kv_heads, o_.head_dim);
    auto vv = ropekit::token_major_view(v.data(), n, o_.kv_heads, o_.head_dim);
    const auto positions = ropekit::Positions::starting_at(first);
    auto start = Clock::now();
    if (o_.qk_norm) {
      // Qwen3's order: per-head RMSNorm and RoPE fused on q and k, then the cache write
      // (vLLM: fused_qk_norm_rope, then reshape_and_cache).
      ropekit::apply_qk_norm(rope, qv, kv, positions, ropekit::QkNorm{w.q_norm, w.k_norm, 1e-6});
      stats_.rotate_s += seconds_since(start);
      start = Clock::now();
      for_each_run(first, n,
                   [&](std::int64_t page, std::int64_t row, std::int64_t cell, std::int64_t count) {
                     const std::int64_t t = cell - first;
                     ropekit::convert(ropekit::token_major_view(&k[std::size_t(t * kv_dim())],
                                                                count, o_.kv_heads, o_.head_dim),
                                      rows(l, true, page, row, count));
                     ropekit::convert(ropekit::token_major_view(&v[std::size_t(t * kv_dim())],
                                                                count, o_.kv_heads, o_.head_dim),
                                      rows(l, false, page, row, count));
                   });
      stats_.convert_s += seconds_since(start);
    } else {
      // q rotated in place; k rotated and v copied into the block table's slots, one pass.
      ropekit::append_kv(rope, qv, kv, vv, cache(l),
                         ropekit::KvSlots::block_table(block_table_.data(), pages_), positions);
      stats_.rotate_s += seconds_since(start);
    }
    // Attention reads the cache back in float, page by page.
    const std::int64_t cells = first + n;
    std::vector<float> kc(std::size_t(cells * kv_dim())), vc(kc.size());
    start = Clock::now();
    for_each_run(
        0, cells, [&](std::int64_t page, std::int64_t row, std::int64_t cell, std::int64_t count) {
          const std::size_t at = std::size_t(cell * kv_dim());
          ropekit::convert(rows(l, true, page, row, count),
                           ropekit::token_major_view(&kc[at], count, o_.kv_heads, o_.head_dim));
          ropekit::convert(rows(l, false, page, row, count),
                           ropekit::token_major_view(&vc[at], count, o_.kv_heads, o_.head_dim));
        });
    stats_.convert_s += seconds_since(start);
    std::vector<float> out(x.size(), 0.0f);
    std::vector<float> scores(static_cast<std::size_t>(cells));
    const float inv_sqrt_d = 1.0f / std::sqrt(float(o_.head_dim));
    const std::int64_t group = o_.heads / o_.kv_heads;
    for (std::int64_t t = 0; t < n; ++t)
      for (std::int64_t h = 0; h < o_.heads; ++h) {
        const float* qh = &q[std::size_t((t * o_.heads + h) * o_.head_dim)];
        const std::int64_t kvh = h / group, seen = first + t + 1;  // causal
        float top = -INFINITY, total = 0.0f;
        for (std::int64_t j = 0; j < seen; ++j) {
          const float* kj = &kc[std::size_t(j * kv_dim() + kvh * o_.head_dim)];
          float s = 0.0f;
          for (std::int64_t c = 0; c < o_.head_dim; ++c) s += qh[c] * kj[c];
          scores[std::size_t(j)] = s * inv_sqrt_d;
          top = std::max(top, scores[std::size_t(j)]);
        }
        for (std::int64_t j = 0; j < seen; ++j)
          total += scores[std::size_t(j)] = std::exp(scores[std::size_t(j)] - top);
        float* oh = &out[std::size_t((t * o_.heads + h) * o_.head_dim)];
        for (std::int64_t j = 0; j < seen; ++j) {
          const float p = scores[std::size_t(j)] / total;
          const float* vj = &vc[std::size_t(j * kv_dim() + kvh * o_.head_dim)];
          for (std::int64_t c = 0; c < o_.head_dim; ++c) oh[c] += p * vj[c];
        }
      }
    attention_out_ = out;  // for the check
    std::vector<float> y(x.size());
    project(out.data(), n, hidden_, w.wo, hidden_, y.data());
    for (std::size_t i = 0; i < x.size(); ++i) x[i] += y[i];
  }

  // llama.cpp's context shift: keep `sinks` tokens, evict half of the rest, move the kept keys
  // and values down and re-rotate the keys by minus the number evicted.
  void context_shift() {
    const std::int64_t keep = o_.sinks, evict = (cached_ - keep) / 2,
                       moved = cached_ - keep - evict;
    const auto start = Clock::now();
    for (std::int64_t l = 0; l < o_.layers; ++l) {
      for (int kind = 0; kind < 2; ++kind) {  // rows of a slot are contiguous (NHD): move them
        auto& store = kind == 0 ? k_store_[std::size_t(l)] : v_store_[std::size_t(l)];
        for (std::int64_t cell = keep; cell < keep + moved; ++cell) {
          auto at = [&](std::int64_t c) {
            return store.data() +
                   (block_table_[std::size_t(c / o_.page_size)] * o_.page_size + c % o_.page_size) *
                       kv_dim();
          };
          std::memcpy(at(cell), at(cell + evict), std::size_t(kv_dim()) * sizeof(C));
        }
      }
      const auto rotate_start = Clock::now();
      for_each_run(keep, moved,
                   [&](std::int64_t page, std::int64_t row, std::int64_t, std::int64_t count) {
                     ropekit::shift_keys(*ropes_[std::size_t(l)], rows(l, true, page, row, count),
                                         ropekit::Positions::constant(-evict + o_.break_shift));
                   });
      stats_.rotate_s += seconds_since(rotate_start);
    }
    stats_.engine_s += seconds_since(start);
    // The reference: the same move, then its own re-rotation in double.
    for (std::int64_t l = 0; l < o_.layers; ++l)
      for (std::int64_t cell = keep; cell < keep + moved; ++cell)
        for (auto* store : {&ref_.k[std::size_t(l)], &ref_.v[std::size_t(l)]})
          std::memmove(&(*store)[std::size_t(cell * kv_dim())],
                       &(*store)[std::size_t((cell + evict) * kv_dim())],
                       std::size_t(kv_dim()) * sizeof(float));
    for (std::int64_t cell = keep; cell < keep + moved; ++cell) {
      for (std::int64_t l = 0; l < o_.layers; ++l)
        for (std::int64_t h = 0; h < o_.kv_heads; ++h)
          ref_.rotate(&ref_.k[std::size_t(l)][std::size_t(cell * kv_dim() + h * o_.head_dim)],
                      double(-evict), 1.0);
      ref_.rounds[std::size_t(cell)] = ref_.rounds[std::size_t(cell + evict)] + 1;
    }
    cached_ -= evict;
    ++stats_.shifts;
    stats_.evicted += evict;
  }

  bool check(std::int64_t l, std::int64_t first, std::int64_t n, const std::vector<float>& input,
             const std::vector<float>& engine_out);
  void report(double wall_s) const;

  Options o_;
  std::vector<const ropekit::AnyRope*> ropes_;
  Rounding rounding_;
  std::int64_t hidden_ = 0, pages_ = 0, cached_ = 0, vocab_ = 256;
  std::int32_t next_token_ = 0;
  float scale_ = 1.0f;
  std::vector<float> embeddings_, attention_out_;
  std::vector<Layer> weights_;
  std::vector<std::vector<C>> k_store_, v_store_;
  std::vector<std::int32_t> block_table_;
  Reference ref_;
  Stats stats_;
};

#include "engine_check-inl.hpp"  // Engine::check: the reference and the bound

template <class C>
void Engine<C>::report(double wall_s) const {
  std::printf("prefill: %lld tokens, %.0f tokens/s\n", (long long)o_.prompt,
              double(o_.prompt) / stats_.prefill_s);
  std::printf(
      "decode: %lld steps, %.0f tokens/s; %lld context shifts (kept %lld sink tokens, "
      "evicted %lld tokens in all)\n",
      (long long)o_.steps, double(o_.steps) / std::max(stats_.decode_s, 1e-9),
      (long long)stats_.shifts, (long long)o_.sinks, (long long)stats_.evicted);
  std::printf(
      "ropekit calls: %.1f%% of the engine's time (RoPE: append_kv / apply_qk_norm / "
      "shift_keys %.1f%%; cache reads and writes with convert %.1f%%)\n",
      100 * (stats_.rotate_s + stats_.convert_s) / stats_.engine_s,
      100 * stats_.rotate_s / stats_.engine_s, 100 * stats_.convert_s / stats_.engine_s);
  std::printf(
      "max deviation from the reference: attention output %.3g (%.2f of its bound), "
      "hidden state %.3g (%.3f of its bound)\n",
      stats_.max_attention_dev, stats_.max_attention_ratio, stats_.max_dev, stats_.max_ratio);
  std::printf("engine %.2f s of %.2f s wall (the rest is the reference and its check)\n",
              stats_.engine_s, wall_s);
  std::printf("agrees with the reference: every layer at every step (%lld checks)\n",
              (long long)stats_.checks);
}

}  // namespace

int main(int argc, char** argv) try {
  const Options o = parse(argc, argv);
  std::vector<std::unique_ptr<ropekit::AnyRope>> owned;
  std::vector<const ropekit::AnyRope*> ropes;
  Options run = o;
  std::string rope_name;
  if (o.config.empty()) {
    // Llama 3's base without its scaling, the same object in every layer.
    owned.push_back(std::make_unique<ropekit::AnyRope>(ropekit::RotaryDims(o.head_dim),
                                                       ropekit::Layout::half_split,
                                                       ropekit::scaling::Default(500000.0)));
    ropes.assign(std::size_t(o.layers), owned.back().get());
    rope_name = "default, base 500000";
  } else {
#if ROPEKIT_ENGINE_WITH_CONFIG
    static const ropekit::HfModelRope model = ropekit::load_hf_model_rope(o.config);
    for (std::int64_t l = 0; l < o.layers; ++l) {
      const ropekit::AnyRope* rope = model.rope.layer(l % model.rope.num_layers());
      if (rope == nullptr || rope->dims().rotary_dim() != rope->dims().head_dim() ||
          rope->length_dependent() || rope->table().axes() != 1)
        usage("--config: layer " + std::to_string(l) +
              " has no RoPE, a partial or multi-axis one, or a length-dependent one; the reference "
              "here rotates whole heads with one fixed table");
      ropes.push_back(rope);
    }
    run.head_dim = ropes[0]->dims().head_dim();  // the config's head size wins over --head-dim
    rope_name = std::string(ropes[0]->policy_name()) + " from " + o.config;
#else
    usage("--config needs ropekit's config loader (built with nlohmann-json3-dev)");
#endif
  }
  std::printf(
      "ropekit-engine: %lld layers, %lld heads (%lld KV heads), head_dim %lld, %s paged KV "
      "cache of %lld tokens (pages of %lld), QK-norm %s, RoPE %s\n",
      (long long)run.layers, (long long)run.heads, (long long)run.kv_heads, (long long)run.head_dim,
      run.cache.c_str(), (long long)run.cache_tokens, (long long)run.page_size,
      run.qk_norm ? "on" : "off", rope_name.c_str());
  // Unit roundoff of one store: bfloat16 keeps 8 significant bits (u = 2^-8), E4M3 4 (u = 2^-4)
  // with subnormal spacing 2^-9 times the scale, so |error| <= 2^-10 * scale there.
  if (run.cache == "bf16") return Engine<Eigen::bfloat16>(run, ropes, {0x1p-8, 0.0}).run();
  return Engine<ropekit::float8_e4m3fn>(run, ropes, {0x1p-4, 0x1p-10 * 0.1}).run();
} catch (const std::exception& e) {
  std::fprintf(stderr, "ropekit-engine: %s\n", e.what());
  return 2;
}
