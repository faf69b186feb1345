/*
 * Checks native/include/higgs4j_nccl.h without NCCL or CUDA: it must compile as C11, its unique id must be 128 bytes,
 * and its enum values are printed so that core's NcclHeaderTest can compare them with the codes NcclCommunicator
 * uses. Needs no library to link: it uses only types and enum constants.
 */
#include <stdio.h>
#include "higgs4j_nccl.h"

_Static_assert(sizeof(ncclUniqueId) == 128, "ncclUniqueId is 128 bytes");
_Static_assert(sizeof(ncclResult_t) == sizeof(int), "enums are passed as int");
_Static_assert(sizeof(ncclDataType_t) == sizeof(int), "enums are passed as int");
_Static_assert(sizeof(ncclRedOp_t) == sizeof(int), "enums are passed as int");

int main(void) {
    printf("ncclInt8=%d ncclUint8=%d ncclInt32=%d ncclInt64=%d ncclFloat16=%d ncclFloat32=%d ncclFloat64=%d"
           " ncclBfloat16=%d\n", ncclInt8, ncclUint8, ncclInt32, ncclInt64, ncclFloat16, ncclFloat32, ncclFloat64,
           ncclBfloat16);
    printf("ncclSum=%d ncclProd=%d ncclMax=%d ncclMin=%d ncclAvg=%d\n", ncclSum, ncclProd, ncclMax, ncclMin, ncclAvg);
    printf("ncclSuccess=%d ncclUnhandledCudaError=%d ncclSystemError=%d ncclInternalError=%d ncclInvalidArgument=%d"
           " ncclInvalidUsage=%d ncclRemoteError=%d ncclInProgress=%d ncclTimeout=%d\n", ncclSuccess,
           ncclUnhandledCudaError, ncclSystemError, ncclInternalError, ncclInvalidArgument, ncclInvalidUsage,
           ncclRemoteError, ncclInProgress, ncclTimeout);
    return 0;
}
