// SPDX-License-Identifier: Apache-2.0
// Version macros and the versioned inline namespace every public name lives in.
#ifndef ROPEKIT_VERSION_HPP
#define ROPEKIT_VERSION_HPP

#define ROPEKIT_VERSION_MAJOR 0
#define ROPEKIT_VERSION_MINOR 1
#define ROPEKIT_VERSION_PATCH 0
#define ROPEKIT_VERSION \
  (ROPEKIT_VERSION_MAJOR * 10000 + ROPEKIT_VERSION_MINOR * 100 + ROPEKIT_VERSION_PATCH)

// The inline namespace carries the ABI version so that two ropekit versions
// linked into one program do not silently share inline functions.
#define ROPEKIT_BEGIN_NAMESPACE \
  namespace ropekit {           \
  inline namespace v0 {
#define ROPEKIT_END_NAMESPACE \
  }                           \
  }

#endif  // ROPEKIT_VERSION_HPP
