/* digest.h — SHA-256 of buffers and files (OpenSSL's libcrypto at the edge), as lowercase hex. */
#ifndef AQ_DIGEST_H
#define AQ_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define AQ_SHA256_HEX 65 /* 64 hex digits and the NUL */

/* hex = SHA-256 of len bytes at buf. */
int aq_sha256_buf(const void *buf, size_t len, char hex[AQ_SHA256_HEX], struct aq_err *e);
/* hex = SHA-256 of the file's bytes; *bytes (if not NULL) = its size. */
int aq_sha256_file(const char *path, char hex[AQ_SHA256_HEX], uint64_t *bytes, struct aq_err *e);

#endif
