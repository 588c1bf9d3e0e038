// OpenMPI's handles are macros over the addresses of global objects
// (MPI_COMM_WORLD is ((MPI_Comm)((void*)&ompi_mpi_comm_world))), which Swift cannot
// import. These static inline getters give them to Swift; enum constants import as is.
#ifndef PARSEVAL_CMPI_SHIM_H
#define PARSEVAL_CMPI_SHIM_H
#include <mpi.h>

static inline MPI_Comm pv_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Comm pv_mpi_comm_self(void) { return MPI_COMM_SELF; }
static inline MPI_Datatype pv_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype pv_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype pv_mpi_int32(void) { return MPI_INT32_T; }
static inline MPI_Datatype pv_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype pv_mpi_uint64(void) { return MPI_UINT64_T; }
static inline MPI_Datatype pv_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Op pv_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op pv_mpi_max(void) { return MPI_MAX; }
static inline MPI_Op pv_mpi_min(void) { return MPI_MIN; }
static inline MPI_Info pv_mpi_info_null(void) { return MPI_INFO_NULL; }
static inline MPI_Errhandler pv_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline void *pv_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Status *pv_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Request pv_mpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline int pv_mpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
static inline int pv_mpi_max_library_version_string(void) { return MPI_MAX_LIBRARY_VERSION_STRING; }

#endif
