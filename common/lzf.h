/*
 * lzf.h: the LZF format Redis uses for compressed strings in RDB files
 * and DUMP payloads.
 *
 * A stream of chunks, each starting with a control byte c:
 *   c < 32          a literal run: the next c + 1 bytes are copied;
 *   c >= 32         a back reference: length L = c >> 5 (if L == 7, one
 *                   more byte is added to it), offset = ((c & 31) << 8) +
 *                   next byte + 1; copy L + 2 bytes from that far back.
 * So literals are at most 32 bytes, matches 3..264 bytes, at most 8192
 * bytes back.  Compatible with liblzf 3.x (what Redis embeds).
 */
#ifndef TS_LZF_H
#define TS_LZF_H

#include <stddef.h>

/* The compressor's hash table (64K slots), reusable across calls without
 * clearing it: each slot carries the number of the call that wrote it. */
typedef struct lzf_state lzf_state_t;
lzf_state_t *lzf_state_create(void);
void lzf_state_destroy(lzf_state_t *st);

/* Compress in (ilen bytes) into out (at most olen bytes).  Returns the
 * compressed size, or 0 if it would not fit in olen (the caller then
 * stores the data uncompressed).  The output is the bytes liblzf 3.6 as
 * Redis configures it (HLOG 16, VERY_FAST) produces from a clean table,
 * so DUMP payloads and RDB strings equal Redis's.  st NULL: a temporary
 * table is allocated for this call. */
size_t lzf_compress(lzf_state_t *st, const void *in, size_t ilen, void *out,
                    size_t olen);

/* Decompress in into out (olen bytes of room).  Returns the decompressed
 * size, or 0 on corrupt input or if out is too small.  Never reads or
 * writes out of bounds, whatever the input. */
size_t lzf_decompress(const void *in, size_t ilen, void *out, size_t olen);

#endif
