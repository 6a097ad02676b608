// SPDX-License-Identifier: Apache-2.0
// Version macros (the versioned inline namespace is opened by
// detail/macros_begin.inl).
#ifndef ROPEKIT_VERSION_HPP
#define ROPEKIT_VERSION_HPP

#define ROPEKIT_VERSION_MAJOR 0
#define ROPEKIT_VERSION_MINOR 1
#define ROPEKIT_VERSION_PATCH 0
#define ROPEKIT_VERSION \
  (ROPEKIT_VERSION_MAJOR * 10000 + ROPEKIT_VERSION_MINOR * 100 + ROPEKIT_VERSION_PATCH)

#endif  // ROPEKIT_VERSION_HPP
