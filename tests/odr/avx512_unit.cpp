// SPDX-License-Identifier: Apache-2.0
// Compiled with AVX-512 (F, BW, VL, DQ) and no runtime dispatch: takes the
// AVX-512 path where the CPU has it.
#define ROPEKIT_ODR_UNIT_FUNCTION rotate_in_avx512_unit
#define ROPEKIT_ODR_UNIT_API_FUNCTION api_in_avx512_unit
#include "unit.inc"
