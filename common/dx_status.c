/* Printable texts of the C status codes (dx_status.h). */
#include "dx_status.h"

const char *dx_strstatus(int status)
{
    switch (status) {
#define DX_STATUS_CASE(name, value, msg)                                                           \
    case value:                                                                                    \
        return msg;
        DX_STATUS_MAP(DX_STATUS_CASE)
#undef DX_STATUS_CASE
    }
    return "unknown status";
}
