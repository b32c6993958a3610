#ifndef SWAPSTATS_MALLOCINFO_H
#define SWAPSTATS_MALLOCINFO_H
#include <stddef.h>
/// Bytes glibc's allocator has handed out and not had back (after trimming).
size_t swapstats_heap_in_use(void);
/// Makes stdout line-buffered, so progress shows when piped.
void swapstats_line_buffer_stdout(void);
#endif
