// SPDX-License-Identifier: Apache-2.0
// Cached-key cases: K-shift and re-table, included by rope_bench.cpp inside
// its namespace after its timing helpers (Case, timed, roofline_ratio,
// label_with_path), hence no include guard and no includes of its own.
//
// ropekit_fused/llama3_8b/<phase><tokens>/<dtype>/<layout>/k_shift: the 8 KV
// heads of every token re-rotated by a delta of -1024 in one call
// (`shift`), against llama.cpp-style composing: `rotate_inverse` at the old
// positions, then `rotate` at the new ones. .../retable: keys moved from a
// dynamic-NTK table at its trained length (8192) to the one it grows to at
// 32768 (`retable` with a TableChange built once), against `rotate_inverse`
// with the old table then `rotate` with the new. Both report
// `roofline_ratio` against an in-place pass over the keys alone (their own
// bytes: read once, written once) and `speedup_vs_unfused`.

constexpr std::int64_t kShiftDelta = -1024;

template <class T, Layout L>
void key_case(benchmark::State& state, Case c, bool retabling) {
  auto& b = buffers<T>(*c.shape, c.tokens);
  const ropekit::RotaryDims dims(c.shape->head_dim, c.shape->rotary_dim);
  auto keys = ropekit::token_major_view(b.k.data(), c.tokens, c.shape->kv_heads, c.shape->head_dim);
  if constexpr (ropekit::is_fp8_v<T>) keys = keys.with_scale(0.05f);
  const float one = runtime_one();
  auto pass = [&] { scale(b.k.data(), static_cast<std::int64_t>(b.k.size()), one); };
  label_with_path(state);
  const std::size_t bytes = b.k.size() * sizeof(T);
  if (!retabling) {
    const ropekit::Rope<scaling::Default, L> rope(dims, scaling::Default(c.shape->base));
    const ropekit::FrequencyTable table = rope.table();
    const auto old_positions = ropekit::Positions::starting_at(c.first_position() - kShiftDelta);
    const auto new_positions = ropekit::Positions::starting_at(c.first_position());
    const auto delta = ropekit::Positions::constant(kShiftDelta);
    auto fused = [&] { ropekit::shift<L>(table, dims, keys, delta); };
    timed(state, fused, bytes, c.tokens, &pass);
    state.counters["speedup_vs_unfused"] = roofline_ratio(fused, [&] {
      ropekit::rotate_inverse<L>(table, dims, keys, old_positions);
      ropekit::rotate<L>(table, dims, keys, new_positions);
    });
    require_no_subnormals(state, b);
    return;
  }
  const ropekit::Rope<scaling::DynamicNtk, L> rope(dims, scaling::DynamicNtk(4.0, 8192, c.shape->base));
  const ropekit::FrequencyTable from = rope.table_for(8192), to = rope.table_for(32768);
  const ropekit::TableChange change(from, to);
  const auto positions = ropekit::Positions::starting_at(c.first_position());
  auto fused = [&] { ropekit::retable<L>(change, dims, keys, positions); };
  timed(state, fused, bytes, c.tokens, &pass);
  state.counters["speedup_vs_unfused"] = roofline_ratio(fused, [&] {
    ropekit::rotate_inverse<L>(from, dims, keys, positions);
    ropekit::rotate<L>(to, dims, keys, positions);
  });
  require_no_subnormals(state, b);
}

// decode 1 and 64, prefill 4096; float, bfloat16 and FP8 (E4M3) keys; both
// layouts; Llama-3-8B (8 KV heads of 128).
inline void register_key_cases() {
  const Shape& llama = kShapes[0];
  const std::pair<const char*, std::int64_t> phases[] = {{"decode", 1}, {"decode", 64}, {"prefill", 4096}};
  for (const auto& [phase, tokens] : phases) {
    const Case c{&llama, tokens, phase};
    const auto add = [&](auto type) {
      using T = decltype(type);
      for (bool retabling : {false, true})
        for (Layout layout : {ropekit::neox, ropekit::gptj}) {
          const std::string name = "ropekit_fused/" + c.suffix(ropekit::storage_name<T>()) +
                                   (layout == ropekit::neox ? "/neox/" : "/gptj/") +
                                   (retabling ? "retable" : "k_shift");
          if (layout == ropekit::neox)
            benchmark::RegisterBenchmark(name.c_str(), key_case<T, ropekit::neox>, c, retabling);
          else
            benchmark::RegisterBenchmark(name.c_str(), key_case<T, ropekit::gptj>, c, retabling);
        }
    };
    add(float{});
    add(Eigen::bfloat16{});
    add(ropekit::float8_e4m3fn{});
  }
}
