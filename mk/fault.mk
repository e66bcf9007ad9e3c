# mk/fault.mk - the fault-injection preload library (fault/libfault.c).
#
#   make                  also builds $(BUILD)/libfault.so
#   make fault-demo       lesson 06's exchange with every send cut to 1 byte
#                         and EINTR on every third send (see fault/README.md)
#   tools/with-faults SPEC PROGRAM ARGS...   any program under injection
#
# Under SAN=1 the library is built with the same sanitizers, into build/san/.

FAULT_LIB := $(BUILD)/libfault.so
# A shared object, position-independent; -ldl below is for dlsym (glibc
# 2.34+ has it in libc, the flag is harmless there, older ones need it).
FAULT_CFLAGS := -fPIC -shared

all: $(FAULT_LIB)

$(FAULT_LIB): fault/libfault.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(WARN) $(CFLAGS) $(FAULT_CFLAGS) $(LDFLAGS) -o $@ $< -ldl

.PHONY: fault-demo
fault-demo: all
	@LAB_BUILD=$(abspath $(BUILD)) bash tools/with-faults --demo
