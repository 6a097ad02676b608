// SPDX-License-Identifier: Apache-2.0
// HfConfigError: what the config loaders (<ropekit/hf_config.hpp>) throw for
// a config they cannot load. Needs nothing but the standard library.
#ifndef ROPEKIT_HF_CONFIG_ERROR_HPP
#define ROPEKIT_HF_CONFIG_ERROR_HPP

#include <stdexcept>
#include <string>
#include <utility>

#include "version.hpp"

#include "detail/macros_begin.inl"

ROPEKIT_BEGIN_NAMESPACE

/// A config that cannot be loaded. `what()` is
/// "ropekit: <source>: <field> = <value>: <requirement>" (or
/// "ropekit: <source>: <field>: <problem>" for a missing field). It is the
/// std::invalid_argument every ropekit error is.
class HfConfigError : public std::invalid_argument {
 public:
  HfConfigError(std::string source, std::string field, const std::string& message)
      : std::invalid_argument(message), source_(std::move(source)), field_(std::move(field)) {}
  /// The file path or the `source_name` given.
  const std::string& source() const noexcept { return source_; }
  /// The JSON path of the offending field ("rope_scaling.factor"); empty
  /// for file-level problems (unreadable, not JSON).
  const std::string& field() const noexcept { return field_; }

 private:
  std::string source_;
  std::string field_;
};

ROPEKIT_END_NAMESPACE

#include "detail/macros_end.inl"

#endif  // ROPEKIT_HF_CONFIG_ERROR_HPP
