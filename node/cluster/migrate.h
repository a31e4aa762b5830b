/*
 * migrate.h: MIGRATE (migrate.c), Redis's key mover for slot migration.
 *
 * The handler is bound through migrate_cmds (cmd.c); its cached
 * connections to targets live in n->migrate, created on first use.
 */
#ifndef TS_MIGRATE_H
#define TS_MIGRATE_H

#include "node.h"

/* Close the cached target connections and free n->migrate (safe when
 * MIGRATE never ran). */
void migrate_teardown(node_t *n);

#endif
