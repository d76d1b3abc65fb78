/* mkmodels.c — a model set for every account of a readings dataset, rows cloned from a small trained set (timing only). */
/*
 * Training 27,000 accounts takes far longer than this benchmark may, so the
 * rows of a small set trained by aquacast-train (orders, coefficients,
 * state) are given round-robin to every account of the big readings
 * dataset, with FirstDate/TrainedUntil/Recent set from that account's own
 * readings. The ARIMA filtering and forecasting work per account is that of
 * a real model of the same orders; only its accuracy is meaningless.
 *
 *   mkmodels TEMPLATE_MODELSET READINGS UNTIL(YYYY-MM-DD) OUT_MODELSET
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "date.h"
#include "manifest.h"
#include "merge.h"
#include "model.h"

static int die(const struct aq_err *e)
{
	fprintf(stderr, "mkmodels: %s\n", e->msg);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: mkmodels TEMPLATE_MODELSET READINGS UNTIL OUT_MODELSET\n");
		return 2;
	}
	struct aq_err e = {0};
	struct aq_dataset tds, rds, ods;
	struct aq_seal seal;
	int32_t until;
	/* written under a temporary name and sealed like a train run's set (lib/manifest.h) */
	if (aq_date_parse(argv[3], (int)strlen(argv[3]), &until, &e) || aq_modelset_open(&tds, argv[1], NULL, &e) ||
	    aq_dataset_open(&rds, argv[2], &e) || aq_seal_begin(&seal, argv[4], 0, &e) ||
	    aq_dataset_create(&ods, seal.tmp, "models", rds.parts, &e))
		return die(&e);
	/* templates: every ARIMA row of the small set */
	struct aq_model_part all;
	aq_model_part_init(&all);
	for (int p = 0; p < tds.parts; p++) {
		struct aq_model_part mp;
		aq_model_part_init(&mp);
		if (aq_model_read_part(&tds, p, &mp, &e))
			return die(&e);
		for (size_t i = 0; i < mp.n; i++)
			if (aq_model_row_is_arima(&mp.rows[i]) && aq_model_part_push(&all, &mp.rows[i], &e))
				return die(&e);
		aq_model_part_release(&mp);
	}
	if (all.n == 0) {
		fprintf(stderr, "mkmodels: no ARIMA row in '%s'\n", argv[1]);
		return 1;
	}
	uint64_t key = aq_dataset_next_key(&ods);
	size_t next = 0, total = 0;
	for (int p = 0; p < rds.parts; p++) {
		struct aq_readings rd;
		aq_readings_init(&rd);
		if (aq_dataset_read_part(&rds, p, &rd, &e))
			return die(&e);
		struct aq_model_row *rows = calloc(rd.n + 1, sizeof(*rows));
		size_t nr = 0;
		for (size_t i = 0; i < rd.n;) {
			size_t j = i;
			while (j < rd.n && rd.account[j] == rd.account[i])
				j++;
			int32_t first = rd.date[i];
			if (first + 60 <= until) {
				struct aq_model_row *r = &rows[nr++];
				aq_model_row_init(r);
				if (aq_model_row_copy(r, &all.rows[next++ % all.n], &e))
					return die(&e);
				r->account = rd.account[i];
				r->first_date = first;
				r->trained_until = until;
				r->n = until - first + 1;
				for (int k = 0; k < AQ_MODEL_RECENT; k++)
					r->recent[k] = NAN;
				for (size_t k = i; k < j; k++) {
					int32_t off = rd.date[k] - (until - AQ_MODEL_RECENT + 1);
					if (off >= 0 && off < AQ_MODEL_RECENT)
						r->recent[off] = rd.value[k];
				}
			}
			i = j;
		}
		if (nr && aq_model_write_part(&ods, p, key, "bench", rows, nr, NULL, &e))
			return die(&e);
		for (size_t k = 0; k < nr; k++)
			aq_model_row_release(&rows[k]);
		free(rows);
		total += nr;
		aq_readings_release(&rd);
	}
	if (aq_manifest_write(seal.tmp, "models", total, total, NULL, &e) || aq_seal_commit(&seal, &e))
		return die(&e);
	printf("%zu model rows from %zu templates\n", total, all.n);
	aq_model_part_release(&all);
	aq_dataset_release(&tds);
	aq_dataset_release(&rds);
	aq_dataset_release(&ods);
	return 0;
}
