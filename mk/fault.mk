# mk/fault.mk - the interposer as a preload library, for programs the kit
# did not build (src/interpose.c, src/fault.c, src/trace.c; see
# fault/README.md and tools/trace).
#
#   make                  also builds $(BUILD)/libsocketlab.so (and the
#                         name libfault.so for it)
#   make fault-demo       lesson 06's exchange with every send cut to 1 byte
#                         and EINTR on every third send (see fault/README.md)
#   tools/trace -- CMD    any dynamically linked program, traced
#   tools/with-faults SPEC PROGRAM ARGS...   any program under injection
#
# The kit's own programs link the same code from libsocketlab.a; under
# SAN=1 the library is built with the same sanitizers, into build/san/.

PRELOAD_LIB  := $(BUILD)/libsocketlab.so
PRELOAD_OBJS := $(LIB_SRCS:src/%.c=$(BUILD)/pic/%.o)
# Position-independent, and only the wrappers exported (see interpose.c).
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

.PHONY: fault-demo
fault-demo: all
	@LAB_BUILD=$(abspath $(BUILD)) bash tools/with-faults --demo
-include $(PRELOAD_OBJS:.o=.d)
