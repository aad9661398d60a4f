/*
cudnn_gru.cu: the reset-after GRU (Cell::GruResetAfter) through cuDNN's RNN API, the baseline
and cross-check of our persistent kernels (gru.cu). Selected with TG_GRU_IMPL=cudnn or
tg::kernels::cuda::set_gru_impl(GruImpl::Cudnn).

API (cuDNN 9; the "v8" RNN entry points, engine-anchors.md §A.2):
  cudnnSetRNNDescriptor_v8(ALGO_STANDARD, CUDNN_GRU, DOUBLE_BIAS, UNIDIRECTIONAL, LINEAR_INPUT,
                           dtype, dtype, FMA_MATH (no TF32), in, H, proj = H, L, no-dropout,
                           CUDNN_RNN_PADDED_IO_ENABLED)
  data: BATCH_MAJOR_UNPACKED RNN data descriptors = our [B, T, F] tensors as they are, with
        per-sequence lengths (host array in the descriptor, device copy for the calls).
  cudnnRNNForward (TRAINING / INFERENCE), cudnnRNNBackwardData_v8, then
  cudnnRNNBackwardWeights_v8 into a zeroed dweight space with CUDNN_WGRAD_MODE_ADD; the
  gradients are added into ours (our gweights are accumulated).
Weights: cuDNN's GRU gate order is ours (r, z, n = "reset, update, new memory"); linLayerID 0..2
are the W_ih blocks [H, in], 3..5 the W_hh blocks [H, H], bias IDs likewise (b_ih, b_hh).
Pointers come from cudnnGetRNNWeightParams once per plan; weights are copied in per call.

Lengths: cuDNN wants every length >= 1, so length-0 rows run one step with zero output
gradient and are fixed up afterwards (y row zero, hT = h0, dx row zero): the same result as our
kernels and the CPU. dy is masked to zero past each length, dx is masked after the call.
TG_CUDNN_ALGO=small_h selects CUDNN_RNN_ALGO_PERSIST_STATIC_SMALL_H (float only, PyTorch's
choice at H <= 128); cuDNN documents no variable lengths for it, so a batch with lengths shorter
than the sequence runs the standard algorithm (one note on stderr, cudnn_checks.h).

Guards (cudnn_checks.h): every matrix and bias descriptor cudnnGetRNNWeightParams returns is
checked against the dense row-major layout pack_weights / unpack_grads_add assume; a second
backward through one forward (cuDNN's backward writes the reserve space) is refused by the
backend (cuda_backend.cu). cuDNN running out of memory (CUDNN_STATUS_ALLOC_FAILED, or the
allocation codes of cuDNN 9) is retried once after the allocator released its cache.

Reserve layout (elements of T): y [B, T, H] (cuDNN's backward wants y), padding to 256 bytes,
then cuDNN's reserve space (cudnn_gru_reserve_elems, per dtype; the backend keeps it with the
implementation that ran in what the forward saves).

Versions: cuDNN >= 8.9.7 (v8 API) / 9.x, CUDA 12/13, sm_80 / sm_90.
*/
#include <cudnn.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include <cstdio>

#include "common.cuh"
#include "cudnn_checks.h"

namespace tg::kernels::cuda {
namespace {

bool cudnn_out_of_memory(cudnnStatus_t st) {
#if CUDNN_MAJOR >= 9
  return st == CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED ||
         st == CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED;
#else
  return st == CUDNN_STATUS_ALLOC_FAILED;
#endif
}

}  // namespace
}  // namespace tg::kernels::cuda

