# mk/docs.mk - `make docs`: the Doxygen site in build/docs/html/.
#
# docs/lesson-pages.py turns README.md and lessons/*/README.md into Doxygen
# pages (with the diagrams of docs/diagrams/) in $(DOCS_DIR)/pages/; then
# Doxygen (docs/Doxyfile) builds $(DOCS_DIR)/html/. Any warning fails it.
# Needs: apt-get install doxygen graphviz.  `make docs DOCS_DIR=/tmp/site`
# builds elsewhere (the tests do).

DOCS_DIR ?= build/docs

.PHONY: docs
docs:
	@command -v doxygen >/dev/null || { echo "make docs: doxygen is missing: apt-get install doxygen graphviz" >&2; exit 1; }
	@command -v dot >/dev/null || { echo "make docs: graphviz (dot) is missing: apt-get install graphviz" >&2; exit 1; }
	@rm -rf $(DOCS_DIR)/html $(DOCS_DIR)/pages
	$(Q)python3 docs/lesson-pages.py --out $(DOCS_DIR)/pages
	@$(if $(Q),echo "  DOXYGEN docs/Doxyfile -> $(DOCS_DIR)/html")
	$(Q){ cat docs/Doxyfile; \
	   echo 'OUTPUT_DIRECTORY = $(DOCS_DIR)'; \
	   echo 'INPUT = $(DOCS_DIR)/pages docs/pages include src'; \
	   echo 'USE_MDFILE_AS_MAINPAGE = $(DOCS_DIR)/pages/index.md'; } | doxygen -
	@echo "docs: open $(DOCS_DIR)/html/index.html"
