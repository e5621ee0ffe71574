/* SPDX-License-Identifier: MIT */
/* Error texts and names, generated from the one list in tubo.h. */
#include "config.h"

#include "tubo.h"

const char *tubo_strerror(int err)
{
  switch (err) {
  case TUBO_OK:
    return "success";
#define TUBO_ERROR_TEXT_(name, value, text) \
  case TUBO_##name:                         \
    return text;
    TUBO_ERRORS(TUBO_ERROR_TEXT_)
#undef TUBO_ERROR_TEXT_
  default:
    return "unknown error";
  }
}

const char *tubo_err_name(int err)
{
  switch (err) {
  case TUBO_OK:
    return "TUBO_OK";
#define TUBO_ERROR_NAME_(name, value, text) \
  case TUBO_##name:                         \
    return "TUBO_" #name;
    TUBO_ERRORS(TUBO_ERROR_NAME_)
#undef TUBO_ERROR_NAME_
  default:
    return "TUBO_E?";
  }
}

const char *tubo_version_string(void)
{
  return PACKAGE_VERSION;
}
