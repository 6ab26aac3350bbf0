#ifndef CITYGATE_CLIBPQ_SHIM_H
#define CITYGATE_CLIBPQ_SHIM_H

#include <libpq-fe.h>

#endif
