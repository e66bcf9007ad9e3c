# Makefile - build, run and test the socketlab lessons.
#
#   make            build every lesson into build/<lesson>/ (and build/libsocketlab.so)
#   make demo       lesson 06's server and client on loopback, with traces
#   make test       the quick tests, about a minute (installs test packages when it can)
#   make test-all   the whole suite, slow tests too: grading, Docker, docs, timelines (CI)
#   make bench      round trips per second: lesson 06 vs a bare C ping-pong
#   make SAN=1      the same with AddressSanitizer + UBSan, into build/san/
#   make docs       the Doxygen site in build/docs/html/
#   make docker     the image; make test-docker, make bench-docker
#   make handout    the student handout; make grade SUBMISSION=DIR; make gradescope
#   make fault-demo lesson 06 under injected short writes and EINTR
#   make fuzz       libFuzzer over the receive path and argument parsing
#   make clean      remove build/
#   make help       this list, and every topic's targets from mk/*.mk and grader/grader.mk
#
# V=1 shows the full commands. Each topic's targets live in mk/<topic>.mk.

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -std=c11 -Wall -Wextra -Werror
# _DEFAULT_SOURCE: POSIX 2008 plus the BSD names (struct tcp_info, TIOCOUTQ).
CPPFLAGS += -D_DEFAULT_SOURCE -Iinclude -MMD -MP
LDLIBS  += -lm
PREFIX  ?= /usr/local

# The sanitizers live in their own variable: `make SAN=1 CFLAGS=-O1` keeps
# them (a command-line CFLAGS replaces CFLAGS whole, += included).
ifeq ($(SAN),1)
BUILD     ?= build/san
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD     ?= build
SAN_FLAGS :=
endif
# The preload copy of the tracer steps aside in programs that carry their
# own (src/interpose/wrapped.c): export the mark it looks for.
LAB_LDFLAGS := -Wl,--export-dynamic-symbol=lab_static_interposer
# Every wrapper is linked, whole: with -fsanitize=address, libasan comes
# first and defines send(), recv(), write() ..., and the linker would not
# take ours of those from the archive.
LIB_WHOLE = -Wl,--whole-archive $(LIB) -Wl,--no-whole-archive

ifeq ($(V),1)
Q :=
else
Q := @
endif

