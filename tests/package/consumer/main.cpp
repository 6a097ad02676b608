// SPDX-License-Identifier: Apache-2.0
#include <ropekit/ropekit.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

int main() {
  ropekit::Rope<ropekit::scaling::Default> rope(ropekit::RotaryDims(2));
  std::vector<float> q = {1.0f, 0.0f};
  rope.apply_q(ropekit::token_major_view(q.data(), 1, 1, 2), ropekit::Positions::starting_at(1));
  const bool ok = std::fabs(q[0] - std::cos(1.0f)) < 1e-6f && std::fabs(q[1] - std::sin(1.0f)) < 1e-6f;
  std::printf(ok ? "consumer ok\n" : "consumer wrong: %f %f\n", q[0], q[1]);
  return ok ? 0 : 1;
}
