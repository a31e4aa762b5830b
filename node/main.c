/*
 * main.c: tessera-node start-up and shutdown.
 *
 *   tessera-node [config-file] [--option value ...]
 *
 * as redis-server takes them.  Modules are set up in dependency order and
 * torn down in reverse; everything else happens in the event loop
 * (server.c, client.c).
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "aof.h"
#include "blocking.h"
#include "cluster/cluster.h"
#include "cluster/migrate.h"
#include "cmd.h"
#include "config.h"
#include "db.h"
#include "evict.h"
#include "hash.h"
#include "keyspace.h"
#include "log.h"
#include "node.h"
#include "options.h"
#include "proc.h"
#include "rdb.h"
#include "repl/repl.h"
#include "server.h"
#include "slowlog.h"
#include "slot.h"

static void usage(void)
{
    fprintf(stderr,
            "Usage: ./tessera-node [/path/to/tessera.conf] [options] [-]\n"
            "       ./tessera-node - (read config from stdin)\n"
            "       ./tessera-node -v or --version\n"
            "       ./tessera-node -h or --help\n\n"
            "Examples:\n"
            "       ./tessera-node (run with the default configuration)\n"
            "       ./tessera-node /etc/tessera/7000.conf\n"
            "       ./tessera-node --port 7777\n"
            "       ./tessera-node /etc/mynode.conf --loglevel verbose\n");
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "-v") == 0 ||
                      strcmp(argv[1], "--version") == 0)) {
        printf("Tessera server v=%s redis-compat=%s bits=64\n",
               TESSERA_VERSION, NODE_VERSION);
        return 0;
    }
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 ||
                      strcmp(argv[1], "--help") == 0)) {
        usage();
        return 0;
    }

    node_t *n = ts_calloc(1, sizeof(*n));
    n->active_expire_enabled = 1;
    n->next_client_id = 1;
    n->start_ms = node_unix_ms();
    n->lastsave = n->start_ms / 1000;
    n->executable = ts_absolute_path(argv[0]);
    cmd_setup();

    size_t nopts;
    config_opt_t *opts = options_for_node(n, &nopts);
    n->config = config_create(opts, nopts, n);
    const char *derr = config_load_defaults(n->config);
    if (derr) {
        fprintf(stderr, "Bad default configuration: %s\n", derr);
        return 1;
    }
    char *err = config_load_argv(n->config, argc - 1, argv + 1);
    if (err) {
        fputs(err, stderr);
        ts_free(err);
        return 1;
    }
    n->config_file = ts_absolute_path(config_file_path(n->config));

    if (log_setup(n->logfile, n->loglevel) != 0) {
        fprintf(stderr, "Can't open the log file: %s\n", strerror(errno));
        return 1;
    }
    if (n->daemonize && ts_daemonize() != 0) {
        log_msg(LL_WARNING, "fork: %s", strerror(errno));
        return 1;
    }
    ts_write_pidfile(n->pidfile);
    log_msg(LL_NOTICE, "Tessera %s (Redis %s compatible) starting, pid=%d",
            TESSERA_VERSION, NODE_VERSION, (int)getpid());

    hash_seed_random();
    ts_random_hex(n->runid, 40);
    struct event_config *ecfg = event_config_new();
    event_config_set_flag(ecfg, EVENT_BASE_FLAG_NOLOCK);
    n->base = event_base_new_with_config(ecfg);
    event_config_free(ecfg);
    n->ks = ks_create(n->cluster_enabled ? SLOT_COUNT : 1);
    evict_setup(n);     /* also stamps the keyspace's LRU/LFU clock */
    n->slowlog = slowlog_create();
    block_setup(n);
    repl_setup(n);      /* stream sink; connects if replicaof was given */

    int rc = 1;
    if (rdb_setup(n) == 0 && aof_setup(n) == 0 &&
        (!n->cluster_enabled || cluster_setup(n) == 0) &&
        server_setup(n) == 0)
        rc = server_run(n);

    server_teardown(n);
    repl_teardown(n);
    cluster_teardown(n);
    migrate_teardown(n);
    aof_teardown(n);
    rdb_teardown(n);
    block_teardown(n);
    slowlog_destroy(n->slowlog);
    evict_teardown(n);
    ks_destroy(n->ks);
    event_base_free(n->base);
    if (n->pidfile && n->pidfile[0]) unlink(n->pidfile);
    config_destroy(n->config);
    ts_free(opts);
    for (size_t i = 0; i < CMD__COUNT; i++) ts_free(n->renamed[i]);
    ts_free(n->bind_str);
    ts_free(n->executable);
    ts_free(n->config_file);
    log_teardown();
    ts_free(n);
    return rc;
}