// Out of memory: the allocator's cache is released and the call made once more.
#define TG_CUDNN_CHECK(call)                                                                      \
  do {                                                                                            \
    cudnnStatus_t tg_st_ = (call);                                                                \
    if (::tg::kernels::cuda::cudnn_out_of_memory(tg_st_)) {                                       \
      ::tg::kernels::cuda::release_cached_memory();                                               \
      tg_st_ = (call);                                                                            \
      if (::tg::kernels::cuda::cudnn_out_of_memory(tg_st_))                                       \
        ::tg::kernels::cuda::throw_library_oom("cuDNN", cudnnGetErrorString(tg_st_));             \
    }                                                                                             \
    if (tg_st_ != CUDNN_STATUS_SUCCESS)                                                           \
      ::tg::kernels::cuda::throw_cuda_error(cudnnGetErrorString(tg_st_), #call, __FILE__, __LINE__); \
  } while (0)

namespace tg::kernels::cuda {
namespace {

cudnnHandle_t handle() {
  static cudnnHandle_t h = [] {
    cudnnHandle_t x = nullptr;
    TG_CUDNN_CHECK(cudnnCreate(&x));
    return x;  // leaked with the backend
  }();
  TG_CUDNN_CHECK(cudnnSetStream(h, ctx().stream));
  return h;
}

bool small_h_requested() {
  const char* e = std::getenv("TG_CUDNN_ALGO");
  return e && std::string(e) == "small_h";
}

struct Plan {
  cudnnDataType_t dt;
  size_t esize;
  int L, B, Tn, in, H;
  cudnnRNNDescriptor_t rnn = nullptr;
  cudnnDropoutDescriptor_t drop = nullptr;
  cudnnRNNDataDescriptor_t xd = nullptr, yd = nullptr;
  cudnnTensorDescriptor_t hd = nullptr;
  size_t ws_bytes = 0;
  Scratch ws, dws;
  // Per layer: 6 matrix and 6 bias (offset in bytes within the weight space, elements).
  struct Param {
    size_t off;
    int64_t n;
  };
  std::vector<Param> mats, biases;  // [L*6]
};

void set_data_descs(Plan& p, const std::vector<int>& lens) {
  double zero_d = 0.0;
  float zero_f = 0.f;
  void* fill = p.dt == CUDNN_DATA_DOUBLE ? static_cast<void*>(&zero_d) : static_cast<void*>(&zero_f);
  TG_CUDNN_CHECK(cudnnSetRNNDataDescriptor(p.xd, p.dt, CUDNN_RNN_DATA_LAYOUT_BATCH_MAJOR_UNPACKED, p.Tn, p.B, p.in,
                                           lens.data(), fill));
  TG_CUDNN_CHECK(cudnnSetRNNDataDescriptor(p.yd, p.dt, CUDNN_RNN_DATA_LAYOUT_BATCH_MAJOR_UNPACKED, p.Tn, p.B, p.H,
                                           lens.data(), fill));
}

// The algorithm of a call: small_h when TG_CUDNN_ALGO asks for it and the call allows it.
bool use_small_h(DType dtype, bool variable_lengths) {
  std::string note;
  const bool v = cudnn_checks::choose_small_h(small_h_requested(), dtype == DType::F32, variable_lengths, &note);
  static std::atomic<bool> told{false};
  if (!note.empty() && !told.exchange(true)) std::fprintf(stderr, "%s\n", note.c_str());
  return v;
}

// The weight or bias descriptor `d` against a dense row-major [rows, cols] block of dtype `dt`.
void check_param_desc(cudnnTensorDescriptor_t d, cudnnDataType_t dt, const char* what, int layer, int id,
                      int64_t rows, int64_t cols) {
  cudnnDataType_t got_dt{};
  int nb = 0, dims[8] = {}, strides[8] = {};
  TG_CUDNN_CHECK(cudnnGetTensorNdDescriptor(d, 8, &got_dt, &nb, dims, strides));
  std::string err = cudnn_checks::check_param_layout(what, nb, dims, strides, rows, cols);
  if (err.empty() && got_dt != dt) err = std::string(what) + " descriptor of another data type";
  if (!err.empty())
    throw std::runtime_error("cuDNN GRU: layer " + std::to_string(layer) + ", parameter " + std::to_string(id) +
                             ": cudnnGetRNNWeightParams returned a " + err +
                             "; this cuDNN's weight layout is not the one cudnn_gru.cu assumes");
}

Plan& plan_for(const RnnSpec& c, DType dtype, bool small_h) {
  static std::mutex mu;
  static std::map<std::tuple<int, int, int, int, int, int, bool>, std::unique_ptr<Plan>> cache;
  const auto key = std::make_tuple(static_cast<int>(dtype), c.layers, c.batch, c.seq, c.input, c.hidden, small_h);
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(key);
  if (it != cache.end()) return *it->second;
  auto p = std::make_unique<Plan>();
  p->dt = dtype == DType::F32 ? CUDNN_DATA_FLOAT : CUDNN_DATA_DOUBLE;
  p->esize = dtype_size(dtype);
  p->L = c.layers;
  p->B = c.batch;
  p->Tn = c.seq;
  p->in = c.input;
  p->H = c.hidden;
  cudnnHandle_t h = handle();
  TG_CUDNN_CHECK(cudnnCreateDropoutDescriptor(&p->drop));
  TG_CUDNN_CHECK(cudnnSetDropoutDescriptor(p->drop, h, 0.f, nullptr, 0, 0));
  TG_CUDNN_CHECK(cudnnCreateRNNDescriptor(&p->rnn));
  const cudnnMathType_t math = [] {
    const char* e = std::getenv("TG_CUDNN_MATH");
    return e && std::string(e) == "default" ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
  }();
  TG_CUDNN_CHECK(cudnnSetRNNDescriptor_v8(p->rnn, small_h ? CUDNN_RNN_ALGO_PERSIST_STATIC_SMALL_H : CUDNN_RNN_ALGO_STANDARD,
                                          CUDNN_GRU, CUDNN_RNN_DOUBLE_BIAS, CUDNN_UNIDIRECTIONAL, CUDNN_LINEAR_INPUT,
                                          p->dt, p->dt, math, c.input, c.hidden, c.hidden, c.layers, p->drop,
                                          CUDNN_RNN_PADDED_IO_ENABLED));
  TG_CUDNN_CHECK(cudnnCreateRNNDataDescriptor(&p->xd));
  TG_CUDNN_CHECK(cudnnCreateRNNDataDescriptor(&p->yd));
  set_data_descs(*p, std::vector<int>(static_cast<size_t>(c.batch), c.seq));
  TG_CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->hd));
  const int dims[3] = {c.layers, c.batch, c.hidden};
  const int strides[3] = {c.batch * c.hidden, c.hidden, 1};
  TG_CUDNN_CHECK(cudnnSetTensorNdDescriptor(p->hd, p->dt, 3, dims, strides));
  TG_CUDNN_CHECK(cudnnGetRNNWeightSpaceSize(h, p->rnn, &p->ws_bytes));
  p->ws = Scratch(p->ws_bytes);
  p->dws = Scratch(p->ws_bytes);
  cudnnTensorDescriptor_t md = nullptr, bd = nullptr;
  TG_CUDNN_CHECK(cudnnCreateTensorDescriptor(&md));
  TG_CUDNN_CHECK(cudnnCreateTensorDescriptor(&bd));
  const char* base = static_cast<const char*>(p->ws.get());
  for (int l = 0; l < c.layers; ++l) {
    const int in = l == 0 ? c.input : c.hidden;
    for (int id = 0; id < 6; ++id) {
      void* ma = nullptr;
      void* ba = nullptr;
      TG_CUDNN_CHECK(cudnnGetRNNWeightParams(h, p->rnn, l, p->ws_bytes, p->ws.get(), id, md, &ma, bd, &ba));
      if (!ma || !ba) throw std::runtime_error("cuDNN GRU: cudnnGetRNNWeightParams returned no matrix/bias");
      const int64_t cols = id < 3 ? in : c.hidden;
      check_param_desc(md, p->dt, "matrix", l, id, c.hidden, cols);
      check_param_desc(bd, p->dt, "bias", l, id, c.hidden, 1);
      const int64_t mn = static_cast<int64_t>(c.hidden) * cols;
      const size_t moff = static_cast<size_t>(static_cast<const char*>(ma) - base),
                   boff = static_cast<size_t>(static_cast<const char*>(ba) - base);
      if (moff % p->esize || boff % p->esize || moff + static_cast<size_t>(mn) * p->esize > p->ws_bytes ||
          boff + static_cast<size_t>(c.hidden) * p->esize > p->ws_bytes)
        throw std::runtime_error("cuDNN GRU: cudnnGetRNNWeightParams returned a parameter outside the weight space");
      p->mats.push_back({static_cast<size_t>(static_cast<const char*>(ma) - base), mn});
      p->biases.push_back({static_cast<size_t>(static_cast<const char*>(ba) - base), c.hidden});
    }
  }
  TG_CUDNN_CHECK(cudnnDestroyTensorDescriptor(md));
  TG_CUDNN_CHECK(cudnnDestroyTensorDescriptor(bd));
  Plan& ref = *p;
  cache.emplace(key, std::move(p));
  return ref;
}

}  // namespace
int64_t cudnn_gru_reserve_elems(const RnnSpec& c, DType dt);
namespace {

size_t y_slot_bytes(const RnnSpec& c, size_t esize) {
  const size_t b = static_cast<size_t>(c.batch) * c.seq * c.hidden * esize;
  return (b + 255) / 256 * 256;
}

template <typename T>
__global__ void add_into_kernel(T* dst, const T* src, int64_t n) {
  GRID_STRIDE(i, n)
    dst[i] += src[i];
}

// out[b, t, :] = (t < len[b]) ? in[b, t, :] : 0   (in may equal out)
template <typename T>
__global__ void mask_time_kernel(const T* in, T* out, const int* len, int B, int Tn, int F) {
  const int64_t n = static_cast<int64_t>(B) * Tn * F;
  GRID_STRIDE(i, n) {
    const int64_t row = i / F;
    const int t = static_cast<int>(row % Tn);
    const int b = static_cast<int>(row / Tn);
    out[i] = t < len[b] ? in[i] : T(0);
  }
}

// Rows with length 0: hT[l, b, :] = h0[l, b, :] (or 0).
template <typename T>
__global__ void fix_zero_len_state_kernel(T* hT, const T* h0, const int* len, int L, int B, int H) {
  const int64_t n = static_cast<int64_t>(L) * B * H;
  GRID_STRIDE(i, n) {
    const int b = static_cast<int>((i / H) % B);
    if (len[b] == 0) hT[i] = h0 ? h0[i] : T(0);
  }
}

struct Lens {
  std::vector<int> clamped;  // >= 1, for cuDNN
  std::vector<int> truth;
  bool any_zero = false, any_short = false;
  Scratch dev_clamped;  // device, clamped
  Scratch dev_true;     // device, true lengths (only when any_short)
};

Lens make_lens(const RnnSpec& c, const int32_t* lengths) {
  Lens L;
  L.clamped.assign(static_cast<size_t>(c.batch), c.seq);
  std::vector<int>& truth = L.truth;
  truth.assign(static_cast<size_t>(c.batch), c.seq);
  if (lengths)
    for (int b = 0; b < c.batch; ++b) {
      truth[static_cast<size_t>(b)] = lengths[b];
      L.clamped[static_cast<size_t>(b)] = std::max(1, lengths[b]);
      L.any_zero = L.any_zero || lengths[b] == 0;
      L.any_short = L.any_short || lengths[b] < c.seq;
    }
  gpu::Stream s = ctx().stream;
  const size_t bytes = static_cast<size_t>(c.batch) * sizeof(int);
  L.dev_clamped = Scratch(bytes);
  TG_CUDA_CHECK(gpu::memcpy_async(L.dev_clamped.get(), L.clamped.data(), bytes, gpu::Copy::HostToDevice, s));
  if (L.any_short) {
    L.dev_true = Scratch(bytes);
    TG_CUDA_CHECK(gpu::memcpy_async(L.dev_true.get(), truth.data(), bytes, gpu::Copy::HostToDevice, s));
  }
  // Pageable host memory: cudaMemcpyAsync returns once the source is staged (no sync needed).
  return L;
}

template <typename T>
void pack_weights(Plan& p, const RnnIo<void>& a) {
  gpu::Stream s = ctx().stream;
  char* ws = static_cast<char*>(p.ws.get());
  for (int l = 0; l < p.L; ++l) {
    const int in = l == 0 ? p.in : p.H;
    const T* wih = static_cast<const T*>(a.weights[static_cast<size_t>(l * 4 + 0)]);
    const T* whh = static_cast<const T*>(a.weights[static_cast<size_t>(l * 4 + 1)]);
    const T* bih = static_cast<const T*>(a.weights[static_cast<size_t>(l * 4 + 2)]);
    const T* bhh = static_cast<const T*>(a.weights[static_cast<size_t>(l * 4 + 3)]);
    for (int id = 0; id < 6; ++id) {
      const auto& m = p.mats[static_cast<size_t>(l * 6 + id)];
      const auto& b = p.biases[static_cast<size_t>(l * 6 + id)];
      const int g = id % 3;
      const T* msrc = id < 3 ? wih + static_cast<int64_t>(g) * p.H * in : whh + static_cast<int64_t>(g) * p.H * p.H;
      const T* bsrc = (id < 3 ? bih : bhh) + static_cast<int64_t>(g) * p.H;
      TG_CUDA_CHECK(gpu::memcpy_async(ws + m.off, msrc, static_cast<size_t>(m.n) * sizeof(T), gpu::Copy::DeviceToDevice, s));
      TG_CUDA_CHECK(gpu::memcpy_async(ws + b.off, bsrc, static_cast<size_t>(b.n) * sizeof(T), gpu::Copy::DeviceToDevice, s));
    }
  }
}

template <typename T>
void unpack_grads_add(Plan& p, const RnnIo<void>& a) {
  gpu::Stream s = ctx().stream;
  const char* dws = static_cast<const char*>(p.dws.get());
  for (int l = 0; l < p.L; ++l) {
    const int in = l == 0 ? p.in : p.H;
    T* gih = static_cast<T*>(a.gweights[static_cast<size_t>(l * 4 + 0)]);
    T* ghh = static_cast<T*>(a.gweights[static_cast<size_t>(l * 4 + 1)]);
    T* gbih = static_cast<T*>(a.gweights[static_cast<size_t>(l * 4 + 2)]);
    T* gbhh = static_cast<T*>(a.gweights[static_cast<size_t>(l * 4 + 3)]);
    for (int id = 0; id < 6; ++id) {
      const auto& m = p.mats[static_cast<size_t>(l * 6 + id)];
      const auto& b = p.biases[static_cast<size_t>(l * 6 + id)];
      const int g = id % 3;
      T* mdst = id < 3 ? gih + static_cast<int64_t>(g) * p.H * in : ghh + static_cast<int64_t>(g) * p.H * p.H;
      T* bdst = (id < 3 ? gbih : gbhh) + static_cast<int64_t>(g) * p.H;
      gpu::launch(add_into_kernel<T>, grid_for(m.n), kThreads, 0, s, mdst, reinterpret_cast<const T*>(dws + m.off), m.n);
      TG_KERNEL_CHECK("add_into_kernel");
      gpu::launch(add_into_kernel<T>, grid_for(b.n), kThreads, 0, s, bdst, reinterpret_cast<const T*>(dws + b.off), b.n);
      TG_KERNEL_CHECK("add_into_kernel");
    }
  }
}

template <typename T>
void forward_impl(const RnnSpec& c, DType dt, const RnnIo<void>& a) {
  // (before the data descriptors get this call's lengths: the size query resets them)
  const bool training = a.reserve != nullptr;
  const size_t have = training ? static_cast<size_t>(cudnn_gru_reserve_elems(c, dt)) * sizeof(T) : 0;
  Lens lens = make_lens(c, a.lengths);
  Plan& p = plan_for(c, dt, use_small_h(dt, lens.any_short));
  cudnnHandle_t h = handle();
  gpu::Stream s = ctx().stream;
  set_data_descs(p, lens.clamped);
  pack_weights<T>(p, a);
  const cudnnForwardMode_t mode = training ? CUDNN_FWD_MODE_TRAINING : CUDNN_FWD_MODE_INFERENCE;
  size_t work_bytes = 0, res_bytes = 0;
  TG_CUDNN_CHECK(cudnnGetRNNTempSpaceSizes(h, p.rnn, mode, p.xd, &work_bytes, &res_bytes));
  Scratch work(work_bytes);
  char* res = nullptr;
  if (training) {
    if (y_slot_bytes(c, sizeof(T)) + res_bytes > have)
      throw std::runtime_error("cuDNN GRU: reserve too small (" + std::to_string(have) + " bytes, cuDNN needs " +
                               std::to_string(res_bytes) + " + y)");
    res = static_cast<char*>(a.reserve) + y_slot_bytes(c, sizeof(T));
  }
  TG_CUDNN_CHECK(cudnnRNNForward(h, p.rnn, mode, lens.dev_clamped.as<int32_t>(), p.xd, a.x, p.yd, a.y, p.hd, a.h0,
                                 a.hT, p.hd, nullptr, nullptr, p.ws_bytes, p.ws.get(), work_bytes, work.get(),
                                 training ? res_bytes : 0, res));
  const int64_t yn = static_cast<int64_t>(c.batch) * c.seq * c.hidden;
  if (lens.any_zero) {
    // length-0 rows ran one step for cuDNN: zero their output, restore their final state
    gpu::launch(mask_time_kernel<T>, grid_for(yn), kThreads, 0, s, static_cast<T*>(a.y), static_cast<T*>(a.y),
                                                          lens.dev_true.as<int>(), c.batch, c.seq, c.hidden);
    TG_KERNEL_CHECK("mask_time_kernel");
    if (a.hT) {
      gpu::launch(fix_zero_len_state_kernel<T>, grid_for(static_cast<int64_t>(c.layers) * c.batch * c.hidden), kThreads, 0, s,
          static_cast<T*>(a.hT), static_cast<const T*>(a.h0), lens.dev_true.as<int>(), c.layers, c.batch, c.hidden);
      TG_KERNEL_CHECK("fix_zero_len_state_kernel");
    }
  }
  if (training)
    TG_CUDA_CHECK(gpu::memcpy_async(a.reserve, a.y, static_cast<size_t>(yn) * sizeof(T), gpu::Copy::DeviceToDevice, s));
}

template <typename T>
void backward_impl(const RnnSpec& c, DType dt, const RnnIo<void>& a) {
  Lens lens = make_lens(c, a.lengths);
  Plan& p = plan_for(c, dt, use_small_h(dt, lens.any_short));  // the forward's algorithm
  cudnnHandle_t h = handle();
  gpu::Stream s = ctx().stream;
  set_data_descs(p, lens.clamped);
  pack_weights<T>(p, a);
  size_t work_bytes = 0, res_bytes = 0;
  TG_CUDNN_CHECK(cudnnGetRNNTempSpaceSizes(h, p.rnn, CUDNN_FWD_MODE_TRAINING, p.xd, &work_bytes, &res_bytes));
  Scratch work(work_bytes);
  const T* y = static_cast<const T*>(a.reserve);
  char* res = static_cast<char*>(a.reserve) + y_slot_bytes(c, sizeof(T));
  const int64_t yn = static_cast<int64_t>(c.batch) * c.seq * c.hidden;
  const int64_t xn = static_cast<int64_t>(c.batch) * c.seq * c.input;
  Scratch dy_masked;
  const void* dy = a.gy;
  if (lens.any_short) {
    dy_masked = Scratch(static_cast<size_t>(yn) * sizeof(T));
    gpu::launch(mask_time_kernel<T>, grid_for(yn), kThreads, 0, s, static_cast<const T*>(a.gy), dy_masked.as<T>(),
                                                          lens.dev_true.as<int>(), c.batch, c.seq, c.hidden);
    TG_KERNEL_CHECK("mask_time_kernel");
    dy = dy_masked.get();
  }
  Scratch dx_tmp;
  void* dx = a.gx;
  if (!dx) {
    dx_tmp = Scratch(static_cast<size_t>(xn) * sizeof(T));
    dx = dx_tmp.get();
  }
  TG_CUDNN_CHECK(cudnnRNNBackwardData_v8(h, p.rnn, lens.dev_clamped.as<int32_t>(), p.yd, y, dy, p.xd, dx, p.hd, a.h0,
                                         nullptr, a.gh0, p.hd, nullptr, nullptr, nullptr, p.ws_bytes, p.ws.get(),
                                         work_bytes, work.get(), res_bytes, res));
  if (lens.any_short && a.gx) {
    gpu::launch(mask_time_kernel<T>, grid_for(xn), kThreads, 0, s, static_cast<const T*>(a.gx), static_cast<T*>(a.gx),
                                                          lens.dev_true.as<int>(), c.batch, c.seq, c.input);
    TG_KERNEL_CHECK("mask_time_kernel");
  }
  if (a.gweights == nullptr) return;  // frozen weights: no weight gradients (rnn_io.h)
  TG_CUDA_CHECK(gpu::memset_async(p.dws.get(), 0, p.ws_bytes, s));
  TG_CUDNN_CHECK(cudnnRNNBackwardWeights_v8(h, p.rnn, CUDNN_WGRAD_MODE_ADD, lens.dev_clamped.as<int32_t>(), p.xd,
                                            a.x, p.hd, a.h0, p.yd, y, p.ws_bytes, p.dws.get(), work_bytes,
                                            work.get(), res_bytes, res));
  unpack_grads_add<T>(p, a);
}

}  // namespace

