/* status.c: names for the shared status codes, for logs and tests. */
#include "status.h"

const char *ts_status_str(ts_status_t st)
{
    switch (st) {
    case TS_OK: return "OK";
    case TS_AGAIN: return "AGAIN";
    case TS_ERR: return "ERR";
    case TS_NOMEM: return "NOMEM";
    case TS_PROTO: return "PROTO";
    case TS_LIMIT: return "LIMIT";
    case TS_NOTFOUND: return "NOTFOUND";
    case TS_EXISTS: return "EXISTS";
    case TS_WRONGTYPE: return "WRONGTYPE";
    case TS_RANGE: return "RANGE";
    case TS_IO: return "IO";
    }
    return "?";
}
