/* manifest.h — sealing a set of files (a model set, an evaluation): the manifest written last, checked by every reader. */
#ifndef AQ_MANIFEST_H
#define AQ_MANIFEST_H

/*
 * A sealed directory D holds D/_manifest.json, written last:
 *
 *   {"format":"aquacast.manifest","version":1,"kind":"models"|"evaluation"|...,
 *    "created":"<UTC ISO 8601>","accounts":N,"rows":N,
 *    "files":[{"path":"models/part=000/…parquet","bytes":B,"rows":R,"sha256":"…"},…],
 *    "meta":{…}}            (free-form: counts and options of the run that made it)
 *
 * Paths are relative to D, sorted, '/'-separated. Every regular file under D
 * except the manifest itself and dot-files is listed. A writer builds D under
 * a sibling temporary name ".D.tmp.<pid>", writes the manifest, fsyncs and
 * renames it to D (lib/fs.h), so D either does not exist or is whole.
 * Readers call aq_manifest_check before using D: missing manifest → AQ_ESTATE
 * ("'D' is not sealed ..."); a listed file missing, or of another size, or a
 * file not listed → AQ_EFORMAT. AQ_MANIFEST_DEEP also re-hashes every file.
 */

#include <jansson.h>
#include <stdint.h>

#include "err.h"

#define AQ_MANIFEST_NAME "_manifest.json"

struct aq_manifest_file {
	char *path;       /* relative to the sealed directory */
	uint64_t bytes, rows;
	char sha256[65];
};

struct aq_manifest {
	char *kind;
	char *created;
	uint64_t accounts, rows;
	struct aq_manifest_file *files;
	size_t nfiles;
	json_t *meta;     /* owned; NULL when absent */
};

enum { AQ_MANIFEST_DEEP = 1 };

void aq_manifest_init(struct aq_manifest *m);
void aq_manifest_release(struct aq_manifest *m);
/*
 * Load and check D's manifest against the files on disk (flags:
 * AQ_MANIFEST_DEEP). kind NULL accepts any kind. out may be NULL; when
 * given it is filled (release it) only on success.
 */
int aq_manifest_check(const char *dir, const char *kind, int flags, struct aq_manifest *out, struct aq_err *e);
/*
 * List every file under dir (sizes, SHA-256, Parquet row counts) and write
 * dir/_manifest.json atomically. meta (may be NULL) is copied in.
 */
int aq_manifest_write(const char *dir, const char *kind, uint64_t accounts, uint64_t rows, const json_t *meta,
		      struct aq_err *e);

/*
 * Building a sealed directory: begin makes the sibling temporary ".<name>.tmp.<pid>"
 * (and removes temporaries of runs whose process is gone); the caller writes
 * into s.tmp, then aq_manifest_write(s.tmp, …) and commit renames it to final
 * (fsyncing the parent). Without force an existing final is an error at
 * begin and at commit (never overwritten); with force commit swaps the new
 * directory in atomically (renameat2 RENAME_EXCHANGE) and removes the old
 * one. abort removes the temporary. commit and abort release s.
 */
struct aq_seal {
	char *final, *tmp;
	int force;
};

int aq_seal_begin(struct aq_seal *s, const char *final, int force, struct aq_err *e);
int aq_seal_commit(struct aq_seal *s, struct aq_err *e);
void aq_seal_abort(struct aq_seal *s);

#endif
