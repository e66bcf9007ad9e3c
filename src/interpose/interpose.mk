# src/interpose/interpose.mk - the interposer as a preload library, for
# programs the kit did not build (this folder; see its README.md and
# tools/trace), and the seed's own programs to try it on.
#
#   make                  also builds $(BUILD)/libsocketlab.so (and the
#                         name libfault.so for it)
#   make seed             the seed's demo5 and demo6, as the seed wrote them,
#                         into $(BUILD)/seed/ (needs g++): tools/trace's examples
#   make fault-demo       lesson 06's exchange with every send cut to 1 byte
#                         and EINTR on every third send (see src/interpose/README.md)
#   tools/trace -- CMD    any dynamically linked program, traced
#   tools/with-faults SPEC PROGRAM ARGS...   any program under injection
#
# The kit's own programs link the same code from libsocketlab.a; under
# SAN=1 the library is built with the same sanitizers, into build/san/.

PRELOAD_LIB  := $(BUILD)/libsocketlab.so
PRELOAD_OBJS := $(LIB_SRCS:src/%.c=$(BUILD)/pic/%.o)
# Position-independent, and only the wrappers exported (WRAPPER in wrapped.h).
PIC_CFLAGS   := -fPIC -fvisibility=hidden -DLAB_PRELOAD

all: $(PRELOAD_LIB) $(BUILD)/libfault.so

$(BUILD)/pic/%.o: src/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) $(SAN_FLAGS) $(PIC_CFLAGS) -c -o $@ $<

$(PRELOAD_LIB): $(PRELOAD_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared $(LDFLAGS) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)

# The name fault injection had before it joined the trace: the same library.
$(BUILD)/libfault.so: $(PRELOAD_LIB)
	$(Q)ln -sf $(notdir $<) $@

# The seed's programs, unchanged: what tools/trace --help runs.
CXX ?= g++
SEED_PROGRAMS := $(BUILD)/seed/demo5 $(BUILD)/seed/demo6
$(BUILD)/seed/%: tests/seed/%.cpp
	@mkdir -p $(dir $@)
	@command -v $(CXX) >/dev/null || { echo "make seed: $(CXX) is missing (apt-get install g++)" >&2; exit 1; }
	@$(if $(Q),echo "  CXX     $<")
	$(Q)$(CXX) -O2 -w -o $@ $<

.PHONY: fault-demo seed
seed: $(SEED_PROGRAMS)
	@echo "seed: $(SEED_PROGRAMS); try: tools/trace -- $(BUILD)/seed/demo6 5005"

fault-demo: all
	@LAB_BUILD=$(abspath $(BUILD)) bash tools/with-faults --demo
-include $(PRELOAD_OBJS:.o=.d)
