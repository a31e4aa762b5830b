/*
 * glob.h: Redis's glob-style pattern matching (KEYS, SCAN MATCH,
 * PSUBSCRIBE, CONFIG GET): * ? [abc] [^a] [a-z] and \x escapes, exactly as
 * Redis's stringmatchlen, with a recursion bound so that hostile patterns
 * cannot blow the stack or take exponential time.
 */
#ifndef TS_GLOB_H
#define TS_GLOB_H

#include <stddef.h>

/* 1 if s matches pat; nocase folds ASCII case. */
int glob_match(const char *pat, size_t plen, const char *s, size_t slen,
               int nocase);

#endif
