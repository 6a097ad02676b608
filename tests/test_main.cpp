// SPDX-License-Identifier: Apache-2.0
// GoogleTest main for every ropekit test binary. It reports the kernel path
// the suite runs on, and when ROPEKIT_FORCE_ISA names a path this CPU or
// build cannot run, it exits 77 so that ctest reports the run as skipped
// instead of failing or silently testing another path.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include <ropekit/rotate.hpp>

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  try {
    ropekit::Isa forced = ropekit::Isa::scalar;
    if (ropekit::forced_isa(&forced)) {
      const auto usable = ropekit::available_isas();
      if (std::find(usable.begin(), usable.end(), forced) == usable.end()) {
        std::printf("ropekit: ROPEKIT_FORCE_ISA=%s cannot run on this CPU/build: skipped\n",
                    ropekit::isa_name(forced));
        return 77;
      }
    }
    std::printf("ropekit: kernel path %s\n", ropekit::isa_name(ropekit::active_isa()));
  } catch (const std::invalid_argument& e) {
    std::printf("%s\n", e.what());
    return 1;
  }
  return RUN_ALL_TESTS();
}
