// base/check.h — programmer invariants. A failed check is a bug in nuri, never bad input:
// it prints file:line and aborts. Input from the outside world returns Status instead.
#pragma once

#include <cstdio>
#include <cstdlib>

#define NURI_CHECK(cond)                                                          \
  do {                                                                            \
    if (!(cond)) {                                                                \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                               \
    }                                                                             \
  } while (0)

#define NURI_CHECK_MSG(cond, msg)                                                            \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      std::fprintf(stderr, "%s:%d: check failed: %s (%s)\n", __FILE__, __LINE__, #cond, msg); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (0)
