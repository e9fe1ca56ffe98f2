#pragma once
// Checks of command-line numbers, with plain messages. CLI11 converts "-1" into an
// unsigned option by wrapping it around to the type's maximum (so "--body-limit -1" was
// no limit at all), and its own number checks print their range as full-precision
// doubles. A text that is not a number passes these checks: the conversion refuses it.

#include <cstdlib>
#include <string>

#include "CLI/CLI.hpp"

namespace streamrec {

namespace cli_checks_internal {
// Whether `text` is a number, in `*value`.
inline bool AsNumber(const std::string& text, double* value) {
  char* end = nullptr;
  *value = std::strtod(text.c_str(), &end);
  return end != text.c_str() && *end == '\0';
}
}  // namespace cli_checks_internal

// A number of at least 0.
inline const CLI::Validator kNotNegative(
    [](std::string& text) -> std::string {
      double value = 0;
      if (!cli_checks_internal::AsNumber(text, &value) || value >= 0) return "";
      return "must not be negative, not " + text;
    },
    "NUMBER >= 0");

// A number above 0.
inline const CLI::Validator kAboveZero(
    [](std::string& text) -> std::string {
      double value = 0;
      if (!cli_checks_internal::AsNumber(text, &value) || value > 0) return "";
      return "must be more than 0, not " + text;
    },
    "NUMBER > 0");

}  // namespace streamrec
