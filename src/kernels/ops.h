// kernels/ops.h — the op API the model calls. Kernels never know the model graph.
// Purpose: matmul against any weight dtype, RMSNorm, RoPE, softmax, SwiGLU, attention over an f16
// or q8_0/q4_0 KV cache. Non-goals: graph building, memory planning. Layout: row-major, innermost last.
// Numerics: matmul converts activations to the weight's vec_dot_type (8-bit blocks for quantised
// weights, f16 for f16) exactly as llama.cpp does, so greedy outputs match the peer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/thread_pool.h"
#include "tensor/dtype.h"

namespace nuri::kernels {

// A weight matrix [n_out, n_in] (n_out rows of n_in elements) in its file dtype.
struct WeightView {
  DType dtype = DType::kF32;
  const uint8_t* data = nullptr;
  int64_t n_out = 0, n_in = 0;
  size_t row_bytes = 0;
  bool empty() const { return data == nullptr; }
  const uint8_t* row(int64_t r) const { return data + r * row_bytes; }
};

// Bytes of scratch matmul needs for T rows of n_in activations of weight dtype w.
size_t matmul_scratch_bytes(DType w, int64_t n_in, int64_t T);

// y[T, n_out] = x[T, n_in] · Wᵀ. `scratch` holds matmul_scratch_bytes(...). pool may be null.
void matmul(const WeightView& w, const float* x, int64_t T, float* y, uint8_t* scratch, ThreadPool* pool);
// Oracle: dequantise each row of W to f32 and take a plain f32 dot (no activation rounding).
void matmul_f32_ref(const WeightView& w, const float* x, int64_t T, float* y);

// y[n] = x[n] / sqrt(mean(x²) + eps) * w[n]   (w may be null: no scale)
void rmsnorm(const float* x, const float* w, float* y, int64_t n, float eps);

enum class RopeStyle { kNormal, kNeox };  // normal: pairs (2i, 2i+1); neox: pairs (i, i + n_rot/2)

// The parameters of the RoPE angles, RoPE scaling included, as llama.cpp's ggml_rope_ext takes
// them (model::rope_params builds them from a model's config and the context length). For pair i
// (dims 2i, 2i+1 of the first n_rot) at position p:
//   theta_extrap = p * freq_base^(-2i/n_rot) / freq_factors[i]     (float recurrence over i)
//   theta_interp = freq_scale * theta_extrap
//   ext_factor == 0: theta = theta_interp, mscale = attn_factor
//   ext_factor != 0 (YaRN): ramp = (1 - clamp((i - corr_dims[0]) / max(0.001, corr_dims[1] - corr_dims[0]), 0, 1))
//     * ext_factor; theta = theta_interp * (1 - ramp) + theta_extrap * ramp;
//     mscale = attn_factor * (1 + 0.1 ln(1 / freq_scale))
//   cs[2i] = cos(theta) * mscale, cs[2i + 1] = sin(theta) * mscale.
// Unscaled RoPE is the default: freq_scale 1, ext_factor 0, attn_factor 1, no freq_factors.
struct RopeParams {
  int n_rot = 0;                        // rotated dims per head (even)
  float freq_base = 10000.f;            // rope_theta
  float freq_scale = 1.f;               // 1 / scaling factor (linear, YaRN)
  float ext_factor = 0.f;               // YaRN extrapolation mix (0: off)
  float attn_factor = 1.f;              // multiplies cos and sin
  float corr_dims[2] = {0.f, 0.f};      // YaRN ramp: first and last corrected pair
  const float* freq_factors = nullptr;  // [n_rot / 2] divisors of each frequency (Llama 3 rope_freqs,
                                        // LongRoPE factors) or null; owned by the model
};
// YaRN's correction range (ggml_rope_yarn_corr_dims): the pairs whose wavelength spans
// n_ctx_orig / beta_fast .. n_ctx_orig / beta_slow rotations, floored/ceiled, clamped to [0, n_rot - 1].
void rope_corr_dims(int n_rot, int32_t n_ctx_orig, float freq_base, float beta_fast, float beta_slow, float dims[2]);
// cs[n_rot]: cos, sin of every pair at position pos (the formula above). The one scalar
// implementation: every backend's rope_table and the reference rope use it.
void rope_table(const RopeParams& rp, int32_t pos, float* cs);
// Rotates the first n_rot dims of each head of x[n_head, head_dim] by the table cs (rope_table).
void rope_rotate(float* x, int n_head, int head_dim, int n_rot, const float* cs, RopeStyle style);
// rope_table + rope_rotate at position pos.
void rope(float* x, int n_head, int head_dim, const RopeParams& rp, int32_t pos, RopeStyle style);
// Unscaled RoPE (RopeParams{n_rot, freq_base}).
void rope(float* x, int n_head, int head_dim, int n_rot, int32_t pos, float freq_base, RopeStyle style);

void softmax(float* x, int64_t n);
// h[n] = silu(g[n]) * u[n]
void swiglu(const float* g, const float* u, float* h, int64_t n);

constexpr int kMaxHeadDim = 1024;

// Element type of cached K or V rows (llama.cpp's --cache-type-k/-v names: f16, q8_0, q4_0).
// Quantised rows are ggml blocks of 32 along the row: q8_0 {f16 d; int8 q[32]} (34 bytes),
// q4_0 {f16 d; uint8 q[16]: element i in the low nibble of q[i], i + 16 in the high} (18 bytes);
// they need head_dim % 32 == 0 so that every head starts a block.
enum class KvType : uint8_t { kF16, kQ8_0, kQ4_0 };
const char* kv_type_name(KvType t);           // "f16", "q8_0", "q4_0"
bool parse_kv_type(const char* s, KvType* out);
size_t kv_row_bytes(KvType t, int64_t n);      // one row of n elements
// dst (kv_row_bytes(t, n)) = x[n] in type t: f16 rounding, or llama.cpp's reference quantisation.
void kv_store_row(KvType t, const float* x, void* dst, int64_t n);

// K/V rows of one sequence in one layer, stored in fixed-size blocks (a paged KV cache):
// position p is row p % block_size of block blocks[p / block_size]; a block is block_size rows of
// f16 [n_head_kv * head_dim] starting at k + blocks[b] * block_stride (v likewise). A contiguous
// cache is the special case of one block (block 0, block_size >= every position).
// Quantised K or V (k_type / v_type not f16): k and v point at bytes, rows are k_row_bytes /
// v_row_bytes and blocks k_block_bytes / v_block_bytes apart; block_stride is unused.
struct KvBlocks {
  const uint16_t* k = nullptr;      // f16 pool base of this layer's keys
  const uint16_t* v = nullptr;      // f16 pool base of this layer's values
  const int32_t* blocks = nullptr;  // block ids in position order
  int64_t block_size = 0;           // positions per block
  int64_t block_stride = 0;         // elements from one block to the next in the pool
  KvType k_type = KvType::kF16, v_type = KvType::kF16;
  int64_t k_row_bytes = 0, v_row_bytes = 0;
  int64_t k_block_bytes = 0, v_block_bytes = 0;
  bool f16() const { return k_type == KvType::kF16 && v_type == KvType::kF16; }
};
inline constexpr int32_t kFirstBlock[1] = {0};
// k, v: f16 [n, kv_dim] contiguous, as one block.
inline KvBlocks contiguous_kv(const uint16_t* k, const uint16_t* v, int64_t n) {
  return {k, v, kFirstBlock, n > 0 ? n : 1, 0};
}

// Attention of one query token over the n_kv cached positions first .. first + n_kv - 1 (the
// caller bounds them causally). q: [n_head, head_dim]; kv: f16 rows [n_head_kv * head_dim];
// out: [n_head, head_dim]; scores: scratch [n_kv]. GQA: head h reads kv head h / (n_head / n_head_kv).
// attention: online softmax with llama.cpp's CPU flash-attention rounding (f16 query, f16 V
// accumulator), so greedy outputs match the peer; positions are visited in order, so the blocks
// of a paged cache give exactly the contiguous result. attention_ref: exact softmax in f32/f64.
void attention_ref(const float* q, const KvBlocks& kv, int64_t first, int64_t n_kv, int n_head, int n_head_kv,
                   int head_dim, float scale, float* out, float* scores);
// From this many cached positions on, the AVX-512 target attends in tiles of 16 keys with f32
// scores and GQA heads together (exact softmax up to f32 rounding, as attention_ref); below it,
// every target keeps the per-key llama.cpp rounding above.
inline constexpr int64_t kTiledMinKv = 1024;
// The same for heads [h0, h1) only (threads split heads; the scalar target of kernels/cpu).
// Quantised K/V (kv.f16() false) go to attention_heads_quant.
void attention_heads(const float* q, const KvBlocks& kv, int64_t first, int64_t n_kv, int n_head, int n_head_kv,
                     int head_dim, float scale, float* out, int h0, int h1);
// Attention reading quantised K and/or V in place, with llama.cpp's CPU flash-attention numerics
// for them: a q8_0/q4_0 K row is dotted with the query quantised to q8_0 (its vec_dot); f16 K with
// the f16 query; a quantised V row is dequantised and accumulated in f32 (f16 V: f16 accumulator).
// No dequantised copy of the cache: one row at a time. The scalar reference of kernels/cpu.
void attention_heads_quant(const float* q, const KvBlocks& kv, int64_t first, int64_t n_kv, int n_head, int n_head_kv,
                           int head_dim, float scale, float* out, int h0, int h1);
// Contiguous k, v: f16 [n_kv, n_head_kv * head_dim].
void attention_ref(const float* q, const uint16_t* k, const uint16_t* v, int64_t n_kv, int n_head, int n_head_kv,
                   int head_dim, float scale, float* out, float* scores);
void attention(const float* q, const uint16_t* k, const uint16_t* v, int64_t n_kv, int n_head, int n_head_kv,
               int head_dim, float scale, float* out, float* scores);
void attention_heads(const float* q, const uint16_t* k, const uint16_t* v, int64_t n_kv, int n_head, int n_head_kv,
                     int head_dim, float scale, float* out, int h0, int h1);

}  // namespace nuri::kernels
