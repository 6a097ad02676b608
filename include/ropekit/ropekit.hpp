// SPDX-License-Identifier: Apache-2.0
// Umbrella header: everything but the optional JSON config loader.
#ifndef ROPEKIT_ROPEKIT_HPP
#define ROPEKIT_ROPEKIT_HPP

#include "any_rope.hpp"
#include "cos_sin_cache.hpp"
#include "dims.hpp"
#include "eigen_view.hpp"
#include "error.hpp"
#include "fp8.hpp"
#include "frequencies.hpp"
#include "isa.hpp"
#include "kv_cache.hpp"
#include "layout.hpp"
#include "parallel.hpp"
#include "positions.hpp"
#include "rope.hpp"
#include "rotate.hpp"
#include "rotate_into.hpp"
#include "scaling/default.hpp"
#include "scaling/dynamic_ntk.hpp"
#include "scaling/fixed_base.hpp"
#include "scaling/linear.hpp"
#include "scaling/llama3.hpp"
#include "scaling/longrope.hpp"
#include "scaling/mrope.hpp"
#include "scaling/ntk_aware.hpp"
#include "scaling/proportional.hpp"
#include "scaling/vision_2d.hpp"
#include "scaling/yarn.hpp"
#include "storage.hpp"
#include "version.hpp"
#include "view.hpp"

#endif  // ROPEKIT_ROPEKIT_HPP
