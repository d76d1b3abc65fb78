# aquacast — build, test and demo. Plain make; dependencies via pkg-config.
#
#   make            library + every binary (bin/aquacast-<name>)
#   make test       install missing deps, build, run every test (closing line: N passed, N failed)
#   make demo       the main job on the embedded default (SQLite over unixODBC)
#   make asan       unit tests under AddressSanitizer + UBSan (objects in build/asan)
#   make format FILES="lib/x.c lib/x.h"   clang-format those files in place (.clang-format; never the whole tree)
#   make install PREFIX=/usr/local

PREFIX    ?= /usr/local
CC        ?= cc
PKGS      := odbc rdkafka libcurl jansson lapacke openblas libzstd zlib libcrypto
BUILD     ?= build/dev
SAN       ?=

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS    ?= -O2 -g
WARN      := -Wall -Wextra -Werror -Wno-unused-parameter
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SAN) -Ilib -Ibuild/gen $(PKG_CFLAGS) -MMD -MP
LDLIBS     = $(PKG_LIBS) -lpthread -lm
# Sealed sets (lib/manifest.h): register checks them once lib/manifest.c exists.
ALL_CFLAGS += $(if $(wildcard lib/manifest.c),-DAQ_HAVE_MANIFEST)
GIT_REV   := $(shell git rev-parse --short=12 HEAD 2>/dev/null)

LIB_SRC   := $(sort $(wildcard lib/*.c))
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIBA      := $(if $(filter build/dev,$(BUILD)),lib/libaquacast.a,$(BUILD)/libaquacast.a)

# cmd/common/*.c (the CLI kit, no main.c: not a binary) links into every binary.
CMD_COMMON_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(sort $(wildcard cmd/common/*.c)))
CMDS      := $(notdir $(patsubst %/,%,$(sort $(dir $(wildcard cmd/*/main.c)))))
BINDIR    := $(if $(filter build/dev,$(BUILD)),bin,$(BUILD)/bin)
BINS      := $(CMDS:%=$(BINDIR)/aquacast-%)

UNIT_SRC  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all so lib bins unit install test demo demo-stream asan clean deps venv stack-up stack-down bench format
all: $(LIBA) $(BINS) $(UNIT_BINS)
lib: $(LIBA)
bins: $(BINS)
unit: $(UNIT_BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIBA): $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

# The shared libaquacast.so (the MLflow pyfunc loads it through ctypes): the same sources, -fPIC.
PIC_OBJ   := $(LIB_SRC:%.c=build/pic/%.o)
LIBSO     := build/pic/libaquacast.so
all: $(LIBSO)
so: $(LIBSO)
build/pic/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -fPIC -c $< -o $@
$(LIBSO): $(PIC_OBJ)
	$(CC) -shared -o $@ $^ $(LDLIBS)

# python/aquacast_pyfunc.py as a C array (register writes it into every model version).
build/gen/pyfunc_py.h: python/aquacast_pyfunc.py
	@mkdir -p $(@D)
	{ echo '/* generated from $< by make */'; echo 'static const unsigned char aq_pyfunc_py[] = {'; \
	  od -An -v -tx1 $< | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; echo '};'; } >$@.tmp && mv $@.tmp $@
$(BUILD)/lib/pyfunc.o build/pic/lib/pyfunc.o: build/gen/pyfunc_py.h

# register tags its runs with the revision it was built from.
$(BUILD)/cmd/register/main.o: ALL_CFLAGS += -DAQ_GIT_REV='"$(GIT_REV)"'

# Objects are never intermediate: keep them so binaries do not relink every time.
.SECONDARY:

# cmd/ objects see the kit's header.
$(BUILD)/cmd/%.o: ALL_CFLAGS += -Icmd/common

# One rule for all binaries: every .c in cmd/<name>/ and cmd/common/ links into aquacast-<name>.
.SECONDEXPANSION:
$(BINDIR)/aquacast-%: $$(addprefix $(BUILD)/,$$(subst .c,.o,$$(wildcard cmd/$$*/*.c))) $(CMD_COMMON_OBJ) $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(SAN) -o $@ $(filter %.o,$^) $(LIBA) $(LDLIBS)

# test_cli checks the CLI kit: it links cmd/common's objects too.
$(BUILD)/tests/unit/test_cli.o: ALL_CFLAGS += -Icmd/common
$(BUILD)/tests/test_cli: $(BUILD)/tests/unit/test_cli.o $(CMD_COMMON_OBJ) $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(SAN) -o $@ $(filter %.o,$^) $(LIBA) $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(SAN) -o $@ $< $(LIBA) $(LDLIBS)

# Test drivers (tests/tools/*.c), e.g. the ARIMA oracle tool used by tests/python.
TOOL_SRC  := $(sort $(wildcard tests/tools/*.c))
TOOL_BINS := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)
all: $(TOOL_BINS)
$(BUILD)/tools/%: $(BUILD)/tests/tools/%.o $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(SAN) -o $@ $< $(LIBA) $(LDLIBS)

install: $(BINS)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/

deps:
	@scripts/install-deps.sh

venv: deps
	@scripts/venv.sh requirements/test.txt >/dev/null

test: deps
	@$(MAKE) --no-print-directory all
	@tests/run.sh

asan: deps
	@$(MAKE) --no-print-directory BUILD=build/asan SAN='-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined' CFLAGS='-O1 -g' unit
	@AQ_UNIT_DIR=build/asan/tests tests/run.sh --unit-only

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh

demo-stream: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo-stream.sh

stack-up:
	@scripts/stack.sh up

stack-down:
	@scripts/stack.sh down

bench: all
	@for b in bench/*/run; do echo "== $$b"; $$b || exit 1; done

# Only the files named: the tree follows .clang-format file by file, as files are created or moved.
format: deps
	@test -n "$(FILES)" || { echo 'usage: make format FILES="lib/x.c lib/x.h ..."' >&2; exit 2; }
	clang-format -i $(FILES)

clean:
	rm -rf build bin lib/libaquacast.a

-include $(shell find build -name '*.d' 2>/dev/null)
