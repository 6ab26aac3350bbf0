#ifndef CITYGATE_CSQLITE_SHIM_H
#define CITYGATE_CSQLITE_SHIM_H
#include <sqlite3.h>
#endif
