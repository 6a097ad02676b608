// SPDX-License-Identifier: Apache-2.0
// Compiled with -mavx2 -mfma -mf16c and no runtime dispatch: takes the AVX2 path.
#define ROPEKIT_ODR_UNIT_FUNCTION rotate_in_avx2_unit
#define ROPEKIT_ODR_UNIT_API_FUNCTION api_in_avx2_unit
#include "unit.inc"
