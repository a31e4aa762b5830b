/*
 * info.h: the text of INFO, section by section, in Redis 7.0's format
 * ("# Server\r\nredis_version:7.0.15\r\n..."), so that tools which parse
 * Redis's INFO (redis-cli, exporters, client libraries) read Tessera's.
 */
#ifndef TS_INFO_H
#define TS_INFO_H

#include "buf.h"
#include "node.h"
#include "resp.h"

/*
 * Append the INFO text for the sections named in argv (INFO's arguments
 * after the command name: section names, "default", "all",
 * "everything"; none means "default") to out.  Unknown names add
 * nothing, as in Redis.  Sections come in Redis's fixed order whatever the
 * order asked, separated by an empty line; every line ends with CRLF.
 */
void info_generate(node_t *n, int argc, const resp_arg_t *argv, buf_t *out);

/*
 * Sample the allocator counter for used_memory_peak; the first call also
 * records used_memory_startup (the usage minus what clients and the
 * keyspace hold at that moment, so a first call made by INFO still gives
 * a fair figure).  INFO calls it; call it once after start-up and from
 * the cron so that short peaks are seen.  The figures are process-wide,
 * like the counter they sample.
 */
void info_sample_memory(node_t *n);

/* CONFIG RESETSTAT: the peak starts again from the current usage. */
void info_reset_peak(void);

#endif
