/* What the validator firmware needs from the model: a fixed interface over the generated
 * package's NAME_* API, implemented by the model_binding.c that `tinydeploy validate` writes
 * next to the package. */
#ifndef TINYDEPLOY_VALIDATOR_MODEL_H_
#define TINYDEPLOY_VALIDATOR_MODEL_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Called after each operator with each of its outputs (`output` counts from 0). */
typedef void (*td_model_layer_hook)(void* context, uint32_t layer, uint32_t output,
                                    const void* data, size_t bytes);

int td_model_init(void);
/* Runs one inference; `hook` may be NULL. Returns 0 on success. */
int td_model_invoke(td_model_layer_hook hook, void* context);
size_t td_model_input_count(void);
size_t td_model_output_count(void);
size_t td_model_layer_count(void);
/* Data and size of input / output `index`, or NULL past the count. */
void* td_model_input(size_t index, size_t* bytes);
const void* td_model_output(size_t index, size_t* bytes);
/* The SHA-256 of the .tflite file, as 64 lowercase hex digits. */
const char* td_model_sha256(void);

/* Profiling marks, 2 + layer count bytes: a profiled invoke stores to [0] when the inference
 * begins, to [1] when it ends and to [2 + L] when layer L has finished. Only the address of
 * each store matters: QEMU's plugin (tools/qemu-plugin) watches stores to this array. */
extern volatile uint8_t td_model_profile_marks[];

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TINYDEPLOY_VALIDATOR_MODEL_H_ */
