// SPDX-License-Identifier: Apache-2.0
// Compiled for baseline x86-64 and no runtime dispatch: takes the scalar path.
#define ROPEKIT_ODR_UNIT_FUNCTION rotate_in_baseline_unit
#define ROPEKIT_ODR_UNIT_API_FUNCTION api_in_baseline_unit
#include "unit.inc"
