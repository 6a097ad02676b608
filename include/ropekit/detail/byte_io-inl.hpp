// SPDX-License-Identifier: Apache-2.0
// Loads and stores of fewer than 8 bytes, any count, between memory and the
// low bytes of a 64-bit word: the partial vectors of 1-byte elements (FP8
// codes) on ISAs without masked byte moves, touching exactly `count` bytes.
// Like short_io-inl.hpp (which handles even counts), included without
// include guard inside each ISA namespace that needs it, so it is compiled
// for that ISA only. Little-endian, as every SIMD target of ropekit is.

inline std::uint64_t load_bytes(const unsigned char* p, std::size_t count) {
  std::uint32_t low = 0;
  std::uint16_t middle = 0;
  std::uint8_t high = 0;
  if (count & 4) std::memcpy(&low, p, 4);
  if (count & 2) std::memcpy(&middle, p + (count & 4), 2);
  if (count & 1) high = p[count & 6];
  return low | (std::uint64_t{middle} << (8 * (count & 4))) |
         (std::uint64_t{high} << (8 * (count & 6)));
}

inline void store_bytes(unsigned char* p, std::uint64_t value, std::size_t count) {
  if (count & 4) {
    const auto low = static_cast<std::uint32_t>(value);
    std::memcpy(p, &low, 4);
  }
  if (count & 2) {
    const auto middle = static_cast<std::uint16_t>(value >> (8 * (count & 4)));
    std::memcpy(p + (count & 4), &middle, 2);
  }
  if (count & 1) p[count & 6] = static_cast<unsigned char>(value >> (8 * (count & 6)));
}
