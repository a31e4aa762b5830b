/*
 * crc64.h: Redis's CRC-64 (Jones polynomial 0xad93d23594c935a9, reflected
 * input and output, initial value 0, no final xor), the checksum at the
 * end of RDB files and DUMP payloads.
 *
 * Known answer: crc64(0, "123456789", 9) == 0xe9c6d914c4b8d9ca.
 */
#ifndef TS_CRC64_H
#define TS_CRC64_H

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC over len more bytes (start with crc = 0). */
uint64_t crc64(uint64_t crc, const void *p, size_t len);

#endif
