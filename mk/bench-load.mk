# mk/bench-load.mk - `make bench-load` and `make bench-scale`: the concurrent
# servers (lessons 08, 09 and 10) under load, beside a bare epoll server of
# the same framed protocol.
#
#   make bench-load     10, 100, 1000 clients at once (and 10,000 for lessons 09, 10):
#                       round trips/s, p50/p99/p99.9, CPU per round trip, ratios to the baseline
#   make bench-scale    100 busy clients beside 0 to 50,000 idle connections (IDLE="..."):
#                       build/bench/scale.csv and scale.svg (poll falls as 1/N, epoll stays flat)
#
# bench/loadgen.c is the load client (epoll, libc only); bench/epoll_baseline.c
# the baseline server; bench/bench-load.py and bench/bench-scale.py pin each
# server to CPU 0 and the load client to CPU 1 (taskset), interleave the
# rounds, print the median and spread of each ratio with the machine's load,
# and mark rows noisy or missed (bench/benchlib.py). As root they run in a
# network namespace of their own. Settings, on the command line or in the
# environment (defaults shown):
# bench-load:  CONNS="10 100 1000" DURATION=1 ROUNDS=3 C10K=1 (0 skips the 10,000 row)
# bench-scale: IDLE="0 1000 10000 50000" SERVERS="08-fork 09-poll 10-epoll 10-epoll-edge baseline"
#              ACTIVE=100 DURATION=2 ROUNDS=3 FORK_MAX=10000 OUT=build/bench

LOADGEN  := $(BUILD)/bench/loadgen
BASELINE := $(BUILD)/bench/epoll_baseline
BENCH_PY  = $(or $(PYTHON),/usr/bin/python3)

$(LOADGEN): $(BUILD)/bench/loadgen.o
	$(Q)$(CC) $(LDFLAGS) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)
$(BASELINE): $(BUILD)/bench/epoll_baseline.o
	$(Q)$(CC) $(LDFLAGS) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)

.PHONY: bench-load bench-scale
# Built with everything (tests/test_loadgen.py uses them), but not in the
# student handout, which has no bench/.
ifneq ($(wildcard bench/loadgen.c),)
all: $(LOADGEN) $(BASELINE)
endif
bench-load: all $(LOADGEN) $(BASELINE)
	@CONNS="$(CONNS)" DURATION="$(DURATION)" ROUNDS="$(ROUNDS)" C10K="$(C10K)" \
	    $(BENCH_PY) bench/bench-load.py $(BUILD)
bench-scale: all $(LOADGEN) $(BASELINE)
	@IDLE="$(IDLE)" SERVERS="$(SERVERS)" ACTIVE="$(ACTIVE)" DURATION="$(DURATION)" ROUNDS="$(ROUNDS)" \
	    FORK_MAX="$(FORK_MAX)" OUT="$(OUT)" $(BENCH_PY) bench/bench-scale.py $(BUILD)
