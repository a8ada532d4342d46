// base/status.h — Status/Result (the public nuri/status.h) plus the propagation macros the
// modules use. Programmer invariants use NURI_CHECK (check.h).
#pragma once

#include "nuri/status.h"

#define NURI_CONCAT_INNER(a, b) a##b
#define NURI_CONCAT(a, b) NURI_CONCAT_INNER(a, b)

// Return the Status if it is an error.
#define NURI_TRY(expr)                          \
  do {                                          \
    ::nuri::Status _nuri_st = (expr);           \
    if (!_nuri_st.is_ok()) return _nuri_st;     \
  } while (0)

// auto x = ...; from a Result<T>, returning its Status on error.
#define NURI_ASSIGN_OR_RETURN(lhs, expr) \
  NURI_ASSIGN_OR_RETURN_IMPL(NURI_CONCAT(_nuri_r_, __LINE__), lhs, expr)
#define NURI_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()
