# lessons.mk - the lessons' READMEs quote real program output; regenerate it.
#   make lesson-output          rewrite the output blocks in lessons/*/README.md
#   make lesson-output-check    fail if a block no longer matches the programs
.PHONY: lesson-output lesson-output-check
lesson-output: all
	$(Q)python3 tools/lesson-output.py --build $(abspath $(BUILD))

lesson-output-check: all
	$(Q)python3 tools/lesson-output.py --check --build $(abspath $(BUILD))
