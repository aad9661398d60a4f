// The backend interface: every op of the engine goes through one of these.
//
// A backend owns the memory of its device and implements a small set of primitive kernels
// (elementwise, broadcast, reductions, GEMM, strided copies, losses, Adam, random fills) plus
// fused ops with their own forward and backward: the recurrent stacks. The differentiable ops
// in ops.h only compute shapes, allocate outputs and call these; the CUDA backend (its own
// issue) implements the same interface, so models never see which device they run on.
//
// Conventions: output tensors are allocated by the caller with the right shape, dtype and
// device; `accumulate` = add into the output instead of overwriting it. All tensors of one
// call share dtype and device (checked by the ops layer).
#pragma once

#include <cstdint>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "tg/random.h"
#include "tg/rnn_spec.h"
#include "tg/tensor.h"

namespace tg {

// The elementwise ops, one entry each: X(Enum, function). Generated from these tables: the enums
// and their lists below, the names (unary_name, binary_name), the autograd functions of
// tg/ops.h (neg(x), add(a, b), ...) and the conformance rows of the tests; each op's value and
// derivative are written once, for every backend, in tg/kernels/elementwise.h. A new op is its
// entry here and its definition there.
#define TG_UNARY_OPS(X) \
  X(Neg, neg) X(Sigmoid, sigmoid) X(Tanh, tanh) X(Sqrt, sqrt) X(Abs, abs) X(Square, square) X(Exp, exp) X(Log, log)
#define TG_BINARY_OPS(X) X(Add, add) X(Sub, sub) X(Mul, mul) X(Div, div)

#define TG_OP_ENUM_(Op, fn) Op,
enum class UnaryOp : uint8_t { TG_UNARY_OPS(TG_OP_ENUM_) };
enum class BinaryOp : uint8_t { TG_BINARY_OPS(TG_OP_ENUM_) };
/// Every op of each table, in order.
inline constexpr UnaryOp kUnaryOps[] = {
#define TG_OP_U_(Op, fn) UnaryOp::Op,
    TG_UNARY_OPS(TG_OP_U_)
#undef TG_OP_U_
};
inline constexpr BinaryOp kBinaryOps[] = {
#define TG_OP_B_(Op, fn) BinaryOp::Op,
    TG_BINARY_OPS(TG_OP_B_)
#undef TG_OP_B_
};
#undef TG_OP_ENUM_
/// The op's name: its function's ("sigmoid", "add").
const char* unary_name(UnaryOp op);
const char* binary_name(BinaryOp op);


/// What a recurrent forward saves for its backward, in the backend's own typed form (the CPU:
/// the batch slicing it chose and the saved activations; CUDA: the implementation that ran and
/// its reserve). The engine only carries it from a forward to the backward of the same call.
class RnnSaved {
 public:
  virtual ~RnnSaved() = default;
};

/// Fused Adam update: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= step * m / (sqrt(v) + eps_hat).
/// Both Adam forms reduce to this (see optim.cpp).
struct AdamStep {
  double beta1 = 0.9, beta2 = 0.999, step_size = 1e-3, eps_hat = 1e-8;
};

#ifdef __CUDACC__
#define TG_ENGINE_HD __host__ __device__ inline
#else
#define TG_ENGINE_HD inline
#endif
/// The per-step constants of Adam at step t (>= 1) of either form (optim.h):
/// step_size = lr sqrt(1 - b2^t) / (1 - b1^t); eps_hat = eps (TF1) or eps sqrt(1 - b2^t) (PyTorch).
/// Also compiled for the device, where a gated update computes them itself.
TG_ENGINE_HD AdamStep adam_step_at(double lr, double beta1, double beta2, double eps, bool pytorch_form, double t) {
  const double c1 = 1.0 - pow(beta1, t), c2 = 1.0 - pow(beta2, t);
  AdamStep st;
  st.beta1 = beta1;
  st.beta2 = beta2;
  st.step_size = lr * sqrt(c2) / c1;
  st.eps_hat = pytorch_form ? eps * sqrt(c2) : eps;
  return st;
}

/// The tensors of one parameter for an Adam update (all of one dtype and device).
struct AdamTensors {
  Tensor* param;
  const Tensor* grad;
  Tensor* m;
  Tensor* v;
};

/// An Adam update that the device decides: it runs only when value[0] > threshold, with the step
/// count read from steps[0] (the count including this step, a float64 scalar on the device, see
/// Backend::count_above). Nothing is read back to the host: a training step that skips an
/// optimiser on a loss (TimeGAN's discriminator) never waits for the device.
struct AdamGated {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  bool pytorch_form = false;
  const Tensor* value = nullptr;  ///< [1] or [], the tensor's dtype
  double threshold = 0.0;
  const Tensor* steps = nullptr;  ///< [1] float64
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Device device() const = 0;
  virtual std::string name() const = 0;
  /// The kernels behind the numbers, for the record (summary.json, the CLI's notes): on the CPU
  /// the kernel set CPUID or TG_CPU_GEMM chose; on CUDA the GRU implementations that ran since
  /// reset_kernels_used(); empty where there is nothing to say.
  virtual std::string kernels_used() const { return ""; }
  virtual void reset_kernels_used() {}

