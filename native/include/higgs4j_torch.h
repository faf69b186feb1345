/*
 * The boundary between higgs4j and libtorch: exactly the entry points that higgs4j calls.
 *
 * Almost everything is libtorch's stable C ABI (torch/csrc/inductor/aoti_torch/c/shim.h and
 * torch/csrc/stable/c/shim.h in the pytorch repository), present since libtorch 2.10 and kept binary
 * compatible by PyTorch across releases. The declarations below are written in plain C so that jextract
 * and gcc can read them without libtorch's headers.
 *
 * A few facilities have no C entry in 2.10. For those we call exported C++ functions under their mangled
 * names (the section "C++ entry points" at the end); each says what it is and why no C entry serves.
 * The loader checks at start-up that every one of them is present.
 *
 * Conventions of the C ABI: every function returning AOTITorchError returns 0 on success; results come back
 * through out-pointers. Handles returned through out-pointers are new references owned by the caller.
 */
#ifndef HIGGS4J_TORCH_H
#define HIGGS4J_TORCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef int32_t AOTITorchError;

/* A pointer to a heap-allocated at::Tensor. Its first word is the c10::TensorImpl*. */
struct AtenTensorOpaque;
typedef struct AtenTensorOpaque* AtenTensorHandle;

/* One argument or result slot of torch_call_dispatcher (docs/NATIVE.md gives the encoding). */
typedef uint64_t StableIValue;

struct StableListOpaque;
typedef struct StableListOpaque* StableListHandle;

struct StringOpaque;
typedef struct StringOpaque* StringHandle;

/* ---- Constants of the runtime (dtype, device, layout and memory-format codes) ---- */

int32_t aoti_torch_device_type_cpu(void);
int32_t aoti_torch_device_type_cuda(void);
int32_t aoti_torch_device_type_meta(void);

int32_t aoti_torch_dtype_bfloat16(void);
int32_t aoti_torch_dtype_float16(void);
int32_t aoti_torch_dtype_float32(void);
int32_t aoti_torch_dtype_float64(void);
int32_t aoti_torch_dtype_uint8(void);
int32_t aoti_torch_dtype_int8(void);
int32_t aoti_torch_dtype_int16(void);
int32_t aoti_torch_dtype_int32(void);
int32_t aoti_torch_dtype_int64(void);
int32_t aoti_torch_dtype_bool(void);
/* complex64 (two float32s): the result of stft in the Whisper feature extractor. */
int32_t aoti_torch_dtype_complex64(void);
size_t aoti_torch_dtype_element_size(int32_t dtype);

int32_t aoti_torch_layout_strided(void);
int32_t aoti_torch_memory_format_contiguous_format(void);
int32_t aoti_torch_memory_format_preserve_format(void);

/* TORCH_ABI_VERSION of the loaded libtorch: major << 56 | minor << 48 | patch << 40 | ... */
uint64_t aoti_torch_abi_version(void);

/* ---- Tensor objects ---- */

AOTITorchError aoti_torch_delete_tensor_object(AtenTensorHandle tensor);
AOTITorchError aoti_torch_new_tensor_handle(AtenTensorHandle orig_handle, AtenTensorHandle* new_handle);
AOTITorchError aoti_torch_new_uninitialized_tensor(AtenTensorHandle* ret);
AOTITorchError aoti_torch_assign_tensors(AtenTensorHandle src, AtenTensorHandle dst);
AOTITorchError aoti_torch_is_defined(AtenTensorHandle tensor, bool* ret_is_defined);

AOTITorchError aoti_torch_empty_strided(int64_t ndim, const int64_t* sizes_ptr, const int64_t* strides_ptr,
                                        int32_t dtype, int32_t device_type, int32_t device_index,
                                        AtenTensorHandle* ret_new_tensor);
/* The tensor views caller-owned memory; nothing is copied and libtorch never frees it. */
AOTITorchError aoti_torch_create_tensor_from_blob(void* data, int64_t ndim, const int64_t* sizes_ptr,
                                                  const int64_t* strides_ptr, int64_t storage_offset,
                                                  int32_t dtype, int32_t device_type, int32_t device_index,
                                                  AtenTensorHandle* ret);

