// SPDX-License-Identifier: Apache-2.0
// Turns fuzz bytes into choices. Bytes are taken from the front, so the first
// bytes of an input decide its structure and a mutation near the start
// changes the case, one near the end a detail. Past the end every choice
// takes its smallest value, so every input, however short, is a valid case.
// (clang's FuzzedDataProvider would do, but the replay build uses GCC.)
#ifndef ROPEKIT_TESTS_FUZZ_FUZZ_INPUT_HPP
#define ROPEKIT_TESTS_FUZZ_FUZZ_INPUT_HPP

#include <cmath>
#include <cstddef>
#include <cstdint>

namespace ropekit_fuzz {

class FuzzInput {
 public:
  FuzzInput(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  std::size_t remaining() const noexcept { return size_ - used_; }

  /// An integer in [lo, hi], from as few bytes as the range needs.
  std::int64_t integer(std::int64_t lo, std::int64_t hi) {
    if (hi <= lo) return lo;
    const std::uint64_t range = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo);
    std::uint64_t value = 0;
    for (std::uint64_t covered = 0; covered < range && used_ < size_; covered = (covered << 8) | 0xff)
      value = (value << 8) | data_[used_++];
    if (range != ~std::uint64_t{0}) value %= range + 1;
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + value);
  }

  bool flag() { return integer(0, 1) == 1; }

  /// One of `count` alternatives, 0-based.
  std::size_t pick(std::size_t count) {
    return static_cast<std::size_t>(integer(0, static_cast<std::int64_t>(count) - 1));
  }

  /// A fraction in [0, 1] on a grid of 2^16 steps.
  double fraction() { return static_cast<double>(integer(0, 65535)) / 65535.0; }

  /// Log-uniform in [lo, hi] (both positive).
  double log_uniform(double lo, double hi) {
    return lo * std::pow(hi / lo, fraction());
  }

  /// A 64-bit seed for bulk data (tensor values), so that long inputs are
  /// not needed to fill large buffers.
  std::uint64_t seed() { return static_cast<std::uint64_t>(integer(0, 0xffffffff)); }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t used_ = 0;
};

/// splitmix64: a small deterministic generator for tensor values.
class SplitMix {
 public:
  explicit SplitMix(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, 1).
  double unit() { return static_cast<double>(next() >> 11) * 0x1p-53; }
  /// Uniform integer in [lo, hi].
  std::int64_t integer(std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(next() % static_cast<std::uint64_t>(hi - lo + 1));
  }

 private:
  std::uint64_t state_;
};

}  // namespace ropekit_fuzz

#endif  // ROPEKIT_TESTS_FUZZ_FUZZ_INPUT_HPP
