// SPDX-License-Identifier: Apache-2.0
// Whole-array FP8 conversions written once over `fp8_ops` and included (no
// include guard, on purpose) inside each ISA namespace after its `fp8_ops`
// and inside that ISA's target region, like kernel-inl.hpp. They convert
// unrotated data (the V half of a KV-cache append) and let the tests drive
// every full and partial vector conversion. The float side of a tail goes
// through a stack buffer; the FP8 side uses the partial conversions, so
// exactly n codes are read or written.
//
// `fp8_ops` provides kF float lanes (vf) and: set1, mul, div, load/store of
// float, and load/store/load_partial/store_partial of basic_float8<Format>.

// out[i] = F(in[i] / scale), as quantize_fp8<F>(in[i], scale).
template <class Format>
inline void quantize_fp8_array(const float* in, basic_float8<Format>* out, std::int64_t n,
                               float scale) {
  constexpr int kF = fp8_ops::kF;
  const typename fp8_ops::vf divisor = fp8_ops::set1(scale);
  std::int64_t i = 0;
  for (; i + kF <= n; i += kF) fp8_ops::store(out + i, fp8_ops::div(fp8_ops::load(in + i), divisor));
  if (i < n) {
    const int rest = static_cast<int>(n - i);
    float tail[kF] = {};
    std::memcpy(tail, in + i, static_cast<std::size_t>(rest) * sizeof(float));
    fp8_ops::store_partial(out + i, fp8_ops::div(fp8_ops::load(tail), divisor), rest);
  }
}

// out[i] = float(in[i]) * scale, as dequantize_fp8(in[i], scale).
template <class Format>
inline void dequantize_fp8_array(const basic_float8<Format>* in, float* out, std::int64_t n,
                                 float scale) {
  constexpr int kF = fp8_ops::kF;
  const typename fp8_ops::vf factor = fp8_ops::set1(scale);
  std::int64_t i = 0;
  for (; i + kF <= n; i += kF) fp8_ops::store(out + i, fp8_ops::mul(fp8_ops::load(in + i), factor));
  if (i < n) {
    const int rest = static_cast<int>(n - i);
    float tail[kF];
    fp8_ops::store(tail, fp8_ops::mul(fp8_ops::load_partial(in + i, rest), factor));
    std::memcpy(out + i, tail, static_cast<std::size_t>(rest) * sizeof(float));
  }
}
