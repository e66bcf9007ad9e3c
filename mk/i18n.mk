# mk/i18n.mk - the programs' messages in Chinese (GNU gettext).
#
#   make              also builds the catalog, $(BUILD)/locale/zh_CN/LC_MESSAGES/socketlab.mo,
#                     where the programs look for it (beside build/<lesson>/)
#   make po-update    re-extract the messages (po/extract.py: xgettext over src/, src/interpose/,
#                     lessons/ and tools/) into $(BUILD)/po/socketlab.pot and merge them
#                     into po/zh_CN.po; then translate the new and fuzzy entries
#   make po-check     fail unless every message is translated (0 fuzzy, 0 untranslated)
#
# Needs msgfmt, xgettext, msgmerge: apt-get install gettext.

CATALOG     := $(BUILD)/locale/zh_CN/LC_MESSAGES/socketlab.mo

# Without msgfmt the programs still build and speak English: the catalog is
# skipped with a note, not an error (a student's first `make` needs only a
# compiler; `apt-get install gettext` brings the Chinese).
ifneq ($(shell command -v msgfmt 2>/dev/null),)
all: $(CATALOG)
else
all: no-catalog
.PHONY: no-catalog
no-catalog:
	@echo "make: msgfmt is missing, so the programs speak English only (apt-get install gettext)" >&2
endif

$(CATALOG): po/zh_CN.po
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  MSGFMT  $@")
	$(Q)msgfmt --check -o $@ $<

# An installed program finds the catalog in PREFIX/share/locale.
$(BUILD)/obj/i18n.o: CPPFLAGS += -DLOCALEDIR='"$(PREFIX)/share/locale"'

.PHONY: po-update po-check install-locale
po-update:
	@mkdir -p $(BUILD)/po
	$(Q)python3 po/extract.py $(BUILD)/po/socketlab.pot
	$(Q)msgmerge --quiet --update --backup=none --no-fuzzy-matching po/zh_CN.po $(BUILD)/po/socketlab.pot
	$(Q)msgattrib --no-obsolete -o po/zh_CN.po po/zh_CN.po
	@msgfmt --statistics --check -o /dev/null po/zh_CN.po

po-check:
	$(Q)msgfmt --statistics --check -o /dev/null po/zh_CN.po 2>&1 | tee /dev/stderr | \
	   grep -qv 'untranslated\|fuzzy'

install: install-locale
install-locale: $(CATALOG)
	install -d $(DESTDIR)$(PREFIX)/share/locale/zh_CN/LC_MESSAGES
	install -m 644 $(CATALOG) $(DESTDIR)$(PREFIX)/share/locale/zh_CN/LC_MESSAGES/socketlab.mo
