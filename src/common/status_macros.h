#pragma once
// Early-return helpers for absl::Status and absl::StatusOr.

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define STREAMREC_CONCAT_INNER(a, b) a##b
#define STREAMREC_CONCAT(a, b) STREAMREC_CONCAT_INNER(a, b)

// RETURN_IF_ERROR(expr): returns the status of `expr` from the enclosing function unless ok.
#define RETURN_IF_ERROR(expr)                                             \
  do {                                                                    \
    if (absl::Status streamrec_status_ = (expr); !streamrec_status_.ok()) \
      return streamrec_status_;                                           \
  } while (0)

// ASSIGN_OR_RETURN(lhs, expr): evaluates the StatusOr `expr`; on error returns its status,
// otherwise moves the value into `lhs` (which may be a declaration).
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(STREAMREC_CONCAT(status_or_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr)    \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return std::move(tmp).status(); \
  lhs = std::move(tmp).value()