/* ---- Metadata ---- */

AOTITorchError aoti_torch_get_data_ptr(AtenTensorHandle tensor, void** ret_data_ptr);
AOTITorchError aoti_torch_get_dim(AtenTensorHandle tensor, int64_t* ret_dim);
AOTITorchError aoti_torch_get_numel(AtenTensorHandle tensor, int64_t* ret_numel);
AOTITorchError aoti_torch_get_sizes(AtenTensorHandle tensor, int64_t** ret_sizes);
AOTITorchError aoti_torch_get_strides(AtenTensorHandle tensor, int64_t** ret_strides);
AOTITorchError aoti_torch_get_storage_offset(AtenTensorHandle tensor, int64_t* ret_storage_offset);
AOTITorchError aoti_torch_get_dtype(AtenTensorHandle tensor, int32_t* ret_dtype);
AOTITorchError aoti_torch_get_device_type(AtenTensorHandle tensor, int32_t* ret_device_type);
AOTITorchError aoti_torch_get_device_index(AtenTensorHandle tensor, int32_t* ret_device_index);
AOTITorchError aoti_torch_is_contiguous(AtenTensorHandle tensor, bool* ret_is_contiguous);

/* ---- Scalars in and out ---- */

AOTITorchError aoti_torch_item_float32(AtenTensorHandle tensor, float* ret_value);
AOTITorchError aoti_torch_item_float64(AtenTensorHandle tensor, double* ret_value);
AOTITorchError aoti_torch_item_int64(AtenTensorHandle tensor, int64_t* ret_value);
AOTITorchError aoti_torch_item_bool(AtenTensorHandle tensor, bool* ret_value);
AOTITorchError aoti_torch_scalar_to_tensor_float32(float value, AtenTensorHandle* ret_new_tensor);
AOTITorchError aoti_torch_scalar_to_tensor_float64(double value, AtenTensorHandle* ret_new_tensor);
AOTITorchError aoti_torch_scalar_to_tensor_int64(int64_t value, AtenTensorHandle* ret_new_tensor);
AOTITorchError aoti_torch_scalar_to_tensor_bool(bool value, AtenTensorHandle* ret_new_tensor);

/* ---- Autograd mode ---- */

bool aoti_torch_grad_mode_is_enabled(void);
void aoti_torch_grad_mode_set_enabled(bool enabled);
AOTITorchError torch_set_requires_grad(AtenTensorHandle tensor, bool requires_grad);

/* ---- Typed ATen entries that take a Scalar as a double ----
 * The dispatcher path cannot carry a Scalar argument in 2.10, so these typed entries stand in for the ops that
 * need one. They go through the dispatcher themselves, so autograd records them. */

/* self - alpha * other */
AOTITorchError aoti_torch_aten_subtract_Tensor(AtenTensorHandle self, AtenTensorHandle other, double alpha,
                                               AtenTensorHandle* ret0);
AOTITorchError aoti_torch_aten_fill__Scalar(AtenTensorHandle self, double value);
/* Optional arguments are pointers, NULL when absent. */
AOTITorchError aoti_torch_aten_full(const int64_t* size, int64_t size_len_, double fill_value,
                                    int32_t* dtype, int32_t* layout, int32_t* device, int32_t device_index_,
                                    int32_t* pin_memory, AtenTensorHandle* ret0);

/* ---- The generic dispatcher call ----
 * Arguments in stack[0..n) in schema order, every argument present; results come back in stack[0..r).
 * extension_build_version is the libtorch version the caller was written against: (2 << 56) | (10 << 48). */
AOTITorchError torch_call_dispatcher(const char* opName, const char* overloadName, StableIValue* stack,
                                     uint64_t extension_build_version);

/* ---- Lists (int[] and Tensor[] arguments and results) and strings ---- */

