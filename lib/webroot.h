/* webroot.h — the dashboard's static files, read into memory once and served by exact path (no traversal possible). */
#ifndef AQ_WEBROOT_H
#define AQ_WEBROOT_H

#include <stddef.h>

#include "err.h"

struct aq_webfile {
	char *path;                    /* "/index.html", "/app.js", … */
	char *data;
	size_t len;
	const char *type;
};

struct aq_webroot {
	struct aq_webfile *files;
	size_t n;
};

/* Every regular file under dir (at most 256 files, 32 MiB; dot-files skipped). */
int aq_webroot_load(struct aq_webroot *w, const char *dir, struct aq_err *e);
void aq_webroot_release(struct aq_webroot *w);
/* "/" is "/index.html"; NULL when absent. */
const struct aq_webfile *aq_webroot_find(const struct aq_webroot *w, const char *path);

#endif