LESSONS  := $(sort $(notdir $(wildcard lessons/[0-9][0-9]-*)))
LIB_SRCS := $(wildcard src/*.c src/interpose/*.c)
LIB_OBJS := $(LIB_SRCS:src/%.c=$(BUILD)/obj/%.o)
LIB      := $(BUILD)/libsocketlab.a
PROGRAMS := $(foreach l,$(LESSONS),$(patsubst lessons/$(l)/%.c,$(BUILD)/$(l)/%,$(wildcard lessons/$(l)/*.c)))
# A lesson with no client.c of its own, after one that has one, runs the
# latest earlier lesson's client: lessons 08-10 change only the server, so
# build/08-fork/client is lesson 07's client, built from its client.o.
CLIENT_LESSONS := $(patsubst lessons/%/client.c,%,$(sort $(wildcard lessons/*/client.c)))
# $(call before,A,B): A when lesson A comes before lesson B (names sort in order).
before    = $(and $(filter-out $(2),$(1)),$(filter $(1),$(firstword $(sort $(1) $(2)))))
client_of = $(lastword $(foreach c,$(CLIENT_LESSONS),$(call before,$(c),$(1))))
BORROWED  := $(foreach l,$(filter-out $(CLIENT_LESSONS),$(LESSONS)),$(if $(call client_of,$(l)),$(l)))
PROGRAMS  += $(BORROWED:%=$(BUILD)/%/client)
BENCH    := $(BUILD)/bench/pingpong
# tools/*.c: slowlink, netem's delay and loss without netem (compose's slow
# profile); sysfault, the tests' short writes and EINTR made from outside the
# program (ptrace). By wildcard: the grader's kit carries sysfault.c alone.
TOOLS    := $(patsubst tools/%.c,$(BUILD)/tools/%,$(wildcard tools/*.c))

# The test runner: the first python3 that has pytest (Debian's, usually).
# Deferred (=, not :=): only the targets that run Python ask for it.
PYTHON  ?= $(shell for p in /usr/bin/python3 python3; do $$p -c 'import pytest' 2>/dev/null && { echo $$p; break; }; done)
PYTEST_ARGS ?=

.PHONY: all demo test test-all bench clean install help
all: $(PROGRAMS) $(TOOLS)

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) $(SAN_FLAGS) -c -o $@ $<

# Made anew each time: an archive keeps members whose source is gone.
$(LIB): $(LIB_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# One rule for every lesson program: lessons/L/P.c -> build/L/P.
define lesson_rules
$(BUILD)/$(1)/%.o: lessons/$(1)/%.c
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo "  CC      $$<")
	$$(Q)$$(CC) $$(CPPFLAGS) $$(WARN) $$(CFLAGS) $$(SAN_FLAGS) -c -o $$@ $$<
$(BUILD)/$(1)/%: $(BUILD)/$(1)/%.o $(LIB)
	@$$(if $$(Q),echo "  LD      $$@")
	$$(Q)$$(CC) $$(LDFLAGS) $$(SAN_FLAGS) $$(LAB_LDFLAGS) -o $$@ $$(filter-out $(LIB),$$^) $$(LIB_WHOLE) $$(LDLIBS)
endef
$(foreach l,$(LESSONS),$(eval $(call lesson_rules,$(l))))
define borrowed_client
$(BUILD)/$(1)/client: $(BUILD)/$(2)/client.o $(LIB)
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo "  LD      $$@ (lesson $(2)'s client)")
	$$(Q)$$(CC) $$(LDFLAGS) $$(SAN_FLAGS) $$(LAB_LDFLAGS) -o $$@ $$(filter-out $(LIB),$$^) $$(LIB_WHOLE) $$(LDLIBS)
endef
$(foreach l,$(BORROWED),$(eval $(call borrowed_client,$(l),$(call client_of,$(l)))))
.SECONDARY:

$(BUILD)/bench/%.o: bench/%.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) $(SAN_FLAGS) -c -o $@ $<
$(BENCH): $(BUILD)/bench/pingpong.o
	$(Q)$(CC) $(LDFLAGS) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)

# A tool reports errors as the lessons do (explain.h), with just those
# objects: not the interposer, which would trace the tool's own socket calls.
TOOL_OBJS := $(BUILD)/obj/explain.o $(BUILD)/obj/i18n.o $(BUILD)/obj/faultspec.o
$(BUILD)/tools/%: tools/%.c $(TOOL_OBJS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) $(SAN_FLAGS) $(LDFLAGS) -o $@ $< $(TOOL_OBJS) $(LDLIBS)

# The main job: the seed's exchange on loopback, both traces on the terminal.
demo: all
	@bash tests/demo.sh $(BUILD)/06-close

# Two tiers (conftest.py): make test is the quick one, every test not marked
# slow, about a minute; make test-all runs everything, as CI does. Both run
# on every core (pytest-xdist; TEST_JOBS=1 for one at a time) and end with
# their slowest tests, so a slow one is seen.
TEST_JOBS ?= auto
define run_pytest
	@bash tests/ensure-deps.sh
	@PYTHON="$(PYTHON)"; [ -n "$$PYTHON" ] || PYTHON=/usr/bin/python3; \
	 jobs=; $$PYTHON -c 'import xdist' 2>/dev/null && [ "$(TEST_JOBS)" != 1 ] && jobs="-n $(TEST_JOBS)"; \
	 LAB_BUILD=$(abspath $(BUILD)) $$PYTHON -m pytest $$jobs --durations=10 $(1) $(PYTEST_ARGS)
endef
test: all
	$(call run_pytest,-m "not slow")
test-all: all
	$(call run_pytest,)

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

# One source: the header comment of this file and of each mk/*.mk.
help:
	@for f in Makefile $(sort $(wildcard mk/*.mk)) src/interpose/interpose.mk \
	    $(wildcard grader/grader.mk); do \
	    sed -n '1,/^[^#]/{/^#   /s/^#   /  /p}' $$f; done

# Each topic's targets (docker, docs, hardening, ...) live in mk/; the
# interposer's (the preload library, fault-demo) beside its code; the
# grader's (handout, grade, grade-all, redteam, ...) in grader/grader.mk,
# which the student handout does not carry.
-include $(wildcard mk/*.mk) $(wildcard grader/grader.mk)
include src/interpose/interpose.mk

# The dependency files of what this Makefile builds, by name: never
# whatever *.d a submission might leave in build/.
-include $(LIB_OBJS:.o=.d) $(PROGRAMS:=.d) $(TOOLS:=.d)
