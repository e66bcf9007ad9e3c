# mk/check.mk - the handout's `make check` and `make help` (from the kit's
# grader/check.mk; the handout generator puts it here).
#
#   make check              the lessons in order; stops at the first one not done
#   make check LESSON=03    that lesson only (03, 3 or 03-listen)
#
# tools/check.py builds first (never a stale program), then runs the
# lesson's tests in one pytest run and prints one verdict per test.

CHECK_PY := $(or $(PYTHON),/usr/bin/python3)
LESSON   ?=

.PHONY: check help
check:
	@LAB_BUILD=$(abspath $(BUILD)) LAB_CHECK_VERBOSE=$(V) $(CHECK_PY) tools/check.py $(LESSON)

help:
	@echo "Targets that work in this handout:"
	@echo "  make                    build every lesson into build/<lesson>/ (server, and client from 04)"
	@echo "  make check              check the lessons in order; stops at the first one not done"
	@echo "                          and says which step to write next"
	@echo "  make check LESSON=03    build, then check lesson 03 only (03 or 03-listen)"
	@echo "  make demo               lesson 06's server and client on loopback, with traces"
	@echo "  make fault-demo         lesson 06 with every send cut to 1 byte and EINTR (lesson 05)"
	@echo "  make clean              remove build/"
	@echo "  make help               this list"
	@echo "Options: V=1 shows the full compiler commands; SAN=1 builds with AddressSanitizer"
	@echo "into build/san/ (make check SAN=1 checks those builds)."
	@echo "Read README.md first: the order of work, where to write, how to trace and hand in."
