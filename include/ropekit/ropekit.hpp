// SPDX-License-Identifier: Apache-2.0
// Umbrella header: everything but the optional JSON config loader.
#ifndef ROPEKIT_ROPEKIT_HPP
#define ROPEKIT_ROPEKIT_HPP

#include "dims.hpp"
#include "eigen_view.hpp"
#include "error.hpp"
#include "frequencies.hpp"
#include "layout.hpp"
#include "positions.hpp"
#include "rope.hpp"
#include "rotate.hpp"
#include "scaling/default.hpp"
#include "scaling/dynamic_ntk.hpp"
#include "scaling/fixed_base.hpp"
#include "scaling/linear.hpp"
#include "scaling/ntk_aware.hpp"
#include "storage.hpp"
#include "version.hpp"
#include "view.hpp"

#endif  // ROPEKIT_ROPEKIT_HPP
