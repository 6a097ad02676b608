// SPDX-License-Identifier: Apache-2.0
// The policy list: every scaling policy ropekit ships, and AnyPolicy, the
// runtime value AnyRope and the config loader build. A new policy is its
// header (included here) and one line in AnyPolicy below; AnyRope, the
// umbrella header and the tests that walk AnyPolicy pick it up from here.
#ifndef ROPEKIT_SCALING_ALL_HPP
#define ROPEKIT_SCALING_ALL_HPP

#include <variant>

#include "../version.hpp"
#include "default.hpp"
#include "dynamic_ntk.hpp"
#include "fixed_base.hpp"
#include "linear.hpp"
#include "llama3.hpp"
#include "longrope.hpp"
#include "mrope.hpp"
#include "ntk_aware.hpp"
#include "proportional.hpp"
#include "vision_2d.hpp"
#include "yarn.hpp"

#include "../detail/macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE

/// Every scaling policy ropekit ships, as one runtime value. M-RoPE appears
/// over the two inner policies models use it with: default frequencies
/// (Qwen2-VL, Qwen2.5-VL, Qwen3-VL) and YaRN (vLLM's yarn + mrope_section).
// clang-format off
using AnyPolicy = std::variant<
    scaling::Default,
    scaling::FixedBase,
    scaling::Linear,
    scaling::NtkAware,
    scaling::DynamicNtk,
    scaling::Yarn,
    scaling::Llama3,
    scaling::LongRope,
    scaling::Mrope<scaling::Default>,
    scaling::Mrope<scaling::Yarn>,
    scaling::Proportional,
    scaling::Vision2d>;
// clang-format on

ROPEKIT_END_NAMESPACE

#include "../detail/macros_end.inl"

#endif  // ROPEKIT_SCALING_ALL_HPP
