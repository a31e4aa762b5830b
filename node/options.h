/*
 * options.h: the storage node's option table (redis.conf names), from
 * which start-up parsing, CONFIG GET/SET/REWRITE and docs/config.md are
 * produced.
 */
#ifndef TS_OPTIONS_H
#define TS_OPTIONS_H

#include <stddef.h>

#include "config.h"
#include "node.h"

/* The option table with its value pointers aimed at n's fields
 * (ts_malloc'd; it must outlive the config_t built from it). */
config_opt_t *options_for_node(node_t *n, size_t *count);

#endif
