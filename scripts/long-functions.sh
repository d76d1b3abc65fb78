#!/bin/sh
# long-functions.sh [MAX [FILE...]] — C functions longer than MAX lines (default 150), longest first.
# House style: a function's braces stand alone in column 0, so the body runs from "{" to "}".
max=${1:-150}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] || set -- lib/*.c cmd/*/*.c
awk -v max="$max" '
FNR == 1 { sig = ""; start = 0 }
/^[A-Za-z_].*\(/ && !/;[ \t]*$/ { sig = $0; sigline = FNR }
/^\{/ { start = sigline ? sigline : FNR }
/^\}/ && start {
	n = FNR - start + 1
	if (n > max) {
		name = sig; sub(/\(.*/, "", name); sub(/.*[ *]/, "", name)
		printf "%5d %s:%d %s\n", n, FILENAME, start, name
	}
	start = 0; sigline = 0
}' "$@" | sort -rn
