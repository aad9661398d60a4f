// The cuDNN GRU (kernels/cuda/cudnn_gru.cu) without a device: its guards (cudnn_checks.h) as
// plain functions, and, where libcudnn is installed, every cuDNN call the GRU makes that needs no
// device: the RNN, RNN-data and hidden-state descriptors for each shape the engine uses (set and
// read back), and the layout check on descriptors read back through cudnnGetTensorNdDescriptor
// as cudnn_gru.cu reads those of cudnnGetRNNWeightParams. cuDNN 9 creates a handle only with a
// device (cudnnCreate: CUDNN_STATUS_NOT_INITIALIZED without one), and the weight-space queries
// need a handle: that case runs on a machine with a GPU and is skipped with a note elsewhere.
// Built in every configuration (tests/CMakeLists.txt); without libcudnn it says so and skips.
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "../test_util.h"

#include "cudnn_checks.h"

#ifdef TG_TEST_HAVE_CUDNN
#include <cudnn.h>
#endif

namespace cc = tg::kernels::cuda::cudnn_checks;

namespace {
using tgtest::one_line;
using tgtest::message_of;  // (the message of what a call throws, "" when nothing)
}  // namespace



TEST_CASE("cuDNN guard: weight and bias descriptors against the dense row-major layout") {
  const int d3[3] = {1, 24, 5}, s3[3] = {120, 5, 1};
  CHECK(cc::check_param_layout("matrix", 3, d3, s3, 24, 5).empty());
  const int d2[2] = {24, 5}, s2[2] = {5, 1};
  CHECK(cc::check_param_layout("matrix", 2, d2, s2, 24, 5).empty());
  const int bd[3] = {1, 24, 1}, bs[3] = {24, 1, 1};
  CHECK(cc::check_param_layout("bias", 3, bd, bs, 24, 1).empty());
  // transposed (column-major) storage, swapped dimensions, padded rows, wrong size
  const int st[3] = {120, 1, 24};
  const std::string col = cc::check_param_layout("matrix", 3, d3, st, 24, 5);
  CHECK(col.find("matrix descriptor with dims [1,24,5] strides [120,1,24], expected a dense row-major 24 x 5 block") !=
        std::string::npos);
  const int sw[3] = {1, 5, 24}, sws[3] = {120, 24, 1};
  CHECK(!cc::check_param_layout("matrix", 3, sw, sws, 24, 5).empty());
  const int pad[3] = {128, 8, 1};
  CHECK(!cc::check_param_layout("matrix", 3, d3, pad, 24, 5).empty());
  const int small[3] = {1, 24, 4};
  CHECK(!cc::check_param_layout("matrix", 3, small, s3, 24, 5).empty());
  CHECK(!cc::check_param_layout("bias", 0, bd, bs, 24, 1).empty());
  CHECK(!cc::check_param_layout("bias", 9, bd, bs, 24, 1).empty());
  // H = 1, in = 1: a single element
  const int one[3] = {1, 1, 1}, ones[3] = {1, 1, 1};
  CHECK(cc::check_param_layout("matrix", 3, one, ones, 1, 1).empty());
}

TEST_CASE("cuDNN guard: small_h falls back to the standard algorithm for per-sequence lengths") {
  std::string note;
  CHECK(!cc::choose_small_h(false, true, false, &note));
  CHECK(!cc::choose_small_h(true, false, false, &note));  // float only
  CHECK(note.empty());
  CHECK(cc::choose_small_h(true, true, false, &note));
  CHECK(note.empty());
  CHECK(!cc::choose_small_h(true, true, true, &note));
  CHECK(one_line(note));
  CHECK(note.find("does not support per-sequence lengths") != std::string::npos);
}

TEST_CASE("cuDNN guard: one backward per forward") {
  cc::OneBackward once;
  CHECK(!once.used());
  CHECK_NOTHROW(once.claim());
  CHECK(once.used());
  const std::string msg = message_of([&] { once.claim(); });
  CHECK(one_line(msg));
  CHECK(msg.find("a second backward through one forward") != std::string::npos);
}

#ifndef TG_TEST_HAVE_CUDNN
TEST_CASE("cuDNN host calls") {
  MESSAGE("skipped: this build found no cudnn.h / libcudnn, or is a sanitizer build (only the guards above are tested)");
}
#else

