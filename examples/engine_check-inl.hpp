// SPDX-License-Identifier: Apache-2.0
// ropekit-engine's check (a fragment of engine.cpp, included inside its anonymous namespace):
// the naive reference layer and the bound its output is held to.
// The reference for layer l, fed the engine's input to that layer (so differences do not
// compound through layers of random weights, which would measure the network, not the cache),
// and the check of the engine's output against it.
//
// The bounds. Each store into the cache rounds: |error| <= b = u |x| + a (see Rounding).
// Rounding errors are modelled as independent and mean-zero (Higham and Mary, "A New Approach to
// Probabilistic Rounding Error Analysis", SIAM J. Sci. Comput. 2019): a linear combination
// sum c_i e_i of independent ones, |e_i| <= b_i, exceeds lambda sqrt(sum c_i^2 b_i^2) with
// probability below 2 exp(-lambda^2 / 2) (Hoeffding): 3e-8 for lambda = 6.
//  - Attention output o_c of one head, to first order in the errors:
//      do_c = sum_j p_j ds_j (v_jc - o_c) + sum_j p_j dv_jc,  ds_j = sum_i q_i dk_ji / sqrt(d),
//    Key j went through r_j roundings (its store and one per shift), each adding to a rotated
//    pair an error of norm <= sqrt(2) (u rho + a), rho the pair's norm (rotations keep it); keys
//    are rotated at distinct positions, so their roundings are independent: ds_j has variance
//    proxy S_j = sum_pairs |q_pair|^2 r_j (u rho (1+u)^r_j + a)^2 / d, and the first sum is
//    within lambda sigma_c, sigma_c^2 = sum_j (p_j (v_jc - o_c))^2 S_j, times
//    (1 + 2 lambda max sqrt(S_j)) for the second order. Values are not rotated: a token seen
//    twice stores the same value with the same rounding (layer 0), so their sum is taken in
//    worst case, sum_j p_j (u |v_jc| + a). Plus float rounding of the engine's own dot products,
//    exp and sums (worst case, (n + 8) 2^-24).
//  - Layer output (the hidden state): the output projection adds the channel bounds in worst
//    case, sum_c |Wo_rc| e_c (they share score errors), plus its float rounding and the
//    residual add's.
// A wrong rotation (a shift by the wrong delta) moves scores by O(1), far past the first bound.
template <class C>
bool Engine<C>::check(std::int64_t l, std::int64_t first, std::int64_t n,
                      const std::vector<float>& input, const std::vector<float>& engine_out) {
  const Layer& w = weights_[std::size_t(l)];
  const std::int64_t d = o_.head_dim, half = d / 2, group = o_.heads / o_.kv_heads;
  std::vector<float> xn(input.size()), q(input.size()), k(std::size_t(n * kv_dim())), v(k.size());
  rms_norm(input.data(), n, hidden_, w.attn_norm, xn.data());
  project(xn.data(), n, hidden_, w.wq, hidden_, q.data());
  project(xn.data(), n, hidden_, w.wk, kv_dim(), k.data());
  project(xn.data(), n, hidden_, w.wv, kv_dim(), v.data());
  auto norm = [&](float* head, const std::vector<float>& weight) {
    double sum = 0;
    for (std::int64_t c = 0; c < d; ++c) sum += double(head[c]) * head[c];
    const double r = 1.0 / std::sqrt(sum / double(d) + 1e-6);
    for (std::int64_t c = 0; c < d; ++c) head[c] = float(head[c] * r * weight[std::size_t(c)]);
  };
  std::vector<float>& kc = ref_.k[std::size_t(l)];
  std::vector<float>& vc = ref_.v[std::size_t(l)];
  for (std::int64_t t = 0; t < n; ++t) {
    const double pos = double(first + t);
    for (std::int64_t h = 0; h < o_.heads; ++h) {
      float* head = &q[std::size_t((t * o_.heads + h) * d)];
      if (o_.qk_norm) norm(head, w.q_norm);
      ref_.rotate(head, pos, ref_.attention_factor);
    }
    for (std::int64_t h = 0; h < o_.kv_heads; ++h) {
      float* head = &k[std::size_t((t * o_.kv_heads + h) * d)];
      if (o_.qk_norm) norm(head, w.k_norm);
      ref_.rotate(head, pos, ref_.attention_factor);
    }
    const std::size_t cell = std::size_t((first + t) * kv_dim());
    std::copy_n(&k[std::size_t(t * kv_dim())], kv_dim(), &kc[cell]);
    std::copy_n(&v[std::size_t(t * kv_dim())], kv_dim(), &vc[cell]);
    ref_.rounds[std::size_t(first + t)] = 1;
    if constexpr (ropekit::is_fp8_v<C>)
      for (std::int64_t i = 0; i < kv_dim(); ++i)
        if (std::fabs(kc[cell + std::size_t(i)]) > 440 * scale_ ||
            std::fabs(vc[cell + std::size_t(i)]) > 440 * scale_)
          throw std::runtime_error("a key or value saturates FP8 at scale " +
                                   std::to_string(scale_));
  }
  const double u = rounding_.u, a = rounding_.a, f = 0x1p-24, rsd = 1.0 / std::sqrt(double(d));
  std::vector<double> o(input.size()), err(input.size()), p, score_proxy;
  constexpr double kLambda = 6.0;
  for (std::int64_t t = 0; t < n; ++t)
    for (std::int64_t h = 0; h < o_.heads; ++h) {
      const float* qh = &q[std::size_t((t * o_.heads + h) * d)];
      const std::int64_t kvh = h / group, seen = first + t + 1;
      p.assign(std::size_t(seen), 0.0);
      score_proxy.assign(std::size_t(seen), 0.0);
      double top = -INFINITY, worst_s = 0, smax = 0, float_s = 0, total = 0;
      for (std::int64_t j = 0; j < seen; ++j) {
        const float* kj = &kc[std::size_t(j * kv_dim() + kvh * d)];
        const int r = ref_.rounds[std::size_t(j)];
        double s = 0, abs_sum = 0, proxy = 0;
        for (std::int64_t i = 0; i < half; ++i) {
          const std::int64_t x = ref_.half_split ? i : 2 * i,
                             y = ref_.half_split ? i + half : 2 * i + 1;
          s += double(qh[x]) * kj[x] + double(qh[y]) * kj[y];
          abs_sum += std::fabs(qh[x] * kj[x]) + std::fabs(qh[y] * kj[y]);
          const double rho = std::hypot(double(kj[x]), double(kj[y]));
          const double b = u * rho * std::pow(1 + u, r) + a;
          proxy += (double(qh[x]) * qh[x] + double(qh[y]) * qh[y]) * r * b * b;
        }
        p[std::size_t(j)] = s * rsd;
        score_proxy[std::size_t(j)] = proxy / double(d);
        worst_s = std::max(worst_s, score_proxy[std::size_t(j)]);
        float_s = std::max(float_s, double(d + 8) * f * abs_sum * rsd);
        top = std::max(top, p[std::size_t(j)]);
        smax = std::max(smax, std::fabs(p[std::size_t(j)]));
      }
      float_s += 16 * f * (1 + smax);  // float exp and normalisation
      for (double& x : p) total += x = std::exp(x - top);
      for (double& x : p) x /= total;
      const double second_order = 1 + 2 * kLambda * std::sqrt(worst_s);
      for (std::int64_t c = 0; c < d; ++c) {
        double mean = 0, abs_mean = 0, sigma2 = 0, value_part = 0;
        for (std::int64_t j = 0; j < seen; ++j) {
          const double vj = vc[std::size_t(j * kv_dim() + kvh * d + c)], pj = p[std::size_t(j)];
          mean += pj * vj;
          abs_mean += pj * std::fabs(vj);
          value_part += pj * (u * std::fabs(vj) + a);
        }
        for (std::int64_t j = 0; j < seen; ++j) {
          const double vj = vc[std::size_t(j * kv_dim() + kvh * d + c)];
          const double e = p[std::size_t(j)] * (vj - mean);
          sigma2 += e * e * score_proxy[std::size_t(j)];
        }
        const std::size_t at = std::size_t((t * o_.heads + h) * d + c);
        o[at] = mean;
        err[at] = kLambda * std::sqrt(sigma2) * second_order + value_part +
                  std::expm1(2 * float_s) * abs_mean + double(seen + 8) * f * abs_mean;
        const double dev = std::fabs(attention_out_[at] - mean);
        stats_.max_attention_dev = std::max(stats_.max_attention_dev, dev);
        stats_.max_attention_ratio = std::max(stats_.max_attention_ratio, dev / err[at]);
        if (!(dev <= err[at])) {
          std::printf(
              "DISAGREES with the reference at position %lld, layer %lld, attention head "
              "%lld channel %lld: engine %.9g, reference %.9g, deviation %.3g > bound %.3g\n",
              (long long)(first + t), (long long)l, (long long)h, (long long)c,
              double(attention_out_[at]), mean, dev, err[at]);
          return false;
        }
      }
    }
  for (std::int64_t t = 0; t < n; ++t)
    for (std::int64_t r = 0; r < hidden_; ++r) {
      double y = 0, bound = 0, abs_y = 0;
      for (std::int64_t c = 0; c < hidden_; ++c) {
        const double wrc = w.wo[std::size_t(r * hidden_ + c)], oc = o[std::size_t(t * hidden_ + c)];
        const double ec = err[std::size_t(t * hidden_ + c)];
        y += wrc * oc;
        bound += std::fabs(wrc) * ec;
        abs_y += std::fabs(wrc) * (std::fabs(oc) + ec);
      }
      const std::size_t at = std::size_t(t * hidden_ + r);
      const double expected = input[at] + y;
      bound += double(hidden_ + 8) * f * abs_y + 2 * f * (std::fabs(expected) + abs_y);
      const double dev = std::fabs(engine_out[at] - expected);
      stats_.max_dev = std::max(stats_.max_dev, dev);
      stats_.max_ratio = std::max(stats_.max_ratio, dev / bound);
      if (!(dev <= bound)) {
        std::printf(
            "DISAGREES with the reference at position %lld, layer %lld, hidden channel %lld: "
            "engine "
            "%.9g, reference %.9g, deviation %.3g > bound %.3g\n",
            (long long)(first + t), (long long)l, (long long)r, double(engine_out[at]), expected,
            dev, bound);
        return false;
      }
    }
  ++stats_.checks;
  return true;
}
