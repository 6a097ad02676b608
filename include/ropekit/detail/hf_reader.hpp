// SPDX-License-Identifier: Apache-2.0
// Typed reads of config.json fields for the config loaders: every read
// checks the JSON type and range and reports a bad value as HfConfigError
// naming the source and the JSON path of the field.
#ifndef ROPEKIT_DETAIL_HF_READER_HPP
#define ROPEKIT_DETAIL_HF_READER_HPP

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../hf_config_error.hpp"
#include "../version.hpp"

#include "macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE
namespace detail {

using hf_json = nlohmann::json;

// A number with round-trip digits, for messages and notes.
inline std::string hf_format(double value) {
  std::ostringstream out;
  out.precision(17);
  out << value;
  return out.str();
}

// Reads typed fields and reports errors with the source and JSON path.
class HfReader {
 public:
  explicit HfReader(std::string source) : source_(std::move(source)) {}

  const std::string& source() const noexcept { return source_; }

  [[noreturn]] void fail(const std::string& field, const hf_json* value,
                         const std::string& requirement) const {
    std::string message = "ropekit: " + source_ + ": " + field;
    if (value != nullptr) message += " = " + describe(*value);
    message += ": " + requirement;
    throw HfConfigError(source_, field, message);
  }
  [[noreturn]] void missing(const std::string& field, const std::string& why) const {
    fail(field, nullptr, "missing (" + why + ")");
  }

  // A JSON value for a message: numbers with round-trip digits (NaN and
  // infinity included, which dump() would print as null), long values cut.
  static std::string describe(const hf_json& value) {
    std::string text = value.is_number_float()
                           ? hf_format(value.get<double>())
                           : value.dump(-1, ' ', false, hf_json::error_handler_t::replace);
    constexpr std::size_t kMax = 160;
    if (text.size() > kMax) text = text.substr(0, kMax) + "...";
    return text;
  }

  // The member `key` of `object`, or nullptr when absent.
  static const hf_json* find(const hf_json* object, const char* key) {
    if (object == nullptr || !object->is_object()) return nullptr;
    const auto it = object->find(key);
    return it == object->end() ? nullptr : &*it;
  }
  // Same, with null read as absent (transformers' None).
  static const hf_json* find_non_null(const hf_json* object, const char* key) {
    const hf_json* value = find(object, key);
    return value != nullptr && value->is_null() ? nullptr : value;
  }

  double number(const hf_json& value, const std::string& field) const {
    if (!value.is_number()) fail(field, &value, "must be a number");
    const double x = value.get<double>();
    if (!std::isfinite(x)) fail(field, &value, "must be finite");
    return x;
  }
  double positive_number(const hf_json& value, const std::string& field) const {
    const double x = number(value, field);
    if (!(x > 0.0)) fail(field, &value, "must be positive");
    return x;
  }
  double non_negative_number(const hf_json& value, const std::string& field) const {
    const double x = number(value, field);
    if (!(x >= 0.0)) fail(field, &value, "must not be negative");
    return x;
  }
  // An integer; 4096.0 is accepted (Python writes ints and floats alike).
  std::int64_t integer(const hf_json& value, const std::string& field) const {
    if (value.is_number_integer()) {
      if (value.is_number_unsigned() &&
          value.get<std::uint64_t>() >
              static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        fail(field, &value, "is out of range");
      return value.get<std::int64_t>();
    }
    if (value.is_number_float()) {
      const double x = value.get<double>();
      if (std::isfinite(x) && x == std::floor(x) && std::fabs(x) < 0x1p62)
        return static_cast<std::int64_t>(x);
    }
    fail(field, &value, "must be an integer");
  }
  std::int64_t positive_integer(const hf_json& value, const std::string& field) const {
    const std::int64_t n = integer(value, field);
    if (n <= 0) fail(field, &value, "must be positive");
    return n;
  }
  bool boolean(const hf_json& value, const std::string& field) const {
    if (!value.is_boolean()) fail(field, &value, "must be true or false");
    return value.get<bool>();
  }
  std::string string(const hf_json& value, const std::string& field) const {
    if (!value.is_string()) fail(field, &value, "must be a string");
    return value.get<std::string>();
  }
  std::vector<double> positive_list(const hf_json& value, const std::string& field) const {
    if (!value.is_array()) fail(field, &value, "must be a list of numbers");
    std::vector<double> out;
    out.reserve(value.size());
    for (std::size_t i = 0; i < value.size(); ++i)
      out.push_back(positive_number(value[i], field + "[" + std::to_string(i) + "]"));
    return out;
  }

  // A number the same in every place that gives it; nullopt when none does.
  // `names` are JSON paths, `values` the matching values (nullptr = absent).
  std::optional<double> agreeing_number(const std::vector<std::string>& names,
                                        const std::vector<const hf_json*>& values) const {
    std::optional<double> result;
    std::string first;
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (values[i] == nullptr) continue;
      const double x = number(*values[i], names[i]);
      if (!result) {
        result = x;
        first = names[i];
      } else if (x != *result) {
        fail(names[i], values[i], "disagrees with " + first + " = " + hf_format(*result));
      }
    }
    return result;
  }
  // The same for positive integers.
  std::optional<std::int64_t> agreeing_integer(const std::vector<std::string>& names,
                                               const std::vector<const hf_json*>& values) const {
    std::optional<std::int64_t> result;
    std::string first;
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (values[i] == nullptr) continue;
      const std::int64_t n = positive_integer(*values[i], names[i]);
      if (!result) {
        result = n;
        first = names[i];
      } else if (n != *result) {
        fail(names[i], values[i], "disagrees with " + first + " = " + std::to_string(*result));
      }
    }
    return result;
  }

 private:
  std::string source_;
};

// Whether `word` is one of the space-separated words of `list`.
inline bool hf_word_in(const char* list, const std::string& word) {
  const std::string text = list;
  std::size_t begin = 0;
  while (begin < text.size()) {
    std::size_t end = text.find(' ', begin);
    if (end == std::string::npos) end = text.size();
    if (text.compare(begin, end - begin, word) == 0 && end - begin == word.size()) return true;
    begin = end + 1;
  }
  return false;
}

}  // namespace detail
ROPEKIT_END_NAMESPACE

#include "macros_end.inl"

#endif  // ROPEKIT_DETAIL_HF_READER_HPP
