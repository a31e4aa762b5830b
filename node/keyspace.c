/* keyspace.c: placeholder. */
typedef int ts_placeholder_ks;
