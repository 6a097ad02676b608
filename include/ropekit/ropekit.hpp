// SPDX-License-Identifier: Apache-2.0
// Umbrella header: everything but the optional JSON config loader.
#ifndef ROPEKIT_ROPEKIT_HPP
#define ROPEKIT_ROPEKIT_HPP

#include "any_rope.hpp"
#include "backward.hpp"
#include "cos_sin_cache.hpp"
#include "dims.hpp"
#include "eigen_view.hpp"
#include "error.hpp"
#include "fp8.hpp"
#include "frequencies.hpp"
#include "isa.hpp"
#include "kv_cache.hpp"
#include "layout.hpp"
#include "model_rope.hpp"
#include "parallel.hpp"
#include "positions.hpp"
#include "qk_norm.hpp"
#include "retable.hpp"
#include "rope.hpp"
#include "rotate.hpp"
#include "rotate_into.hpp"
#include "scaling/all.hpp"
#include "shift.hpp"
#include "storage.hpp"
#include "version.hpp"
#include "view.hpp"

#endif  // ROPEKIT_ROPEKIT_HPP
