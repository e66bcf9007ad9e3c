# mk/docs.mk - `make docs`: the Doxygen site in build/docs/html/.
#
# docs/lesson-pages.py turns README.md and lessons/*/README.md into Doxygen
# pages (with the diagrams of docs/diagrams/) in $(DOCS_DIR)/pages/; then
# Doxygen (docs/Doxyfile) builds $(DOCS_DIR)/html/. Any warning fails it.
# Needs: apt-get install doxygen graphviz.  `make docs DOCS_DIR=/tmp/site`
# builds elsewhere (the tests do).

DOCS_DIR ?= build/docs

# Each lesson's page also embeds its real run: tools/timeline (mk/timeline.mk)
# runs the lesson's programs and writes $(DOCS_DIR)/timeline/timeline_<lesson>.html,
# which HTML_EXTRA_FILES copies into the site. DOCS_TIMELINES=0 leaves them out;
# a lesson whose run fails is left out with a message, the site still builds.
DOCS_TIMELINES ?= 1

.PHONY: docs
docs: $(if $(filter 1,$(DOCS_TIMELINES)),all)
	@command -v doxygen >/dev/null || { echo "make docs: doxygen is missing: apt-get install doxygen graphviz" >&2; exit 1; }
	@command -v dot >/dev/null || { echo "make docs: graphviz (dot) is missing: apt-get install graphviz" >&2; exit 1; }
	@rm -rf $(DOCS_DIR)/html $(DOCS_DIR)/pages $(DOCS_DIR)/timeline
	@mkdir -p $(DOCS_DIR)/timeline
	$(Q)$(if $(filter 1,$(DOCS_TIMELINES)),for l in $(LESSONS); do \
	    python3 tools/timeline --build $(BUILD) --lesson $$l -n 3 -i 0.05 \
	        -o $(DOCS_DIR)/timeline/timeline_$$l.html >/dev/null \
	    || echo "make docs: no timeline for lesson $$l (see above)" >&2; done)
	$(Q)python3 docs/lesson-pages.py --out $(DOCS_DIR)/pages --timelines $(DOCS_DIR)/timeline
	@$(if $(Q),echo "  DOXYGEN docs/Doxyfile -> $(DOCS_DIR)/html")
	$(Q){ cat docs/Doxyfile; \
	   echo 'OUTPUT_DIRECTORY = $(DOCS_DIR)'; \
	   echo 'INPUT = $(DOCS_DIR)/pages docs/pages include src'; \
	   echo "HTML_EXTRA_FILES = $$(ls $(DOCS_DIR)/timeline/*.html 2>/dev/null | tr '\n' ' ')"; \
	   echo 'USE_MDFILE_AS_MAINPAGE = $(DOCS_DIR)/pages/index.md'; } | doxygen -
	@echo "docs: open $(DOCS_DIR)/html/index.html"
