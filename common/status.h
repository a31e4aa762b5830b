/*
 * status.h: the one status vocabulary shared by every Tessera module.
 *
 * Functions that can fail return ts_status_t; TS_OK is zero so that
 * `if (st != TS_OK) goto out;` reads naturally.  Modules that need to say
 * more (a protocol error text, say) return a status and hand the detail
 * back through an out-parameter.
 */
#ifndef TS_STATUS_H
#define TS_STATUS_H

typedef enum ts_status {
    TS_OK = 0,      /* done */
    TS_AGAIN,       /* incomplete input: come back with more bytes */
    TS_ERR,         /* generic failure, detail reported elsewhere */
    TS_NOMEM,       /* allocation failed */
    TS_PROTO,       /* malformed input: the peer broke the protocol */
    TS_LIMIT,       /* a configured limit was exceeded */
    TS_NOTFOUND,    /* lookup found nothing */
    TS_EXISTS,      /* would overwrite and was told not to */
    TS_WRONGTYPE,   /* key holds another type */
    TS_RANGE,       /* value out of range / overflow */
    TS_IO,          /* system call failed; errno tells */
} ts_status_t;

/* A short constant name for logs ("OK", "AGAIN", ...). */
const char *ts_status_str(ts_status_t st);

#endif
