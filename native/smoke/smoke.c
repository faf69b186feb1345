/*
 * Catches drift between native/include/higgs4j_torch.h and the real libtorch: compiled with gcc against the header,
 * linked to libtorch, it calls a representative subset of the declared entry points and checks the values.
 * Run by core's HeaderSmokeTest (which builds it against the libtorch the tests load). Prints "smoke: OK".
 */
#include <stdio.h>
#include <stdlib.h>
#include "higgs4j_torch.h"

#define CHECK(call) do { if ((call) != 0) { fprintf(stderr, "smoke: %s failed\n", #call); return 1; } } while (0)

int main(void) {
    uint64_t abi = aoti_torch_abi_version();
    unsigned major = (unsigned) (abi >> 56) & 0xff, minor = (unsigned) (abi >> 48) & 0xff;
    if (major < 2 || (major == 2 && minor < 10)) { fprintf(stderr, "smoke: libtorch %u.%u is older than 2.10\n", major, minor); return 1; }

    int64_t sizes[1] = {4}, strides[1] = {1};
    AtenTensorHandle a, b;
    CHECK(aoti_torch_empty_strided(1, sizes, strides, aoti_torch_dtype_float32(), aoti_torch_device_type_cpu(), 0, &a));
    CHECK(aoti_torch_empty_strided(1, sizes, strides, aoti_torch_dtype_float32(), aoti_torch_device_type_cpu(), 0, &b));
    CHECK(aoti_torch_aten_fill__Scalar(a, 1.5));
    CHECK(aoti_torch_aten_fill__Scalar(b, 2.0));

    /* a * b through the dispatcher: arguments are new handles the callee consumes. */
    StableIValue stack[2];
    AtenTensorHandle a2, b2;
    CHECK(aoti_torch_new_tensor_handle(a, &a2));
    CHECK(aoti_torch_new_tensor_handle(b, &b2));
    stack[0] = (StableIValue) (uintptr_t) a2;
    stack[1] = (StableIValue) (uintptr_t) b2;
    CHECK(torch_call_dispatcher("aten::mul", "Tensor", stack, (2ULL << 56) | (10ULL << 48)));
    AtenTensorHandle product = (AtenTensorHandle) (uintptr_t) stack[0];

    /* a - (-1) * product = a + product, through the typed entry. */
    AtenTensorHandle sum;
    CHECK(aoti_torch_aten_subtract_Tensor(a, product, -1.0, &sum));
    float *data;
    CHECK(aoti_torch_get_data_ptr(sum, (void **) &data));
    int64_t numel;
    CHECK(aoti_torch_get_numel(sum, &numel));
    for (int64_t i = 0; i < numel; i++) {
        if (data[i] != 4.5f) { fprintf(stderr, "smoke: element %ld is %f, expected 4.5\n", (long) i, data[i]); return 1; }
    }

    /* The C++ entry points: requires_grad and grad through the TensorImpl*. */
    CHECK(torch_set_requires_grad(a, true));
    void *impl = *(void **) a;
    if (!_ZNK3c1010TensorImpl13requires_gradEv(impl)) { fprintf(stderr, "smoke: requires_grad not set\n"); return 1; }
    bool defined = true;
    CHECK(aoti_torch_is_defined((AtenTensorHandle) _ZNK3c1010TensorImpl4gradEv(impl), &defined));
    if (defined) { fprintf(stderr, "smoke: a fresh leaf has a grad\n"); return 1; }

    CHECK(aoti_torch_delete_tensor_object(sum));
    CHECK(aoti_torch_delete_tensor_object(product));
    CHECK(aoti_torch_delete_tensor_object(a));
    CHECK(aoti_torch_delete_tensor_object(b));
    printf("smoke: OK (libtorch %u.%u, %d threads)\n", major, minor, _ZN2at15get_num_threadsEv());
    return 0;
}
