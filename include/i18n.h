/*
 * i18n.h - the programs' messages in the user's language (GNU gettext).
 *
 * English is written in the source and is the default; po/zh_CN.po holds
 * the Chinese. Data lines and JSON keys are never translated.
 */
#ifndef SOCKETLAB_I18N_H
#define SOCKETLAB_I18N_H

#include <libintl.h>

/** The text domain: catalogs are LOCALEDIR/<lang>/LC_MESSAGES/socketlab.mo. */
#define I18N_DOMAIN "socketlab"

/** Translate a message (a string literal, so xgettext finds it). */
#define _(msgid) dgettext(I18N_DOMAIN, msgid)
/** Mark a message for translation where it is defined (tables); translate it with _() where used. */
#define N_(msgid) (msgid)

/**
 * @brief Choose the language and find the catalog; call once, early.
 *
 * Safe to call more than once (later calls do nothing).
 */
void i18n_init(void);

/**
 * @brief Whether messages are in Chinese now.
 * @return 1 for Chinese, 0 for English.
 */
int i18n_zh(void);

#endif /* SOCKETLAB_I18N_H */