namespace {

#define CHECK_CUDNN(call) CHECK_MESSAGE((call) == CUDNN_STATUS_SUCCESS, #call)
#define REQUIRE_CUDNN(call) REQUIRE_MESSAGE((call) == CUDNN_STATUS_SUCCESS, #call)

// The recurrent layers of TimeGAN (models/): embedder (features [+ static code, conditions] -> H,
// L layers), recovery and discriminator (H -> H, L), generator (z_dim -> H, L), supervisor
// (H -> H, L - 1), at the presets' sizes (hidden 24, 3 layers, batch 128, sequence 24; the
// datasets' 5, 6 and 28 features) and the tests' tiny ones.
struct Shape {
  int in, H, L, B, T;
};
std::vector<Shape> engine_shapes() {
  std::vector<Shape> v;
  for (const int H : {4, 24})
    for (const int in : {1, 5, 6, 28, 29, H})
      for (const int L : {1, 2, 3}) v.push_back({in, H, L, H == 4 ? 8 : 128, H == 4 ? 6 : 24});
  v.push_back({6, 24, 3, 256, 24});  // the joint step's concatenated batches (2 B)
  return v;
}

struct RnnDesc {
  cudnnRNNDescriptor_t rnn = nullptr;
  cudnnDropoutDescriptor_t drop = nullptr;
  RnnDesc() {
    REQUIRE_CUDNN(cudnnCreateRNNDescriptor(&rnn));
    REQUIRE_CUDNN(cudnnCreateDropoutDescriptor(&drop));
  }
  ~RnnDesc() {
    cudnnDestroyRNNDescriptor(rnn);
    cudnnDestroyDropoutDescriptor(drop);
  }
  // as cudnn_gru.cu's plan_for
  cudnnStatus_t set(const Shape& s, cudnnDataType_t dt, bool small_h) {
    return cudnnSetRNNDescriptor_v8(rnn, small_h ? CUDNN_RNN_ALGO_PERSIST_STATIC_SMALL_H : CUDNN_RNN_ALGO_STANDARD,
                                    CUDNN_GRU, CUDNN_RNN_DOUBLE_BIAS, CUDNN_UNIDIRECTIONAL, CUDNN_LINEAR_INPUT, dt, dt,
                                    CUDNN_FMA_MATH, s.in, s.H, s.H, s.L, drop, CUDNN_RNN_PADDED_IO_ENABLED);
  }
};

// A tensor descriptor set to (dims, strides) and read back as cudnn_gru.cu's check_param_desc does.
std::string layout_of(int nb, const int* dims, const int* strides, int64_t rows, int64_t cols) {
  cudnnTensorDescriptor_t d = nullptr;
  REQUIRE_CUDNN(cudnnCreateTensorDescriptor(&d));
  REQUIRE_CUDNN(cudnnSetTensorNdDescriptor(d, CUDNN_DATA_FLOAT, nb, dims, strides));
  cudnnDataType_t dt{};
  int got_nb = 0, gd[8] = {}, gs[8] = {};
  REQUIRE_CUDNN(cudnnGetTensorNdDescriptor(d, 8, &dt, &got_nb, gd, gs));
  cudnnDestroyTensorDescriptor(d);
  CHECK(dt == CUDNN_DATA_FLOAT);
  return cc::check_param_layout("matrix", got_nb, gd, gs, rows, cols);
}

}  // namespace

TEST_CASE("cuDNN host calls: the library and its version") {
  const size_t v = cudnnGetVersion();
  MESSAGE("cuDNN " << v / 10000 << "." << v % 10000 / 100 << "." << v % 100 << " (headers " << CUDNN_VERSION << ")");
  CHECK(v >= 8907);  // the v8 RNN API (cudnn_gru.cu)
  CHECK(v / 10000 == CUDNN_MAJOR);
}

TEST_CASE("cuDNN host calls: the GRU's descriptors for every shape the engine uses") {
  for (const Shape& s : engine_shapes()) {
    CAPTURE(s.in);
    CAPTURE(s.H);
    CAPTURE(s.L);
    for (const cudnnDataType_t dt : {CUDNN_DATA_FLOAT, CUDNN_DATA_DOUBLE}) {
      RnnDesc r;
      CHECK_CUDNN(r.set(s, dt, false));
      if (dt == CUDNN_DATA_FLOAT) CHECK_CUDNN(r.set(s, dt, true));
      // the data descriptors, full lengths and per-sequence ones (>= 1, as make_lens clamps)
      std::vector<int> full(static_cast<size_t>(s.B), s.T), lens(static_cast<size_t>(s.B));
      for (int b = 0; b < s.B; ++b) lens[static_cast<size_t>(b)] = 1 + b % s.T;
      double zero_d = 0;
      float zero_f = 0;
      void* fill = dt == CUDNN_DATA_DOUBLE ? static_cast<void*>(&zero_d) : static_cast<void*>(&zero_f);
      for (const std::vector<int>* l : {&full, &lens}) {
        cudnnRNNDataDescriptor_t xd = nullptr;
        REQUIRE_CUDNN(cudnnCreateRNNDataDescriptor(&xd));
        CHECK_CUDNN(cudnnSetRNNDataDescriptor(xd, dt, CUDNN_RNN_DATA_LAYOUT_BATCH_MAJOR_UNPACKED, s.T, s.B, s.in,
                                              l->data(), fill));
        cudnnDataType_t gdt{};
        cudnnRNNDataLayout_t layout{};
        int T = 0, B = 0, F = 0;
        std::vector<int> back(static_cast<size_t>(s.B));
        double pad[1] = {1};
        CHECK_CUDNN(cudnnGetRNNDataDescriptor(xd, &gdt, &layout, &T, &B, &F, s.B, back.data(), pad));
        CHECK(gdt == dt);
        CHECK(layout == CUDNN_RNN_DATA_LAYOUT_BATCH_MAJOR_UNPACKED);
        CHECK((T == s.T && B == s.B && F == s.in));
        CHECK(back == *l);
        cudnnDestroyRNNDataDescriptor(xd);
      }
      // the hidden state [L, B, H]
      cudnnTensorDescriptor_t hd = nullptr;
      REQUIRE_CUDNN(cudnnCreateTensorDescriptor(&hd));
      const int dims[3] = {s.L, s.B, s.H}, strides[3] = {s.B * s.H, s.H, 1};
      CHECK_CUDNN(cudnnSetTensorNdDescriptor(hd, dt, 3, dims, strides));
      cudnnDestroyTensorDescriptor(hd);
    }
  }
  // a length cuDNN refuses (0: why cudnn_gru.cu clamps to 1) and one past the sequence
  cudnnRNNDataDescriptor_t xd = nullptr;
  REQUIRE_CUDNN(cudnnCreateRNNDataDescriptor(&xd));
  float zero = 0;
  const int bad[2] = {3, 7};
  CHECK(cudnnSetRNNDataDescriptor(xd, CUDNN_DATA_FLOAT, CUDNN_RNN_DATA_LAYOUT_BATCH_MAJOR_UNPACKED, 6, 2, 4, bad,
                                  &zero) != CUDNN_STATUS_SUCCESS);
  cudnnDestroyRNNDataDescriptor(xd);
}

