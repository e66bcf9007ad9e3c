# mk/docs.mk - `make docs`: the Doxygen site in build/docs/html/.
#
# docs/lesson-pages.py turns README.md and lessons/*/README.md into Doxygen
# pages (with the diagrams of docs/diagrams/) in build/docs/pages/; then
# Doxygen (docs/Doxyfile) builds the site. Any Doxygen warning fails it.
# Needs: apt-get install doxygen graphviz

DOCS_DIR := build/docs

.PHONY: docs
docs:
	@command -v doxygen >/dev/null || { echo "make docs: doxygen is missing: apt-get install doxygen graphviz" >&2; exit 1; }
	@command -v dot >/dev/null || { echo "make docs: graphviz (dot) is missing: apt-get install graphviz" >&2; exit 1; }
	@rm -rf $(DOCS_DIR)
	$(Q)python3 docs/lesson-pages.py --out $(DOCS_DIR)/pages
	@$(if $(Q),echo "  DOXYGEN docs/Doxyfile")
	$(Q)doxygen docs/Doxyfile
	@echo "docs: open build/docs/html/index.html"
