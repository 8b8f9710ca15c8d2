// Internal invariant checks. QRT_CHECK is for bugs, never for user input (use Status for that):
// it aborts with file:line so that a broken invariant cannot turn into a silent wrong answer.
#pragma once

#include <cstdio>
#include <cstdlib>

#define QRT_CHECK(cond)                                                              \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      std::fprintf(stderr, "qrt: internal check failed at %s:%d: %s\n", __FILE__,    \
                   __LINE__, #cond);                                                 \
      std::abort();                                                                  \
    }                                                                                \
  } while (0)

#ifndef NDEBUG
#define QRT_DCHECK(cond) QRT_CHECK(cond)
#else
#define QRT_DCHECK(cond) ((void)0)
#endif