TEST_CASE("cuDNN host calls: the layout check on descriptors read back from cuDNN") {
  const int d[3] = {1, 24, 5}, s[3] = {120, 5, 1};
  CHECK(layout_of(3, d, s, 24, 5).empty());
  const int col[3] = {120, 1, 24};
  CHECK(!layout_of(3, d, col, 24, 5).empty());
  const int bd[3] = {1, 24, 1}, bs[3] = {24, 1, 1};
  CHECK(layout_of(3, bd, bs, 24, 1).empty());
  const int pad[3] = {192, 8, 1};
  CHECK(!layout_of(3, d, pad, 24, 5).empty());
}

TEST_CASE("cuDNN host calls: the weight-space layout (needs a device)") {
  cudnnHandle_t h = nullptr;
  const cudnnStatus_t st = cudnnCreate(&h);
  if (st != CUDNN_STATUS_SUCCESS) {
    MESSAGE("skipped: cudnnCreate returned " << std::string(cudnnGetErrorString(st))
                                             << " (no device): cudnnGetRNNWeightParams needs a handle");
    return;
  }
  for (const Shape& s : engine_shapes()) {
    for (const cudnnDataType_t dt : {CUDNN_DATA_FLOAT, CUDNN_DATA_DOUBLE}) {
      CAPTURE(s.in);
      CAPTURE(s.H);
      CAPTURE(s.L);
      RnnDesc r;
      REQUIRE_CUDNN(cudnnSetDropoutDescriptor(r.drop, h, 0.f, nullptr, 0, 0));
      REQUIRE_CUDNN(r.set(s, dt, false));
      size_t ws = 0;
      REQUIRE_CUDNN(cudnnGetRNNWeightSpaceSize(h, r.rnn, &ws));
      std::vector<double> space(ws / sizeof(double) + 1);  // addresses only: cuDNN does not read it
      cudnnTensorDescriptor_t md = nullptr, bd = nullptr;
      REQUIRE_CUDNN(cudnnCreateTensorDescriptor(&md));
      REQUIRE_CUDNN(cudnnCreateTensorDescriptor(&bd));
      for (int l = 0; l < s.L; ++l)
        for (int id = 0; id < 6; ++id) {
          void* ma = nullptr;
          void* ba = nullptr;
          REQUIRE_CUDNN(cudnnGetRNNWeightParams(h, r.rnn, l, ws, space.data(), id, md, &ma, bd, &ba));
          cudnnDataType_t gdt{};
          int nb = 0, gd[8] = {}, gs[8] = {};
          REQUIRE_CUDNN(cudnnGetTensorNdDescriptor(md, 8, &gdt, &nb, gd, gs));
          CHECK(cc::check_param_layout("matrix", nb, gd, gs, s.H, id < 3 ? (l == 0 ? s.in : s.H) : s.H) == "");
          REQUIRE_CUDNN(cudnnGetTensorNdDescriptor(bd, 8, &gdt, &nb, gd, gs));
          CHECK(cc::check_param_layout("bias", nb, gd, gs, s.H, 1) == "");
        }
      cudnnDestroyTensorDescriptor(md);
      cudnnDestroyTensorDescriptor(bd);
    }
  }
  cudnnDestroy(h);
}

#endif  // TG_TEST_HAVE_CUDNN
