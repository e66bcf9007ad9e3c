# mk/docs.mk - `make docs`: the Doxygen site in build/docs/html/, and its
# Chinese twin in build/docs/html/zh/.
#
# docs/lesson-pages.py turns README.md and lessons/*/README.md into Doxygen
# pages (with the diagrams of docs/diagrams/) in $(DOCS_DIR)/pages/, and the
# README.zh.md files (the English text under a note where one is missing)
# into $(DOCS_DIR)/pages-zh/; then Doxygen builds each site: docs/Doxyfile,
# and docs/Doxyfile + docs/Doxyfile.zh for the Chinese one. Every page links
# to itself in the other language (docs/header.html). Any warning fails it.
# Needs: apt-get install doxygen graphviz.  `make docs DOCS_DIR=/tmp/site`
# builds elsewhere (the tests do).

DOCS_DIR ?= build/docs

# The link in each site's header to the same page in the other language:
# to that site's index.html without JavaScript, to the same page with it
# (but for the dir_* pages, named after input folders that differ).
DOCS_SWITCH_JS := <script type="text/javascript">(function(){var a=document.getElementById("langswitch-link"),f=location.pathname.split("/").pop();if(f&&!/^dir_/.test(f))a.href=a.getAttribute("href").replace(/index\\.html$$/,f);})();</script>
DOCS_SWITCH_en := <a id="langswitch-link" href="$$relpath^zh/index.html" hreflang="zh-CN" lang="zh-CN">中文</a>$(DOCS_SWITCH_JS)
DOCS_SWITCH_zh := <a id="langswitch-link" href="$$relpath^../index.html" hreflang="en" lang="en">English</a>$(DOCS_SWITCH_JS)

# Each lesson's page also embeds its real run: tools/timeline (mk/timeline.mk)
# runs the lesson's programs and writes $(DOCS_DIR)/timeline/timeline_<lesson>.html
# and its Chinese drawing timeline_<lesson>.zh.html, which HTML_EXTRA_FILES copies
# into the sites. DOCS_TIMELINES=0 leaves them out;
# a lesson whose run fails is left out with a message, the site still builds.
DOCS_TIMELINES ?= 1
# One run per lesson, drawn in both languages (a comma can't be written inside $(if)).
DOCS_TIMELINE_LANGS := en,zh

.PHONY: docs
docs: $(if $(filter 1,$(DOCS_TIMELINES)),all)
	@command -v doxygen >/dev/null || { echo "make docs: doxygen is missing: apt-get install doxygen graphviz" >&2; exit 1; }
	@command -v dot >/dev/null || { echo "make docs: graphviz (dot) is missing: apt-get install graphviz" >&2; exit 1; }
	@rm -rf $(DOCS_DIR)/html $(DOCS_DIR)/pages $(DOCS_DIR)/pages-zh $(DOCS_DIR)/timeline
	@mkdir -p $(DOCS_DIR)/timeline
	$(Q)$(if $(filter 1,$(DOCS_TIMELINES)),for l in $(LESSONS); do \
	    python3 tools/timeline --build $(BUILD) --lesson $$l -n 3 -i 0.05 --lang $(DOCS_TIMELINE_LANGS) \
	        -o $(DOCS_DIR)/timeline/timeline_$$l.html >/dev/null \
	    || echo "make docs: no timeline for lesson $$l (see above)" >&2; done)
	$(Q)python3 docs/lesson-pages.py --out $(DOCS_DIR)/pages --timelines $(DOCS_DIR)/timeline
	$(Q)python3 docs/lesson-pages.py --lang zh --out $(DOCS_DIR)/pages-zh --timelines $(DOCS_DIR)/timeline
	$(Q)sed -e 's|@LANG@|en|g' -e 's|@SWITCH@|$(subst |,\|,$(subst &,\&,$(DOCS_SWITCH_en)))|' docs/header.html > $(DOCS_DIR)/header-en.html
	$(Q)sed -e 's|@LANG@|zh-CN|g' -e 's|@SWITCH@|$(subst |,\|,$(subst &,\&,$(DOCS_SWITCH_zh)))|' docs/header.html > $(DOCS_DIR)/header-zh.html
	@$(if $(Q),echo "  DOXYGEN docs/Doxyfile -> $(DOCS_DIR)/html")
	$(Q){ cat docs/Doxyfile; \
	   echo 'OUTPUT_DIRECTORY = $(DOCS_DIR)'; \
	   echo 'HTML_HEADER = $(DOCS_DIR)/header-en.html'; \
	   echo 'INPUT = $(DOCS_DIR)/pages include src src/interpose'; \
	   echo "HTML_EXTRA_FILES = $$(ls $(DOCS_DIR)/timeline/*.html 2>/dev/null | grep -v '\.zh\.html$$' | tr '\n' ' ')"; \
	   echo 'USE_MDFILE_AS_MAINPAGE = $(DOCS_DIR)/pages/index.md'; } | doxygen -
	@$(if $(Q),echo "  DOXYGEN docs/Doxyfile.zh -> $(DOCS_DIR)/html/zh")
	$(Q){ cat docs/Doxyfile docs/Doxyfile.zh; \
	   echo 'OUTPUT_DIRECTORY = $(DOCS_DIR)'; \
	   echo 'HTML_HEADER = $(DOCS_DIR)/header-zh.html'; \
	   echo 'INPUT = $(DOCS_DIR)/pages-zh include src src/interpose'; \
	   echo "HTML_EXTRA_FILES = $$(ls $(DOCS_DIR)/timeline/*.html 2>/dev/null | tr '\n' ' ')"; \
	   echo 'USE_MDFILE_AS_MAINPAGE = $(DOCS_DIR)/pages-zh/index.md'; } | doxygen -
	@echo "docs: open $(DOCS_DIR)/html/index.html (Chinese: $(DOCS_DIR)/html/zh/index.html)"
