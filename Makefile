# Makefile - build, run and test the socketlab lessons.
#
#   make            build every lesson into build/<lesson>/ (and build/libfault.so)
#   make demo       lesson 06's server and client on loopback, with traces
#   make test       the whole test suite (installs test packages when it can)
#   make bench      round trips per second: lesson 06 vs a bare C ping-pong
#   make SAN=1      the same with AddressSanitizer + UBSan, into build/san/
#   make docs       the Doxygen site in build/docs/html/
#   make docker     the image; make test-docker, make bench-docker
#   make handout    the student handout; make grade SUBMISSION=DIR; make gradescope
#   make fault-demo lesson 06 under injected short writes and EINTR
#   make fuzz       libFuzzer over the receive path and argument parsing
#   make clean      remove build/
#
# V=1 shows the full commands. Each topic's targets live in mk/<topic>.mk.

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -std=c11 -Wall -Wextra -Werror
# _DEFAULT_SOURCE: POSIX 2008 plus the BSD names (struct tcp_info, TIOCOUTQ).
CPPFLAGS += -D_DEFAULT_SOURCE -Iinclude -MMD -MP
LDLIBS  += -lm
PREFIX  ?= /usr/local

ifeq ($(SAN),1)
BUILD   ?= build/san
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
else
BUILD   ?= build
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif

LESSONS  := $(sort $(notdir $(wildcard lessons/[0-9][0-9]-*)))
LIB_SRCS := $(wildcard src/*.c)
LIB_OBJS := $(LIB_SRCS:src/%.c=$(BUILD)/obj/%.o)
LIB      := $(BUILD)/libsocketlab.a
PROGRAMS := $(foreach l,$(LESSONS),$(patsubst lessons/$(l)/%.c,$(BUILD)/$(l)/%,$(wildcard lessons/$(l)/*.c)))
BENCH    := $(BUILD)/bench/pingpong

# The test runner: the first python3 that has pytest (Debian's, usually).
PYTHON  ?= $(shell for p in /usr/bin/python3 python3; do $$p -c 'import pytest' 2>/dev/null && { echo $$p; break; }; done)
PYTEST_ARGS ?=

.PHONY: all demo test bench clean install help
all: $(PROGRAMS)

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)$(AR) rcs $@ $^

# One rule for every lesson program: lessons/L/P.c -> build/L/P.
define lesson_rules
$(BUILD)/$(1)/%.o: lessons/$(1)/%.c
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo "  CC      $$<")
	$$(Q)$$(CC) $$(CPPFLAGS) $$(WARN) $$(CFLAGS) -c -o $$@ $$<
$(BUILD)/$(1)/%: $(BUILD)/$(1)/%.o $(LIB)
	@$$(if $$(Q),echo "  LD      $$@")
	$$(Q)$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach l,$(LESSONS),$(eval $(call lesson_rules,$(l))))
.SECONDARY:

$(BUILD)/bench/%.o: bench/%.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -c -o $@ $<
$(BENCH): $(BUILD)/bench/pingpong.o
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The main job: the seed's exchange on loopback, both traces on the terminal.
demo: all
	@bash tests/demo.sh $(BUILD)/06-close

test: all
	@bash tests/ensure-deps.sh
	@PYTHON="$(PYTHON)"; [ -n "$$PYTHON" ] || PYTHON=/usr/bin/python3; \
	 LAB_BUILD=$(abspath $(BUILD)) $$PYTHON -m pytest $(PYTEST_ARGS)

bench: all $(BENCH)
	@bash bench/bench.sh $(BUILD)

compile_commands.json:
	@bash tests/compile-commands.sh > $@
	@echo "wrote $@"

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(BUILD)/06-close/server $(DESTDIR)$(PREFIX)/bin/socketlab-server
	install -m 755 $(BUILD)/06-close/client $(DESTDIR)$(PREFIX)/bin/socketlab-client

clean:
	rm -rf build compile_commands.json

help:
	@sed -n '2,16s/^# \{0,1\}//p' Makefile

# Each topic's targets (docker, docs, grading, faults, hardening) live in mk/.
-include $(wildcard mk/*.mk)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
