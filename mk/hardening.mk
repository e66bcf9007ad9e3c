# mk/hardening.mk - fuzzing with libFuzzer (clang), included by the Makefile.
#
#   make fuzz                 each fuzz target for FUZZ_SECONDS (default 60)
#   make fuzz FUZZ_SECONDS=600
#   make fuzz-ci              each target for FUZZ_CI_SECONDS (20); fails on any crash
#   make fuzz-build           only build them, into build/fuzz/
#
# Needs clang with the libFuzzer runtime (Debian 12: clang-14 and
# libclang-rt-14-dev). Targets are fuzz/fuzz_*.c; their seed corpora are
# fuzz/corpus/<target>/ (read only: new inputs go to build/fuzz/corpus/).

FUZZ_CC         ?= clang
FUZZ_SECONDS    ?= 60
FUZZ_CI_SECONDS ?= 20
FUZZ_BUILD      := build/fuzz
# Coverage for libFuzzer, ASan and UBSan; any UB is a crash.
FUZZ_SAN        := address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS     := -g -O1
# Per input: at most 10 s; inputs up to 4 KiB (the receive path reads 1 KiB at a time).
FUZZ_RUN_FLAGS  := -timeout=10 -max_len=4096 -close_fd_mask=3 -print_final_stats=1

FUZZ_TARGETS    := $(patsubst fuzz/%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_BINS       := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/%)
FUZZ_LIB_OBJS   := $(LIB_SRCS:src/%.c=$(FUZZ_BUILD)/obj/%.o)

# fuzz_args ends the parsing thread when the parsers call exit().
$(FUZZ_BUILD)/fuzz_args: FUZZ_LINK_EXTRA := -Wl,--wrap=exit -pthread

.PHONY: fuzz fuzz-ci fuzz-build fuzz-check-clang

fuzz-check-clang:
	@command -v $(FUZZ_CC) >/dev/null || { echo "fuzz: $(FUZZ_CC) not found; apt-get install clang libclang-rt-14-dev" >&2; exit 1; }

# The library under test, instrumented for coverage (no libFuzzer main).
$(FUZZ_BUILD)/obj/%.o: src/%.c | fuzz-check-clang
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $< (fuzz)")
	$(Q)$(FUZZ_CC) $(CPPFLAGS) $(WARN) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,$(FUZZ_SAN) -c -o $@ $<

$(FUZZ_BUILD)/%: fuzz/%.c $(FUZZ_LIB_OBJS) | fuzz-check-clang
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)$(FUZZ_CC) $(CPPFLAGS) $(WARN) $(FUZZ_CFLAGS) -fsanitize=fuzzer,$(FUZZ_SAN) \
	    -o $@ $< $(FUZZ_LIB_OBJS) $(FUZZ_LINK_EXTRA) $(LDLIBS)

fuzz-build: $(FUZZ_BINS)

# Run each target for $(1) seconds over a scratch copy of its seed corpus;
# a crash leaves build/fuzz/artifacts/<target>-crash-* and fails make.
define fuzz_run
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/artifacts; \
	    echo "== fuzz $$t for $(1) s (log: $(FUZZ_BUILD)/$$t.log)"; \
	    rc=0; $(FUZZ_BUILD)/$$t $(FUZZ_RUN_FLAGS) -max_total_time=$(1) \
	        -artifact_prefix=$(FUZZ_BUILD)/artifacts/$$t- \
	        $(FUZZ_BUILD)/corpus/$$t fuzz/corpus/$$t >$(FUZZ_BUILD)/$$t.log 2>&1 || rc=$$?; \
	    if [ $$rc -ne 0 ]; then cat $(FUZZ_BUILD)/$$t.log; \
	        echo "fuzz: $$t failed (exit $$rc); the input is in $(FUZZ_BUILD)/artifacts/" >&2; exit 1; fi; \
	    grep -E '^stat::(number_of_executed_units|new_units_added)' $(FUZZ_BUILD)/$$t.log; \
	done
endef

fuzz: $(FUZZ_BINS)
	$(call fuzz_run,$(FUZZ_SECONDS))

fuzz-ci: $(FUZZ_BINS)
	$(call fuzz_run,$(FUZZ_CI_SECONDS))