  // ---- memory --------------------------------------------------------------------------
  virtual void* allocate(size_t bytes) = 0;
  virtual void deallocate(void* p, size_t bytes) noexcept = 0;
  virtual void copy(void* dst, const void* src, size_t bytes) = 0;  // both on this device
  virtual void to_host(void* host_dst, const void* src, size_t bytes) = 0;
  virtual void from_host(void* dst, const void* host_src, size_t bytes) = 0;
  virtual void synchronize() {}
  /// Host threads the backend's kernels use (the CPU's; others ignore it). n < 1 means 1.
  virtual void set_num_threads(int n) { (void)n; }
  virtual int num_threads() const { return 1; }

  // ---- elementwise ---------------------------------------------------------------------
  virtual void fill(Tensor& out, double value) = 0;
  /// fill() of every tensor (all of one dtype). The generic version fills them one by one; a device
  /// backend fills them all in one launch (the recurrent backward's zeroed weight gradients).
  virtual void fill_multi(const std::vector<Tensor*>& ts, double value);
  virtual void cast(const Tensor& x, Tensor& out) = 0;
  virtual void unary(UnaryOp op, const Tensor& x, Tensor& out) = 0;
  /// gx (+)= gy * f'(x); y = f(x) is passed too (sigmoid/tanh/sqrt use it).
  virtual void unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& gy,
                              Tensor& gx, bool accumulate) = 0;
  /// out = a (op) b with numpy broadcasting (shapes right-aligned; out has the broadcast shape).
  virtual void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) = 0;
  /// out = alpha * x + beta * out (same shape). beta = 0 overwrites (even NaN in out).
  virtual void axpby(double alpha, const Tensor& x, double beta, Tensor& out) = 0;
  /// out (+)= x summed over the axes that out broadcasts along (out's shape broadcasts to x's).
  virtual void sum_to(const Tensor& x, Tensor& out, bool accumulate) = 0;

  // ---- reductions over the batch axis (axis 0) -----------------------------------------
  virtual void mean_axis0(const Tensor& x, Tensor& out) = 0;
  /// Population variance (divide by n) over axis 0.
  virtual void var_axis0(const Tensor& x, Tensor& out) = 0;
  /// gx (+)= gy * 2 (x - mean) / n for out = var_axis0(x).
  virtual void var_axis0_backward(const Tensor& x, const Tensor& gy, Tensor& gx, bool accumulate) = 0;

  // ---- linear algebra ------------------------------------------------------------------
  /// C = alpha op(A) op(B) + beta C on row-major matrices: op(A) is m x k, op(B) is k x n.
  /// A, B, C are read as dense row-major matrices of the given sizes, whatever their rank.
  virtual void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
                    const Tensor& a, const Tensor& b, double beta, Tensor& c) = 0;
  /// out[r, :] (+)= b for every row r of out viewed as [rows, b.numel()].
  virtual void add_row_vector(const Tensor& b, Tensor& out) = 0;

  // ---- strided block copies: slicing, concatenation ------------------------------------
  /// For r in [0, rows): dst[dst_off + r*dst_stride + c] (+)= src[src_off + r*src_stride + c],
  /// c in [0, cols). Offsets and strides in elements.
  virtual void copy_rows(Tensor& dst, int64_t dst_off, int64_t dst_stride, const Tensor& src,
                         int64_t src_off, int64_t src_stride, int64_t rows, int64_t cols,
                         bool accumulate) = 0;
  /// dst[i, :] = src[rows[i], :] for i in [0, rows.size()), rows of `cols` contiguous elements
  /// (a batch drawn by index). The indices are host values; a device backend uploads them
  /// without waiting. The generic version is one copy_rows per row.
  virtual void gather_rows(Tensor& dst, const Tensor& src, const std::vector<int64_t>& rows, int64_t cols);
  /// dst[dst_off + (b*T + t)*dst_stride + c] = src[b*src_stride + c] for b < B, t < T, c < cols:
  /// each row of src at T consecutive rows of dst (a per-sequence vector at every step). The
  /// generic version is one copy_rows per step.
  virtual void broadcast_rows(Tensor& dst, int64_t dst_off, int64_t dst_stride, const Tensor& src, int64_t src_stride,
                              int64_t B, int64_t T, int64_t cols);
  /// dst[b*dst_stride + c] = the sum over t = 0, 1, ..., T-1 (in that order) of
  /// src[src_off + (b*T + t)*src_stride + c], T >= 1: the backward of broadcast_rows. The
  /// generic version is one copy_rows per step.
  virtual void sum_row_groups(Tensor& dst, int64_t dst_stride, const Tensor& src, int64_t src_off, int64_t src_stride,
                              int64_t B, int64_t T, int64_t cols);
  /// out[r] = the largest of x[r, 0..k) for x viewed as [out.numel(), k]; 0 where that largest
  /// value is not finite (a constant a softmax subtracts for range, never differentiated).
  /// The generic version reads x to the host.
  virtual void max_last(const Tensor& x, int64_t k, Tensor& out);

  // ---- losses --------------------------------------------------------------------------
  // The fused ops below (the losses, Adam) have generic versions composed of the primitives
  // above (same formulas, rounded step by step): a new backend runs before it provides its own.
  /// out = max(z,0) - z*label + log(1 + exp(-|z|)), elementwise.
  virtual void sigmoid_ce(const Tensor& z, double label, Tensor& out);
  /// gz (+)= gy * (sigmoid(z) - label).
  virtual void sigmoid_ce_backward(const Tensor& z, double label, const Tensor& gy, Tensor& gz,
                                   bool accumulate);

  // ---- fused recurrent stacks (see rnn_spec.h for cells and weight layouts) -------------
  /// Whether this backend runs recurrent stacks itself (rnn_forward / rnn_backward). Without,
  /// the ops layer composes them of the primitives (tg::rnn_composed, tg/ops.h): a new backend
  /// trains every model before it provides its own.
  virtual bool provides_rnn() const { return false; }
  /// call: every field set (batch, seq, input from x). lengths: host array of `batch` ints or
  /// nullptr (all full). h0/c0: [L,B,H] or undefined. hT/cT optional. training: return what
  /// the backward needs (never null); otherwise nullptr. The generic versions of both throw
  /// std::logic_error (a backend that does not provide them is never asked).
  virtual std::shared_ptr<RnnSaved> rnn_forward(const RnnSpec& call, const std::vector<Tensor>& weights,
                                                const Tensor& x, const int32_t* lengths, const Tensor& h0,
                                                const Tensor& c0, Tensor& y, Tensor& hT, Tensor& cT,
                                                bool training);
  /// saved: what this backend's rnn_forward returned for the same call (std::invalid_argument
  /// for another backend's). gx written; gweights accumulated (empty vector: frozen weights,
  /// no weight gradients); gh0/gc0 written when defined.
  virtual void rnn_backward(const RnnSpec& call, const std::vector<Tensor>& weights,
                            const Tensor& x, const int32_t* lengths, const Tensor& h0,
                            const Tensor& c0, const RnnSaved& saved, const Tensor& gy,
                            Tensor& gx, std::vector<Tensor>& gweights, Tensor& gh0,
                            Tensor& gc0);

  // ---- optimiser and random numbers ----------------------------------------------------
  /// m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; param -= step_size m / (sqrt(v) + eps_hat).
  virtual void adam_update(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v,
                           const AdamStep& step);
  /// adam_update of every entry (one optimiser step). The generic version calls adam_update per
  /// entry; a device backend updates them all in one launch.
  virtual void adam_update_multi(const std::vector<AdamTensors>& ts, const AdamStep& step);
  /// count[0] += 1 when value[0] > threshold (count: [1] float64). The generic version reads both
  /// to the host and writes count back.
  virtual void count_above(const Tensor& value, double threshold, Tensor& count);
  /// adam_update_multi when gate.value[0] > gate.threshold, at step gate.steps[0]; otherwise
  /// nothing. The generic version reads the value and the count to the host.
  virtual void adam_update_gated(const std::vector<AdamTensors>& ts, const AdamGated& gate);
  /// out[i] = lo + (hi-lo) * u_i, u_i the i-th uniform of rng's stream from block `counter`
  /// (lane i%4 of block counter + i/4), exactly as Rng::fill_uniform.
  virtual void fill_uniform(Tensor& out, const Rng& rng, uint64_t counter, double lo, double hi) = 0;
};

