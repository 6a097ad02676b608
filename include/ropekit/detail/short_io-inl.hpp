// SPDX-License-Identifier: Apache-2.0
// Loads and stores of fewer than 8 bytes (a multiple of 2) between memory and
// the low bytes of an integer register, for the partial vectors of ISAs
// without masked moves. Staging through a stack buffer instead costs a
// store-forwarding stall per access, 4x the time of a rotary tail like
// GPT-NeoX's (12 pairs = 8 + 4). Included, without include guard, inside
// each ISA namespace that needs it, so it is compiled for that ISA only.
// Little-endian, as every target ropekit compiles SIMD for is.

inline std::uint64_t load_short(const unsigned char* p, std::size_t bytes) {
  if (bytes & 8) {
    std::uint64_t all;
    std::memcpy(&all, p, 8);
    return all;
  }
  std::uint32_t low = 0;
  std::uint16_t high = 0;
  if (bytes & 4) std::memcpy(&low, p, 4);
  if (bytes & 2) std::memcpy(&high, p + (bytes & 4), 2);
  return low | (std::uint64_t{high} << (8 * (bytes & 4)));
}

inline void store_short(unsigned char* p, std::uint64_t value, std::size_t bytes) {
  if (bytes & 8) {
    std::memcpy(p, &value, 8);
    return;
  }
  if (bytes & 4) {
    const auto low = static_cast<std::uint32_t>(value);
    std::memcpy(p, &low, 4);
  }
  if (bytes & 2) {
    const auto high = static_cast<std::uint16_t>(value >> (8 * (bytes & 4)));
    std::memcpy(p + (bytes & 4), &high, 2);
  }
}
