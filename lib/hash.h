/* hash.h — splitmix64's finaliser, the one 64-bit mix of the library (partitioning, hash tables, seeding). */
#ifndef AQ_HASH_H
#define AQ_HASH_H

#include <stdint.h>

/*
 * The finaliser of splitmix64 (Steele, Lea, Flood 2014; constants of
 * Stafford's Mix13): a bijection of 64-bit words with full avalanche.
 * aq_part_of uses it to place accounts in parts, and part numbers are on
 * disk: this function must never change.
 */
static inline uint64_t aq_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

#endif
