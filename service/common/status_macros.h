// Early-return helpers for absl::Status / absl::StatusOr.
//
// Debian 12's Abseil (20220623) has no public ABSL_RETURN_IF_ERROR, so the
// service keeps these two macros in one place.
#ifndef WINK_WEBHOOKS_SERVICE_COMMON_STATUS_MACROS_H_
#define WINK_WEBHOOKS_SERVICE_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Evaluates `expr` (an absl::Status); returns it from the enclosing function
// unless it is OK.
#define WINK_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::absl::Status wink_status_ = (expr);        \
    if (!wink_status_.ok()) return wink_status_; \
  } while (false)

#define WINK_STATUS_MACROS_CONCAT_INNER(x, y) x##y
#define WINK_STATUS_MACROS_CONCAT(x, y) WINK_STATUS_MACROS_CONCAT_INNER(x, y)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status from
// the enclosing function, otherwise moves the value into `lhs`, which may be a
// declaration (`auto x`) or an existing variable.
#define WINK_ASSIGN_OR_RETURN(lhs, rexpr) \
  WINK_ASSIGN_OR_RETURN_IMPL(WINK_STATUS_MACROS_CONCAT(wink_statusor_, __LINE__), lhs, rexpr)

#define WINK_ASSIGN_OR_RETURN_IMPL(statusor, lhs, rexpr)   \
  auto statusor = (rexpr);                                 \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = *std::move(statusor)

#endif  // WINK_WEBHOOKS_SERVICE_COMMON_STATUS_MACROS_H_
