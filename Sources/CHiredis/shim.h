#ifndef SWAPSTATS_CHIREDIS_SHIM_H
#define SWAPSTATS_CHIREDIS_SHIM_H
// hiredis 0.14 (Debian libhiredis-dev), imported only by RedisClient.
#include <hiredis/hiredis.h>
#endif
