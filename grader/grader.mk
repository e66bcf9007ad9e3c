# grader/grader.mk - the student handout and auto-grading (grader/).
#
#   make handout                    build/handout/: the kit with TODO(step N) stubs
#   make grade SUBMISSION=DIR       grade one submission (a folder, .zip or .tar.gz):
#                                   table, build/grade/results.json, junit.xml
#   make grade-all SUBMISSIONS=DIR  grade a class (one folder or archive per student):
#                                   build/grade-all/gradebook.csv and <student>/ results;
#                                   FORCE=1 grades again what is graded, JOBS=N at a time
#   make bench-grade [NO_CACHE=1]   submissions per minute for a class of 20 (NO_CACHE=1:
#                                   every lesson of every student graded, none reused)
#   make redteam                    the hostile submissions (grader/tests/test_redteam.py)
#   make gradescope                 build/gradescope/autograder.zip (+ the handout's Classroom file)
#
# GRADE_DOCKER=auto|yes|no (default auto: in the socketlab-grader container when
# `docker info` works, else locally in a sandbox, which needs root to be safe).

# Deferred (=): the Python probe runs only for the targets that use it.
GRADE_PY      = $(or $(PYTHON),/usr/bin/python3) -I
GRADE_DOCKER  ?= auto
GRADE_OPTS    ?=

.PHONY: handout grade grade-all bench-grade redteam gradescope
handout:
	@$(GRADE_PY) grader/handout.py build/handout

grade:
	@[ -n "$(SUBMISSION)" ] || { echo "usage: make grade SUBMISSION=DIR (a student's folder or archive, e.g. build/handout)" >&2; exit 2; }
	@GRADE_DOCKER=$(GRADE_DOCKER) $(GRADE_PY) grader/grade.py "$(SUBMISSION)" --out build/grade $(GRADE_OPTS)

grade-all:
	@[ -n "$(SUBMISSIONS)" ] || { echo "usage: make grade-all SUBMISSIONS=DIR (one folder or archive per student) [FORCE=1] [JOBS=N]" >&2; exit 2; }
	@$(GRADE_PY) grader/grade_all.py "$(SUBMISSIONS)" --out build/grade-all --docker $(GRADE_DOCKER) \
	    $(if $(filter 1,$(FORCE)),--force) $(if $(JOBS),--jobs $(JOBS)) $(GRADE_OPTS)

bench-grade:
	@$(GRADE_PY) grader/bench_grade.py --docker $(GRADE_DOCKER) $(if $(JOBS),--jobs $(JOBS)) \
	    $(if $(filter 1,$(NO_CACHE)),--no-cache)

redteam:
	@$(or $(PYTHON),/usr/bin/python3) -m pytest -q grader/tests/test_redteam.py $(PYTEST_ARGS)

gradescope: handout
	@$(GRADE_PY) grader/gradescope.py build/gradescope
