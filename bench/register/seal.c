/* seal.c — bench helper: seal a model set made by bench/evaluate/mkmodels (which writes none) with aq_manifest_write. */
#include <stdio.h>
#include <stdlib.h>

#include "manifest.h"

int main(int argc, char **argv)
{
	struct aq_err e = {0};
	if (argc != 3) {
		fprintf(stderr, "usage: seal DIR ACCOUNTS\n");
		return 2;
	}
	uint64_t n = strtoull(argv[2], NULL, 10);
	if (aq_manifest_write(argv[1], "models", n, n, NULL, &e)) {
		fprintf(stderr, "seal: %s\n", e.msg);
		return 1;
	}
	return 0;
}