/// The backend of a device. Throws std::runtime_error with the reason when the device is
/// unavailable (CUDA backend not built, or no usable GPU).
Backend& backend_for(Device d);
/// Whether a CUDA device can be used; `why` receives the reason when not.
bool cuda_available(std::string* why = nullptr);

// ---- the registry of backends --------------------------------------------------------------
// The engine names no backend and does not link one. The built-in ones (the CPU; CUDA in builds
// that have it) live in the kernels library (tg::kernels), which registers them while the
// program starts: linking tg::kernels is all an application does (its link option
// --undefined=tg_kernels_registered keeps the registering object in a static link, which would
// otherwise drop an object nothing references; CMakeLists.txt). backend_for() says so when
// nothing is registered. An application may register its own backend for a device in place of
// the built-in one.
struct BackendEntry {
  Device device;
  const char* name;
  /// Whether the device can be used now; `why` (may be null) receives the reason when not.
  bool (*usable)(std::string* why);
  /// The process-wide instance (called only when usable); never destroyed.
  Backend& (*instance)();
};
/// Adds or replaces the backend of entry.device.
void register_backend(const BackendEntry& entry);
/// The names of the registered backends, in device order ("cpu", "cuda").
std::vector<std::string> registered_backends();

/// Threads of the CPU backend's kernels (the CLI's --threads). Default: the hardware's threads,
/// or the TG_NUM_THREADS environment variable. n < 1 means 1.
void set_num_threads(int n);
int num_threads();

}  // namespace tg
