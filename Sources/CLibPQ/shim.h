#ifndef RACELAB_CLIBPQ_SHIM_H
#define RACELAB_CLIBPQ_SHIM_H

#include <libpq-fe.h>

/* PG_DIAG_* are character-literal macros, which Swift does not import. */
static const int racelab_pg_diag_sqlstate = PG_DIAG_SQLSTATE;
static const int racelab_pg_diag_message_primary = PG_DIAG_MESSAGE_PRIMARY;
static const int racelab_pg_diag_severity = PG_DIAG_SEVERITY_NONLOCALIZED;

#endif
