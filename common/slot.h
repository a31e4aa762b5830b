/*
 * slot.h: CRC16 and Redis Cluster hash slots.
 *
 * slot = CRC16-XMODEM(key) mod 16384, hashing only the part between the
 * first '{' and the next '}' when that part is non-empty (the hashtag
 * rule).  Known answer: CRC16-XMODEM("123456789") == 0x31C3.
 */
#ifndef TS_SLOT_H
#define TS_SLOT_H

#include <stddef.h>
#include <stdint.h>

#define SLOT_COUNT 16384

uint16_t crc16_xmodem(const void *p, size_t n);
/* Hash slot of a key, honouring {hashtag}. */
unsigned slot_for_key(const char *key, size_t n);

#endif