int64_t cudnn_gru_reserve_elems(const RnnSpec& c, DType dt) {
  // the larger of the two algorithms' reserves when small_h is asked for: the lengths, which
  // decide between them (use_small_h), are not known yet
  size_t res_bytes = 0;
  for (const bool small_h : {false, use_small_h(dt, false)}) {
    Plan& p = plan_for(c, dt, small_h);
    set_data_descs(p, std::vector<int>(static_cast<size_t>(c.batch), c.seq));
    size_t work_bytes = 0, res = 0;
    TG_CUDNN_CHECK(cudnnGetRNNTempSpaceSizes(handle(), p.rnn, CUDNN_FWD_MODE_TRAINING, p.xd, &work_bytes, &res));
    res_bytes = std::max(res_bytes, res);
  }
  const size_t es = dtype_size(dt);
  return static_cast<int64_t>((y_slot_bytes(c, es) + res_bytes + es - 1) / es);
}

void cudnn_gru_forward(const RnnSpec& c, DType dt, const RnnIo<void>& a) {
  if (c.cell != Cell::GruResetAfter) throw std::invalid_argument("cuDNN GRU: only Cell::GruResetAfter");
  if (dt == DType::F32)
    forward_impl<float>(c, dt, a);
  else
    forward_impl<double>(c, dt, a);
}

void cudnn_gru_backward(const RnnSpec& c, DType dt, const RnnIo<void>& a) {
  if (dt == DType::F32)
    backward_impl<float>(c, dt, a);
  else
    backward_impl<double>(c, dt, a);
}

}  // namespace tg::kernels::cuda
