/*
 * i18n.h - the programs' messages in the user's language (GNU gettext).
 *
 * English is written in the source and is the default; po/zh_CN.po holds
 * the Chinese. Data lines and JSON keys are never translated.
 */
#ifndef SOCKETLAB_I18N_H
#define SOCKETLAB_I18N_H

#include <libintl.h>

/**
 * @defgroup i18n Messages in the user's language
 * @brief GNU gettext: English in the source, Chinese from po/zh_CN.po.
 * @{
 */

/** The text domain: catalogs are LOCALEDIR/zh_CN/LC_MESSAGES/socketlab.mo. */
#define I18N_DOMAIN "socketlab"

/** Translate a message (a string literal, so xgettext finds it). */
#define _(msgid) dgettext(I18N_DOMAIN, msgid)
/** Mark a message for translation where it is defined (tables); translate it with _() where used. */
#define N_(msgid) (msgid)

/**
 * Translate a message in a context: the same English with two meanings
 * ("create socket" is 创建服务端的socket for the server and 创建客户端的socket
 * for the client, the tutorial's own words): C_("server step", "create socket").
 */
#define C_(ctx, msgid) i18n_pgettext(ctx "\004" msgid)
/** Mark a message with its context in a table; translate it with i18n_pgettext(). */
#define NC_(ctx, msgid) (ctx "\004" msgid)

/**
 * @brief Choose the language and find the catalog; call once, early.
 *
 * Reads LAB_LANG (zh or en), then LANGUAGE, LC_ALL, LC_MESSAGES and
 * LANG as gettext does; Chinese works even where no zh_CN locale is
 * generated. Finds the catalog beside the program or library ($LAB_LOCALEDIR
 * overrides). Needs no main(): the preloaded tracer calls it from a
 * constructor. Safe to call more than once (later calls do nothing), and
 * leaves errno and LC_NUMERIC as they were.
 */
void i18n_init(void);

/**
 * @brief Translate a message marked with NC_() (or written by C_()).
 * @param ctx_msgid  the context, a \\004 byte, then the English message.
 * @return the translation, or the English message without its context.
 */
const char *i18n_pgettext(const char *ctx_msgid);

/**
 * @brief Whether messages are in Chinese now.
 * @return 1 for Chinese, 0 for English.
 */
int i18n_zh(void);

/** @} */

#endif /* SOCKETLAB_I18N_H */
