/* fs.h — durable file writes (temp → fsync → rename → fsync dir) and directory helpers. */
#ifndef AQ_FS_H
#define AQ_FS_H

#include <stddef.h>

#include "err.h"

/*
 * An atomic file: written under "<dir>/.<name>.tmp.<pid>.<n>", made durable
 * and renamed over <path> by aq_afile_commit(). A crash before commit leaves
 * only a dot-temp file, which readers ignore and aq_fs_sweep_tmp() removes.
 */
struct aq_afile {
	char *path;
	char *tmp;
	int fd;
};

int aq_afile_open(struct aq_afile *f, const char *path, struct aq_err *e);
int aq_afile_write(struct aq_afile *f, const void *buf, size_t len, struct aq_err *e);
/* fsync the file, rename over path, fsync the directory; releases f. */
int aq_afile_commit(struct aq_afile *f, struct aq_err *e);
/* Remove the temp file; safe after a failed commit; releases f. */
void aq_afile_abort(struct aq_afile *f);

/* Write a whole buffer atomically to path. */
int aq_fs_write_atomic(const char *path, const void *buf, size_t len, struct aq_err *e);
/* Read a whole file into a malloc'd, NUL-terminated buffer. */
int aq_fs_read_all(const char *path, char **buf, size_t *len, struct aq_err *e);
int aq_fs_mkdir_p(const char *path, struct aq_err *e);
int aq_fs_fsync_dir(const char *dir, struct aq_err *e);
/* Remove leftover ".*.tmp.*" files in dir (after a crash). Returns the count or <0. */
int aq_fs_sweep_tmp(const char *dir, struct aq_err *e);
/* Remove a file or a directory tree (no error when it does not exist; symlinks are not followed). */
int aq_fs_remove_tree(const char *path, struct aq_err *e);
/* malloc'd "a/b" joined with one '/'. NULL on ENOMEM. */
char *aq_path_join(const char *a, const char *b);

#endif