AOTITorchError torch_new_list_reserve_size(size_t size, StableListHandle* ret);
AOTITorchError torch_list_size(StableListHandle list_handle, size_t* size);
AOTITorchError torch_list_get_item(StableListHandle list_handle, size_t index, StableIValue* element);
AOTITorchError torch_list_push_back(StableListHandle list_handle, StableIValue element);
AOTITorchError torch_delete_list(StableListHandle list_handle);
AOTITorchError torch_new_string_handle(const char* data, size_t length, StringHandle* handle);
AOTITorchError torch_delete_string(StringHandle handle);

/* ---- Threads ---- */

AOTITorchError torch_get_num_threads(uint32_t* out_num_threads);

/* ---- Devices and streams (multi-GPU: NCCL's collectives must run on libtorch's current stream) ---- */

struct DeviceGuardOpaque;
typedef struct DeviceGuardOpaque* DeviceGuardHandle;

/* Makes device_index the current device of the accelerator until the guard is deleted, which restores the
 * previous one. Fails when no accelerator (CUDA) is available. */
AOTITorchError aoti_torch_create_device_guard(int32_t device_index, DeviceGuardHandle* ret_guard);
AOTITorchError aoti_torch_delete_device_guard(DeviceGuardHandle guard);

/* The cudaStream_t of libtorch's current CUDA stream on device_index: the stream its kernels are queued on.
 * Exported by libtorch_cuda only, so it resolves only when a CUDA libtorch is loaded. (libtorch_cpu's
 * aoti_torch_get_current_stream answers a heap-allocated c10::Stream handle instead, not a cudaStream_t.) */
AOTITorchError aoti_torch_get_current_cuda_stream(int32_t device_index, void** ret_stream);

/* ==== C++ entry points ====
 * Each is an exported function of libc10 or libtorch_cpu, called under its Itanium-mangled name with the
 * object as the first argument. They are kept to this list and checked at load time. */

/* const at::Tensor& c10::TensorImpl::grad() const: no C entry reads a tensor's .grad in 2.10.
 * Called with the TensorImpl* (first word of an AtenTensorHandle); returns a borrowed at::Tensor*. */
void* _ZNK3c1010TensorImpl4gradEv(void* tensor_impl);

/* at::Tensor& c10::TensorImpl::mutable_grad(): no C entry resets .grad to None in 2.10.
 * Returns a borrowed at::Tensor* that aoti_torch_assign_tensors can overwrite. */
void* _ZN3c1010TensorImpl12mutable_gradEv(void* tensor_impl);

/* bool c10::TensorImpl::requires_grad() const: no C entry reads the requires_grad flag in 2.10. */
bool _ZNK3c1010TensorImpl13requires_gradEv(void* tensor_impl);

/* const at::Generator& at::detail::getDefaultCPUGenerator(): no C entry seeds the RNG in 2.10.
 * Returns a borrowed at::Generator*, whose first word is the GeneratorImpl*. */
void* _ZN2at6detail22getDefaultCPUGeneratorEv(void);

/* void at::CPUGeneratorImpl::set_current_seed(uint64_t): the seeding itself, called on the GeneratorImpl*. */
void _ZN2at16CPUGeneratorImpl16set_current_seedEm(void* generator_impl, uint64_t seed);

/* void at::set_num_threads(int) and int at::get_num_threads(): intra-op thread control has no C setter. */
void _ZN2at15set_num_threadsEi(int32_t num_threads);
int32_t _ZN2at15get_num_threadsEv(void);

/* bool torch::cuda::is_available(), size_t torch::cuda::device_count(), void torch::cuda::manual_seed_all(uint64_t),
 * void torch::cuda::synchronize(int64_t): CUDA queries and seeding; in libtorch_cpu, answered by libtorch_cuda's
 * hooks when that library is loaded. The C ABI has no device query. */
bool _ZN5torch4cuda12is_availableEv(void);
size_t _ZN5torch4cuda12device_countEv(void);
void _ZN5torch4cuda15manual_seed_allEm(uint64_t seed);
void _ZN5torch4cuda11synchronizeEl(int64_t device_index);

#ifdef __cplusplus
}
#endif

#endif /* HIGGS4J_TORCH_H */
