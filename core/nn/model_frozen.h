/* core/nn/model_frozen.h - the trainer's model calls beyond the SDK
 * (library internal): models that are only run forward, batches assembled
 * in a model's own input buffer, borrowed parameters, and a backward that
 * replaces the gradients instead of adding to them.
 *
 * A trainer holds many individuals that are never trained: the
 * neighbours' copies, and the local ones while selection trains the
 * selected copies. Their gradient buffer (4 bytes per parameter: 1.1 MB
 * for the quick start's MLP generator) is dead weight.
 */
#ifndef LPZ_NN_MODEL_FROZEN_H
#define LPZ_NN_MODEL_FROZEN_H

#include <lpz/nn.h>

/* After a loss found NaN or infinity in a network's output: the first
 * layer of the model's last forward pass whose output holds a non-finite
 * value, described in out ("layer 3 \"log\" (custom) gave NaN from finite
 * inputs and parameters", or that its parameters or the input hold one).
 * 0 when the last forward's values are all finite or are gone (no forward
 * yet, or a model sharing its batch memory ran since). */
int lpz_model_explain_nonfinite(const lpz_model *m, char *out, size_t size);

/* The model's own generator: dropout masks (dropout layers, an LSTM's
 * between its layers) draw from it in training mode, advancing it by one
 * draw per masked value. Seeded by lpz_model_create; copies of members
 * leave it where it is (it belongs to the model, not to the parameters).
 * A cell's checkpoint saves it, so that a resumed run draws the masks the
 * run left uninterrupted draws; tests save and restore it to repeat a mask. */
lpz_rng *lpz_model_rng(lpz_model *m);

/* 1 when the model's training-mode forward draws from that generator: a
 * dropout layer with p > 0, or an LSTM of several layers with dropout
 * between them. (A custom layer gets a generator only to initialise its
 * parameters.) */
int lpz_model_draws_random(const lpz_model *m);

/* Frees the gradient buffer: forward, backward_input, copies and clones
 * work as before; lpz_model_grads returns NULL, lpz_model_zero_grad does
 * nothing and lpz_model_backward fails with LPZ_ESTATE. */
void lpz_model_drop_grads(lpz_model *m);

/* lpz_model_zero_grad then lpz_model_backward in one sweep: the
 * parameter gradients of this pass replace the gradient buffer's contents
 * (the weights of linear layers with at least 8 outputs store their
 * products instead of the buffer being cleared and added to: one write
 * instead of a clear, a read and a write; the rest clear their slice). */
int lpz_model_backward_fresh(lpz_model *m, const float *dy, float *dx, lpz_error *err);

/* The model's matrix products run in fp32 whatever the process's matmul
 * precision (nn/precision.h): for yardsticks such as the FID classifier,
 * whose features must not move with the precision the GANs train at
 * (and whose cached weights and statistics serve runs at every setting). */
void lpz_model_pin_fp32(lpz_model *m);

/* The model's own copy of its next input, with room for n samples
 * (reserved now if needed): a caller that assembles a batch there and
 * passes this pointer to lpz_model_forward saves a copy of the batch and
 * a buffer of its own. Valid until the next reserve; with a shared arena,
 * until another sharing model's forward, except that the models sharing
 * an arena have the same input buffer (its start), and a forward pass
 * whose input is that buffer reads it in place and leaves it as it was:
 * several models can run on one batch assembled there. NULL on error. */
float *lpz_model_input_buffer(lpz_model *m, int64_t n, lpz_error *err);

/* Refuses (LPZ_EFORMAT) to grow the model beyond max_values parameters
 * and buffers together (0: no limit but the engine's): for a model built
 * from a file's metadata, which must not ask for more memory than the
 * file's tensors fill (a few bytes of metadata could otherwise ask for
 * gigabytes before the tensors are compared). Set before adding layers. */
void lpz_model_limit_values(lpz_model *m, int64_t max_values);

/* Points the model's parameters at n_params floats it does not own (and
 * will not free), e.g. a published population's copy, instead of keeping
 * its own (freed at the first call). For models that are only run
 * (forward, backward_input) and copied from: lpz_model_copy_from into it
 * fails with LPZ_ESTATE; nothing may write the parameters (no Adam step,
 * no lpz_model_set_vector). The memory must outlive the model's use. */
void lpz_model_borrow_params(lpz_model *m, float *params);

/* Copies n_params floats into the model's parameters; LPZ_ESTATE (nothing
 * written) when it borrows them: the one check of that rule, for every
 * library writer (lpz_model_copy_from, members decoding the wire). */
int lpz_model_write_params(lpz_model *m, const float *src, lpz_error *err);

/* Gives the `count` models (all with gradients) ONE gradient buffer of
 * the largest parameter count instead of one each: for models of one
 * thread that are trained in turn, each step zeroing the gradients,
 * running backward and taking its optimiser step before another model's
 * backward (a cell's trained generator and discriminator). A backward of
 * one model overwrites the others' gradients. Freed with the last model.
 * Not thread-safe. */
int lpz_model_share_grads(lpz_model **models, int count, lpz_error *err);

/* Lays the batch memory (input copy, activations, gradient ping-pong,
 * work space) of all `count` models out in ONE arena sized for max_batch
 * samples, instead of one arena each: for models of one thread whose
 * passes never overlap, e.g. a cell's generators (its own, its selected
 * copies, its neighbours'), where each forward's output is consumed
 * before the next model's forward. A forward of one model overwrites the
 * others' activations and output: a backward of a model after another
 * one's forward fails with LPZ_ESTATE, an output pointer read after
 * another model's forward is stale. A forward of more than max_batch
 * samples gives that model its own arena again. Freed with the last
 * model. Not thread-safe: the models belong to one thread. */
int lpz_model_share_scratch(lpz_model **models, int count, int64_t max_batch, lpz_error *err);

/* The layers as lines of text, one per layer after a header
 * ("input 64 -> output 784, 283,920 parameters"), in the style of PyTorch's
 * module listing: "  0 Linear(64 -> 256)", "  1 LeakyReLU(0.2)", ... For
 * general.logging.print_discriminator. Returns the length written
 * (truncated to size - 1). */
size_t lpz_model_describe(const lpz_model *m, char *out, size_t size);
int lpz_model_layer_count(const lpz_model *m); /* lines of lpz_model_describe after its header */

#endif
