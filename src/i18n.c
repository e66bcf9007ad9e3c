/*
 * i18n.c - choose the messages' language (see i18n.h).
 * Placeholder: English only until the gettext catalog lands.
 */
#include "i18n.h"

#include <stdlib.h>
#include <string.h>

static int zh = -1;

void i18n_init(void)
{
    const char *lang = getenv("LAB_LANG");

    if (zh != -1)
        return;
    zh = lang != NULL && strncmp(lang, "zh", 2) == 0;
}

int i18n_zh(void)
{
    if (zh == -1)
        i18n_init();
    return zh;
}
