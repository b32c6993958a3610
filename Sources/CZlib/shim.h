// zlib, fenced: only the compute reader imports this module (gzip and plain input alike).
#pragma once
#include <zlib.h>
