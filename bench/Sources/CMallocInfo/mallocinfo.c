#include "mallocinfo.h"
#include <malloc.h>

size_t swapstats_heap_in_use(void) {
    malloc_trim(0);
    struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
}

#include <stdio.h>
void swapstats_line_buffer_stdout(void) { setvbuf(stdout, NULL, _IOLBF, 0); }
