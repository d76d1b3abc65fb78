/* digest.c — SHA-256 of buffers and files through libcrypto's EVP interface; its errors translated here. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "digest.h"

static int crypto_err(struct aq_err *e, const char *what)
{
	char buf[256];
	unsigned long code = ERR_get_error();
	if (code)
		ERR_error_string_n(code, buf, sizeof buf);
	else
		snprintf(buf, sizeof buf, "unknown libcrypto error");
	ERR_clear_error();
	return aq_err_set(e, AQ_EIO, "sha256: %s failed: %s", what, buf);
}

static void to_hex(const unsigned char *md, unsigned len, char hex[AQ_SHA256_HEX])
{
	static const char digits[] = "0123456789abcdef";
	for (unsigned i = 0; i < len && i < 32; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = 0;
}

static int finish(EVP_MD_CTX *ctx, char hex[AQ_SHA256_HEX], struct aq_err *e)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;
	if (EVP_DigestFinal_ex(ctx, md, &len) != 1)
		return crypto_err(e, "final");
	to_hex(md, len, hex);
	return 0;
}

int aq_sha256_buf(const void *buf, size_t len, char hex[AQ_SHA256_HEX], struct aq_err *e)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx)
		return aq_err_set(e, AQ_ENOMEM, "sha256: out of memory");
	int rc = 0;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		rc = crypto_err(e, "init");
	else if (EVP_DigestUpdate(ctx, buf, len) != 1)
		rc = crypto_err(e, "update");
	else
		rc = finish(ctx, hex, e);
	EVP_MD_CTX_free(ctx);
	return rc;
}

int aq_sha256_file(const char *path, char hex[AQ_SHA256_HEX], uint64_t *bytes, struct aq_err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return aq_err_sys(e, "cannot open '%s'", path);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx) {
		close(fd);
		return aq_err_set(e, AQ_ENOMEM, "sha256: out of memory");
	}
	int rc = 0;
	uint64_t total = 0;
	static _Thread_local unsigned char chunk[1 << 16];
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		rc = crypto_err(e, "init");
	while (!rc) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = aq_err_sys(e, "cannot read '%s'", path);
			break;
		}
		if (n == 0)
			break;
		total += (uint64_t)n;
		if (EVP_DigestUpdate(ctx, chunk, (size_t)n) != 1)
			rc = crypto_err(e, "update");
	}
	if (!rc)
		rc = finish(ctx, hex, e);
	EVP_MD_CTX_free(ctx);
	close(fd);
	if (!rc && bytes)
		*bytes = total;
	return rc;
}
