# mk/grading.mk - the student handout and auto-grading (tests/grading).
#
#   make handout                    build/handout/: the kit with TODO(step N) stubs
#   make grade SUBMISSION=DIR       grade a student tree: table, build/grade/results.json, junit.xml
#   make gradescope                 build/gradescope/autograder.zip (+ the handout's Classroom file)
#
# GRADE_DOCKER=auto|yes|no (default auto: in the socketlab-grader container when
# `docker info` works, else locally with limits).

GRADE_PY      = $(or $(PYTHON),/usr/bin/python3)
GRADE_DOCKER  ?= auto
GRADE_OPTS    ?=

.PHONY: handout grade gradescope
handout:
	@$(GRADE_PY) tests/grading/handout.py build/handout

grade:
	@[ -n "$(SUBMISSION)" ] || { echo "usage: make grade SUBMISSION=DIR (a student's tree, e.g. build/handout)" >&2; exit 2; }
	@GRADE_DOCKER=$(GRADE_DOCKER) $(GRADE_PY) tests/grading/grade.py "$(SUBMISSION)" --out build/grade $(GRADE_OPTS)

gradescope: handout
	@$(GRADE_PY) tests/grading/gradescope.py build/gradescope
