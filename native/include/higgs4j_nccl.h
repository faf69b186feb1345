/*
 * The boundary between higgs4j and NCCL: exactly the part of NCCL's public C API (nccl.h, NCCL 2.x) that higgs4j
 * calls for multi-GPU training. The types, enum values and signatures are those of NVIDIA's nccl.h; they are
 * written here in plain C, without cuda_runtime.h, so that jextract and gcc read them on a machine without CUDA.
 * cudaStream_t is an opaque pointer (CUstream_st*) in CUDA; here it is void*, which has the same ABI.
 *
 * Conventions: every function returning ncclResult_t returns ncclSuccess (0) on success; results come back
 * through out-pointers. ncclGetVersion reports major*10000 + minor*100 + patch for NCCL >= 2.9
 * (major*1000 + minor*100 + patch before that).
 */
#ifndef HIGGS4J_NCCL_H
#define HIGGS4J_NCCL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A CUDA stream, as cudaStream_t. */
typedef void* cudaStream_t;

/* A communicator: opaque handle owned by NCCL, released by ncclCommDestroy or ncclCommAbort. */
struct ncclComm;
typedef struct ncclComm* ncclComm_t;

/* The rendezvous token rank 0 creates and every rank passes to ncclCommInitRank (NCCL_UNIQUE_ID_BYTES = 128). */
typedef struct { char internal[128]; } ncclUniqueId;

typedef enum { ncclSuccess            = 0,
               ncclUnhandledCudaError = 1,
               ncclSystemError        = 2,
               ncclInternalError      = 3,
               ncclInvalidArgument    = 4,
               ncclInvalidUsage       = 5,
               ncclRemoteError        = 6,
               ncclInProgress         = 7,
               ncclTimeout            = 8,
               ncclNumResults         = 9 } ncclResult_t;

/* Built-in reductions. (NCCL sizes this enum like an int; values from ncclNumOps up are user-created operators.) */
typedef enum { ncclSum    = 0,
               ncclProd   = 1,
               ncclMax    = 2,
               ncclMin    = 3,
               ncclAvg    = 4,
               ncclNumOps = 5 } ncclRedOp_t;

typedef enum { ncclInt8       = 0, ncclChar   = 0,
               ncclUint8      = 1,
               ncclInt32      = 2, ncclInt    = 2,
               ncclUint32     = 3,
               ncclInt64      = 4,
               ncclUint64     = 5,
               ncclFloat16    = 6, ncclHalf   = 6,
               ncclFloat32    = 7, ncclFloat  = 7,
               ncclFloat64    = 8, ncclDouble = 8,
               ncclBfloat16   = 9,
               ncclFloat8e4m3 = 10,
               ncclFloat8e5m2 = 11,
               ncclNumTypes   = 12 } ncclDataType_t;

/* ---- Library and communicators ---- */

ncclResult_t ncclGetVersion(int* version);
ncclResult_t ncclGetUniqueId(ncclUniqueId* uniqueId);
/* The caller's current CUDA device must be the rank's device. Blocks until all nranks ranks have joined. */
ncclResult_t ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId commId, int rank);
ncclResult_t ncclCommDestroy(ncclComm_t comm);
ncclResult_t ncclCommAbort(ncclComm_t comm);
ncclResult_t ncclCommGetAsyncError(ncclComm_t comm, ncclResult_t* asyncError);
ncclResult_t ncclCommCount(const ncclComm_t comm, int* count);
ncclResult_t ncclCommCuDevice(const ncclComm_t comm, int* device);
ncclResult_t ncclCommUserRank(const ncclComm_t comm, int* rank);

/* ---- Errors ---- */

const char* ncclGetErrorString(ncclResult_t result);
/* Since NCCL 2.13; the loader treats it as optional. */
const char* ncclGetLastError(ncclComm_t comm);

/* ---- Collectives: enqueued on stream; in place when sendbuff == recvbuff ---- */

ncclResult_t ncclAllReduce(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype,
                           ncclRedOp_t op, ncclComm_t comm, cudaStream_t stream);
ncclResult_t ncclBroadcast(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype, int root,
                           ncclComm_t comm, cudaStream_t stream);
/* recvbuff holds nranks * sendcount elements, rank i's at offset i * sendcount. */
ncclResult_t ncclAllGather(const void* sendbuff, void* recvbuff, size_t sendcount, ncclDataType_t datatype,
                           ncclComm_t comm, cudaStream_t stream);

/* ---- Groups: collectives between ncclGroupStart and ncclGroupEnd are launched together ---- */

ncclResult_t ncclGroupStart(void);
ncclResult_t ncclGroupEnd(void);

#ifdef __cplusplus
}
#endif

#endif /* HIGGS4J_NCCL_H */
