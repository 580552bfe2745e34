#ifndef CMPI_SHIM_H
#define CMPI_SHIM_H
#include <mpi.h>
/* Open MPI's handles are macros over addresses of incomplete structs, which Swift cannot import;
   these inline getters hand them to Swift. Enum and limit constants get getters too, so Swift sees
   plain Int32 values whatever the importer makes of the anonymous enums. */
static inline MPI_Comm     cmpi_comm_world(void)   { return MPI_COMM_WORLD; }
static inline MPI_Comm     cmpi_comm_self(void)    { return MPI_COMM_SELF; }
static inline MPI_Comm     cmpi_comm_null(void)    { return MPI_COMM_NULL; }
static inline MPI_Datatype cmpi_float(void)        { return MPI_FLOAT; }
static inline MPI_Datatype cmpi_double(void)       { return MPI_DOUBLE; }
static inline MPI_Datatype cmpi_int32(void)        { return MPI_INT32_T; }
static inline MPI_Datatype cmpi_int64(void)        { return MPI_INT64_T; }
static inline MPI_Datatype cmpi_uint64(void)       { return MPI_UINT64_T; }
static inline MPI_Datatype cmpi_uint8(void)        { return MPI_UINT8_T; }
static inline MPI_Datatype cmpi_byte(void)         { return MPI_BYTE; }
static inline MPI_Op       cmpi_op_sum(void)       { return MPI_SUM; }
static inline MPI_Op       cmpi_op_max(void)       { return MPI_MAX; }
static inline MPI_Op       cmpi_op_min(void)       { return MPI_MIN; }
static inline MPI_Request  cmpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline MPI_Status  *cmpi_status_ignore(void){ return MPI_STATUS_IGNORE; }
static inline void        *cmpi_in_place(void)     { return MPI_IN_PLACE; }
static inline MPI_Errhandler cmpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline MPI_Info     cmpi_info_null(void)    { return MPI_INFO_NULL; }
static inline int          cmpi_comm_type_shared(void) { return MPI_COMM_TYPE_SHARED; }
static inline int          cmpi_thread_funneled(void)  { return MPI_THREAD_FUNNELED; }
static inline int          cmpi_max_processor_name(void) { return MPI_MAX_PROCESSOR_NAME; }
static inline int          cmpi_max_error_string(void)   { return MPI_MAX_ERROR_STRING; }
#endif
