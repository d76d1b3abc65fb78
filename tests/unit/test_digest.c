/* test_digest.c — SHA-256 against the FIPS 180-2 test vectors and sha256sum's answer for a file. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "fs.h"
#include "test.h"

static void test_sha256_vectors(void)
{
	char hex[AQ_SHA256_HEX];
	struct aq_err e = {0};
	T_OK(aq_sha256_buf("abc", 3, hex, &e));
	T_CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
	T_OK(aq_sha256_buf("", 0, hex, &e));
	T_CHECK(strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
}

static void test_sha256_file(void)
{
	char path[] = "/tmp/aq-digest-XXXXXX", hex[AQ_SHA256_HEX], want[AQ_SHA256_HEX];
	int fd = mkstemp(path);
	T_ASSERT(fd >= 0);
	close(fd);
	/* 200,000 bytes: crosses the 64 KiB read chunk. */
	static char buf[200000];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (char)(i * 131 + 7);
	struct aq_err e = {0};
	T_OK(aq_fs_write_atomic(path, buf, sizeof buf, &e));
	uint64_t bytes = 0;
	T_OK(aq_sha256_file(path, hex, &bytes, &e));
	T_EQ_INT(bytes, sizeof buf);
	T_OK(aq_sha256_buf(buf, sizeof buf, want, &e));
	T_CHECK(strcmp(hex, want) == 0);
	char cmd[256];
	snprintf(cmd, sizeof cmd, "sha256sum %s", path);
	FILE *p = popen(cmd, "r");
	char line[128] = {0};
	T_ASSERT(p && fgets(line, sizeof line, p));
	pclose(p);
	T_CHECK(strncmp(line, hex, 64) == 0);
	unlink(path);
	T_EQ_INT(aq_sha256_file(path, hex, NULL, &e), AQ_EIO);
	T_CHECK(strstr(e.msg, path) != NULL);
}

int main(void)
{
	T_RUN(test_sha256_vectors);
	T_RUN(test_sha256_file);
	T_DONE();
}
