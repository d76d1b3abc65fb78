/* tool.h — the subcommands of aquacast-shard (cmd/shard/tool.c). */
#ifndef AQ_SHARD_TOOL_H
#define AQ_SHARD_TOOL_H

#include <stdint.h>

/* Each returns the exit status: 0 ok, 1 failure (bad file, error), 2 usage (handled by main). */
int tool_verify(char **paths, int n);
int tool_stats(const char *path);
int tool_head(const char *path, int64_t nrows);
int tool_compact(const char *root, int part);

#endif
