/* tariff.h — a block water tariff read from JSON, the billing cycle it defines, and the bill of a period's volume. */
#ifndef AQ_TARIFF_H
#define AQ_TARIFF_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/*
 * File (deploy/tariff.example.json):
 *   {"format":"aquacast.tariff","version":1,"name":"…","currency":"EUR",
 *    "cycle_start_day":1,                      billing cycles are months starting on this day (1..28)
 *    "fixed_per_cycle":8.5,                    standing charge per cycle
 *    "blocks":[{"up_to_m3":6,"price_per_m3":1.1},{"up_to_m3":15,"price_per_m3":1.85},
 *              {"up_to_m3":null,"price_per_m3":3.2}],   increasing limits, the last one open (null)
 *    "vat":0.1}                                 share added on top (0..1)
 * The bill of a period of D days prorates the cycle: the standing charge and
 * every block limit scale by D / 30.4375 (the mean month), then each block's
 * volume is charged at its price, VAT added, rounded to cents. The bill is
 * increasing in the volume, so the bill of an interval's bounds bounds the bill.
 */
#define AQ_TARIFF_MAX_BLOCKS 16

struct aq_tariff {
	char name[128], currency[8];
	int cycle_start_day;
	double fixed, vat;
	int nblocks;
	double upto[AQ_TARIFF_MAX_BLOCKS];   /* INFINITY for the last */
	double price[AQ_TARIFF_MAX_BLOCKS];
};

int aq_tariff_parse(const char *json, size_t len, struct aq_tariff *t, struct aq_err *e);
int aq_tariff_load(const char *path, struct aq_tariff *t, struct aq_err *e);
/* The bill of volume m3 (>= 0) used over days days. */
double aq_tariff_bill(const struct aq_tariff *t, double m3, int days);
/* The first billing cycle starting on or after day: [*from, *to]. */
void aq_tariff_next_cycle(const struct aq_tariff *t, int32_t day, int32_t *from, int32_t *to);

#endif
