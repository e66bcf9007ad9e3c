# mk/bench-load.mk - `make bench-load`: lessons 08, 09 and 10 under many
# clients at once, beside a bare epoll server of the same framed protocol.
#
#   make bench-load     10, 100, 1000 clients at once (and 10,000 for lesson 10):
#                       round trips/s, p50/p99, connections/s, ratios to the baseline
#
# bench/loadgen.c is the load client (epoll, libc only); bench/epoll_baseline.c
# the baseline server. bench/bench-load.sh pins each server to CPU 0 and the
# load client to CPU 1 (taskset), interleaves the runs and prints one table.
# CONNS="10 100 1000" MESSAGES=N ROUNDS=N change the runs; C10K=0 skips the
# 10,000-connection row.

LOADGEN  := $(BUILD)/bench/loadgen
BASELINE := $(BUILD)/bench/epoll_baseline

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
	@bash bench/bench-load.sh $(BUILD)
