# mk/bench-load.mk - `make bench-load`: the concurrent servers (lessons 08,
# 09 and 10) under load, beside a bare epoll server of the same framed protocol.
#
#   make bench-load     10, 100, 1000 clients at once (and 10,000 for lessons 09, 10):
#                       round trips/s, p50/p99/p99.9, CPU per round trip, ratios to the baseline
#
# bench/loadgen.c is the load client (epoll, libc only); bench/epoll_baseline.c
# the baseline server; bench/bench-load.py pins each
# server to CPU 0 and the load client to CPU 1 (taskset), interleave the
# rounds, print the median and spread of each ratio with the machine's load,
# and mark rows noisy or missed (bench/benchlib.py). As root they run in a
# network namespace of its own. Settings, on the command line or in the
# environment (defaults shown):
# bench-load:  CONNS="10 100 1000" DURATION=1 ROUNDS=3 C10K=1 (0 skips the 10,000 row)

LOADGEN  := $(BUILD)/bench/loadgen
BASELINE := $(BUILD)/bench/epoll_baseline
BENCH_PY  = $(or $(PYTHON),/usr/bin/python3)

$(LOADGEN): $(BUILD)/bench/loadgen.o
	$(Q)$(CC) $(LDFLAGS) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)
$(BASELINE): $(BUILD)/bench/epoll_baseline.o
	$(Q)$(CC) $(LDFLAGS) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)

.PHONY: bench-load
# Built with everything (tests/test_loadgen.py uses them), but not in the
# student handout, which has no bench/.
ifneq ($(wildcard bench/loadgen.c),)
all: $(LOADGEN) $(BASELINE)
endif
bench-load: all $(LOADGEN) $(BASELINE)
	@CONNS="$(CONNS)" DURATION="$(DURATION)" ROUNDS="$(ROUNDS)" C10K="$(C10K)" \
	    $(BENCH_PY) bench/bench-load.py $(BUILD)
