// Tests of the CPU recurrent-stack kernels (tg/kernels/rnn_cpu.h) and the layout contract
// (tg/rnn_spec.h): finite-difference gradients, known values, the scalar reference
// (kernels/reference), lengths, float/double, the vectorised activations, bad args.
#include <doctest/doctest.h>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "reference/rnn_reference.h"
#include "reference/rnn_variants.h"
#include "tg/kernels/cells.h"
#include "tg/kernels/parallel.h"
#include "tg/kernels/rnn_cpu.h"
#include "tg/rnn_spec.h"
#include "kernels/cpu/gemm_cpu.h"

namespace kc = tg::kernels::cpu;
using tg::Cell;

namespace {

const Cell kAllCells[] = {Cell::GruTf1, Cell::GruResetAfter, Cell::Lstm, Cell::LstmLn};

// What CPUID says, asked independently of the kernels' own check (gemm_cpu.cpp).
bool cpu_has_avx512f() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

int64_t numel(const std::vector<int64_t>& shape) {
  int64_t p = 1;
  for (auto d : shape) p *= d;
  return p;
}

// Everything one forward needs, in double; converted to float on demand.
struct Problem {
  tg::RnnSpec s{};
  std::vector<std::vector<double>> w;  // layers * nw tensors
  std::vector<double> x, h0, c0;
  std::vector<int32_t> len;  // empty = full length
  bool use_h0 = true, use_c0 = true;
};

Problem make_problem(Cell cell, int L, int B, int T, int in, int H, uint32_t seed) {
  Problem p;
  p.s = tg::RnnSpec{cell, L, H, B, T, in};
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-0.8, 0.8);
  for (int l = 0; l < L; ++l)
    for (auto& sh : tg::rnn_weight_shapes(cell, l == 0 ? in : H, H)) {
      std::vector<double> t(numel(sh));
      for (auto& v : t) v = u(rng);
      p.w.push_back(std::move(t));
    }
  p.x.resize(static_cast<size_t>(B) * T * in);
  for (auto& v : p.x) v = u(rng);
  p.h0.resize(static_cast<size_t>(L) * B * H);
  p.c0.resize(static_cast<size_t>(L) * B * H);
  for (auto& v : p.h0) v = u(rng);
  for (auto& v : p.c0) v = u(rng);
  return p;
}

template <typename T>
std::vector<T> cvt(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

template <typename T>
struct FwdOut {
  std::vector<T> y, hT, cT, reserve;
  int slices = 0;
};

template <typename T>
FwdOut<T> run_forward(const Problem& p, bool train) {
  const auto& s = p.s;
  std::vector<std::vector<T>> wt;
  std::vector<const T*> wp;
  for (auto& t : p.w) wt.push_back(cvt<T>(t));
  for (auto& t : wt) wp.push_back(t.data());
  auto x = cvt<T>(p.x), h0 = cvt<T>(p.h0), c0 = cvt<T>(p.c0);
  FwdOut<T> o;
  size_t sz = static_cast<size_t>(s.layers) * s.batch * s.hidden;
  o.y.assign(static_cast<size_t>(s.batch) * s.seq * s.hidden, T(-7));
  o.hT.assign(sz, T(-7));
  o.cT.assign(sz, T(-7));
  if (train) o.reserve.assign(kc::rnn_reserve_elems(s), T(0));
  tg::kernels::RnnIo<T> io;
  io.weights = wp.data();
  io.x = x.data();
  io.lengths = p.len.empty() ? nullptr : p.len.data();
  io.h0 = p.use_h0 ? h0.data() : nullptr;
  io.c0 = p.use_c0 ? c0.data() : nullptr;
  io.y = o.y.data();
  io.hT = o.hT.data();
  io.cT = tg::cell_has_c(s.cell) ? o.cT.data() : nullptr;
  io.reserve = train ? o.reserve.data() : nullptr;
  const int slices = kc::rnn_forward<T>(s, io);
  o.slices = train ? slices : 0;
  return o;
}

struct Probe {
  std::vector<double> gy, ghT, gcT;
};

double loss(const Problem& p, const Probe& pr) {
  auto o = run_forward<double>(p, false);
  double L = 0;
  for (size_t i = 0; i < o.y.size(); ++i) L += pr.gy[i] * o.y[i];
  for (size_t i = 0; i < o.hT.size(); ++i) L += pr.ghT[i] * o.hT[i];
  if (tg::cell_has_c(p.s.cell))
    for (size_t i = 0; i < o.cT.size(); ++i) L += pr.gcT[i] * o.cT[i];
  return L;
}

struct Grads {
  std::vector<std::vector<double>> gw;
  std::vector<double> gx, gh0, gc0;
};

Grads run_backward(const Problem& p, const Probe& pr) {
  const auto& s = p.s;
  auto o = run_forward<double>(p, true);
  std::vector<const double*> wp;
  for (auto& t : p.w) wp.push_back(t.data());
  Grads g;
  std::vector<double*> gwp;
  for (auto& t : p.w) g.gw.emplace_back(t.size(), 0.0);
  for (auto& t : g.gw) gwp.push_back(t.data());
  g.gx.assign(p.x.size(), 99.0);
  g.gh0.assign(p.h0.size(), 99.0);
  g.gc0.assign(p.c0.size(), 99.0);
  bool has_c = tg::cell_has_c(s.cell);
  tg::kernels::RnnIo<double> io;
  io.weights = wp.data();
  io.x = p.x.data();
  io.lengths = p.len.empty() ? nullptr : p.len.data();
  io.h0 = p.use_h0 ? p.h0.data() : nullptr;
  io.c0 = p.use_c0 ? p.c0.data() : nullptr;
  io.reserve = o.reserve.data();
  io.slices = o.slices;
  io.gy = pr.gy.data();
  io.gx = g.gx.data();
  io.gweights = gwp.data();
  io.gh0 = g.gh0.data();
  io.gc0 = has_c ? g.gc0.data() : nullptr;
  io.ghT = pr.ghT.data();
  io.gcT = has_c ? pr.gcT.data() : nullptr;
  kc::rnn_backward<double>(s, io);
  return g;
}

// Central-difference check of the analytic gradient `ana` of the loss with respect to `v`
// (a vector inside `p`), on all coordinates or on `max_coords` random ones.
void fd_check(Problem& p, const Probe& pr, std::vector<double>& v, const std::vector<double>& ana,
              const std::string& what, int max_coords, std::mt19937& rng) {
  const double eps = 1e-6;
  std::vector<size_t> idx(v.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  if (max_coords > 0 && static_cast<size_t>(max_coords) < idx.size()) {
    std::shuffle(idx.begin(), idx.end(), rng);
    idx.resize(max_coords);
  }
  for (size_t i : idx) {
    double keep = v[i];
    v[i] = keep + eps;
    double lp = loss(p, pr);
    v[i] = keep - eps;
    double lm = loss(p, pr);
    v[i] = keep;
    double num = (lp - lm) / (2 * eps);
    double tol = 1e-6 * std::max({1.0, std::abs(num), std::abs(ana[i])});
    INFO(what << "[" << i << "] analytic " << ana[i] << " numeric " << num);
    CHECK(std::abs(num - ana[i]) <= tol);
  }
}

void grad_check(Cell cell, int L, int B, int T, int in, int H, std::vector<int32_t> len,
                int max_coords, uint32_t seed, bool use_h0 = true) {
  Problem p = make_problem(cell, L, B, T, in, H, seed);
  p.len = std::move(len);
  p.use_h0 = use_h0;
  p.use_c0 = use_h0;
  std::mt19937 rng(seed + 1);
  std::uniform_real_distribution<double> u(-1, 1);
  Probe pr;
  pr.gy.resize(static_cast<size_t>(B) * T * H);
  pr.ghT.resize(static_cast<size_t>(L) * B * H);
  pr.gcT.resize(pr.ghT.size());
  for (auto& v : pr.gy) v = u(rng);
  for (auto& v : pr.ghT) v = u(rng);
  for (auto& v : pr.gcT) v = u(rng);
  Grads g = run_backward(p, pr);
  std::string c = tg::cell_name(cell);
  fd_check(p, pr, p.x, g.gx, c + " x", max_coords, rng);
  if (use_h0) fd_check(p, pr, p.h0, g.gh0, c + " h0", max_coords, rng);
  if (use_h0 && tg::cell_has_c(cell)) fd_check(p, pr, p.c0, g.gc0, c + " c0", max_coords, rng);
  const int nw = tg::rnn_weights_per_layer(cell);
  for (size_t k = 0; k < p.w.size(); ++k)
    fd_check(p, pr, p.w[k], g.gw[k],
             c + " layer " + std::to_string(k / nw) + " weight " + std::to_string(k % nw),
             max_coords, rng);
}

struct ThreadsGuard {
  int saved;
  explicit ThreadsGuard(int n) : saved(kc::num_threads()) { kc::set_num_threads(n); }
  ~ThreadsGuard() { kc::set_num_threads(saved); }
};

}  // namespace

TEST_CASE("rnn_spec: the table of cell traits (names, initial values, saved widths, states)") {
  using tg::RnnInit;
  const auto& gru = tg::cell_traits(Cell::GruTf1);
  CHECK(std::string(gru.weights[0].name) == "W_gates");
  CHECK(std::string(gru.weights[3].name) == "b_cand");
  CHECK(gru.weights[0].init == RnnInit::Glorot);
  CHECK(gru.weights[1].init == RnnInit::One);  // TF1 GRUCell's gate bias
  CHECK(gru.weights[3].init == RnnInit::Zero);
  const auto& ln = tg::cell_traits(Cell::LstmLn);
  CHECK(std::string(ln.weights[3].name) == "gamma_c");
  CHECK(ln.weights[3].init == RnnInit::One);
  CHECK(std::string(tg::cell_traits(Cell::GruResetAfter).weights[1].name) == "W_hh");
  CHECK(tg::rnn_saved_width(Cell::GruTf1, 24) == 96);
  CHECK(tg::rnn_saved_width(Cell::GruResetAfter, 24) == 96);
  CHECK(tg::rnn_saved_width(Cell::Lstm, 24) == 144);
  CHECK(tg::rnn_saved_width(Cell::LstmLn, 24) == 11 * 24 + 5);
  CHECK(!tg::cell_has_c(Cell::GruTf1));
  CHECK(!tg::cell_has_c(Cell::GruResetAfter));
  CHECK(tg::cell_has_c(Cell::Lstm));
  CHECK(tg::cell_has_c(Cell::LstmLn));
  CHECK(!tg::cell_has_c(static_cast<Cell>(9)));
  CHECK_THROWS_WITH_AS(tg::cell_traits(static_cast<Cell>(9)), doctest::Contains("invalid cell value 9"),
                       std::invalid_argument);
  CHECK_THROWS_AS(tg::rnn_weight_shapes(static_cast<Cell>(9), 2, 2), std::invalid_argument);
}

TEST_CASE("rnn_spec: names, shapes, parameter counts") {
  for (Cell c : kAllCells) CHECK(tg::parse_cell(tg::cell_name(c)) == c);
  CHECK(tg::parse_cell("lstmLN") == Cell::LstmLn);
  CHECK_THROWS_WITH_AS(tg::parse_cell("rnn"),
                       doctest::Contains("'rnn'"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tg::parse_cell("GRU"), doctest::Contains("gru_ra"), std::invalid_argument);
  CHECK(tg::rnn_weights_per_layer(Cell::GruTf1) == 4);
  CHECK(tg::rnn_weights_per_layer(Cell::Lstm) == 2);
  CHECK(tg::rnn_weights_per_layer(Cell::LstmLn) == 5);
  CHECK(tg::rnn_layer_params(Cell::GruTf1, 5, 24) == 29 * 48 + 48 + 29 * 24 + 24);
  CHECK(tg::rnn_layer_params(Cell::GruResetAfter, 5, 24) == 72 * 5 + 72 * 24 + 72 + 72);
  CHECK(tg::rnn_layer_params(Cell::Lstm, 5, 24) == 29 * 96 + 96);
  CHECK(tg::rnn_layer_params(Cell::LstmLn, 5, 24) == 29 * 96 + 96 + 96 + 24 + 24);
  auto sh = tg::rnn_weight_shapes(Cell::GruResetAfter, 6, 4);
  CHECK(sh[0] == std::vector<int64_t>{12, 6});
  CHECK(sh[1] == std::vector<int64_t>{12, 4});
}

TEST_CASE("rnn gradients: finite differences, every cell, 2 layers, full length") {
  ThreadsGuard tgd(1);
  for (Cell c : kAllCells) {
    SUBCASE(tg::cell_name(c)) { grad_check(c, 2, 3, 5, 4, 3, {}, 0, 11); }
  }
}

TEST_CASE("rnn gradients: finite differences with lengths {5,3,0}") {
  ThreadsGuard tgd(1);
  for (Cell c : kAllCells) {
    SUBCASE(tg::cell_name(c)) { grad_check(c, 2, 3, 5, 4, 3, {5, 3, 0}, 0, 23); }
  }
}

TEST_CASE("rnn gradients: zero initial state (h0/c0 null)") {
  ThreadsGuard tgd(1);
  for (Cell c : kAllCells) {
    SUBCASE(tg::cell_name(c)) { grad_check(c, 2, 3, 4, 2, 3, {4, 2, 1}, 0, 31, false); }
  }
}

TEST_CASE("rnn gradients: threaded batch split (B=70, 2 threads)") {
  ThreadsGuard tgd(2);
  std::vector<int32_t> len(70);
  for (int b = 0; b < 70; ++b) len[b] = (b * 7) % 6;  // 0..5
  for (Cell c : kAllCells) {
    SUBCASE(tg::cell_name(c)) { grad_check(c, 2, 70, 5, 4, 3, len, 6, 41); }
  }
}

TEST_CASE("rnn backward: slicing recorded by the forward survives a thread-count change") {
  Problem p = make_problem(Cell::GruTf1, 2, 70, 4, 3, 5, 5);
  Probe pr;
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(-1, 1);
  pr.gy.resize(70 * 4 * 5);
  pr.ghT.assign(2 * 70 * 5, 0.0);
  pr.gcT = pr.ghT;
  for (auto& v : pr.gy) v = u(rng);
  Grads g1, g2;
  {
    ThreadsGuard tgd(1);
    g1 = run_backward(p, pr);
  }
  {
    ThreadsGuard tgd(2);
    g2 = run_backward(p, pr);
  }
  for (size_t k = 0; k < g1.gw.size(); ++k)
    for (size_t i = 0; i < g1.gw[k].size(); ++i) CHECK(g1.gw[k][i] == doctest::Approx(g2.gw[k][i]).epsilon(1e-12));
  for (size_t i = 0; i < g1.gx.size(); ++i) CHECK(g1.gx[i] == doctest::Approx(g2.gx[i]).epsilon(1e-12));
}

// Known values: one step (T=1, 1 layer, B=2, input=2, hidden=3) of each cell with hand-set
// weights. Numbers produced by `/usr/bin/python3 tests/fixtures/rnn_onestep.py` (plain numpy from
// the rnn_spec.h / TF1.15 equations; gru_ra also checked there against torch.nn.GRUCell).
namespace {
struct KnownCase {
  const char* cell;
  std::vector<std::vector<double>> w;
  std::vector<double> h1, c1;
};
}  // namespace

TEST_CASE("rnn forward: known values, one step of each cell") {
  // x {0.5, -0.25, -1, 0.75}, h0 {0.25, -0.5, 0.875, 0.625, 0, -0.125}, c0 {-0.375, 0.5, 0.25, 1.25, -0.75, 0} (B=2, input=2, hidden=3, one step)
  const std::vector<double> x = {0.5, -0.25, -1, 0.75};
  const std::vector<double> h0 = {0.25, -0.5, 0.875, 0.625, 0, -0.125};
  const std::vector<double> c0 = {-0.375, 0.5, 0.25, 1.25, -0.75, 0};
  const std::vector<KnownCase> cases = {
    {"gru",
      {{-0.375, 0.25, -0.25, 0.375, -0.125, 0.5, 0, -0.5, 0.125, -0.375, 0.25, -0.25, 0.375, -0.125, 0.5, 0, -0.5, 0.125, -0.375, 0.25, -0.25, 0.375, -0.125, 0.5, 0, -0.5, 0.125, -0.375, 0.25, -0.25},
       {0.75, 0.5, 1.375, 1.125, 0.875, 0.625},
       {-0.125, 0.375, -0.25, 0.25, -0.375, 0.125, -0.5, 0, 0.5, -0.125, 0.375, -0.25, 0.25, -0.375, 0.125},
       {0.125, 0.375, -0.5}},
      {0.21418660305863563, -0.27673256839622523, 0.39772966862850001, 0.45110922630132222, -0.07079197609741171, -0.025661807120005042},
      {}},
    {"gru_ra",
      {{0, 0.25, 0.5, -0.375, -0.125, 0.125, 0.375, -0.5, -0.25, 0, 0.25, 0.5, -0.375, -0.125, 0.125, 0.375, -0.5, -0.25},
       {0.25, 0, -0.25, -0.5, 0.375, 0.125, -0.125, -0.375, 0.5, 0.25, 0, -0.25, -0.5, 0.375, 0.125, -0.125, -0.375, 0.5, 0.25, 0, -0.25, -0.5, 0.375, 0.125, -0.125, -0.375, 0.5},
       {0.375, -0.125, 0.5, 0, -0.5, 0.125, -0.375, 0.25, -0.25},
       {0.5, -0.125, 0.375, -0.25, 0.25, -0.375, 0.125, -0.5, 0}},
      {-0.14355304522483789, -0.25215037753445824, 0.52706885693425143, 0.29465122238410246, 0.13526219768330278, -0.076308473310402206},
      {}},
    {"lstm",
      {{-0.25, 0.375, -0.125, 0.5, 0, -0.5, 0.125, -0.375, 0.25, -0.25, 0.375, -0.125, 0.5, 0, -0.5, 0.125, -0.375, 0.25, -0.25, 0.375, -0.125, 0.5, 0, -0.5, 0.125, -0.375, 0.25, -0.25, 0.375, -0.125, 0.5, 0, -0.5, 0.125, -0.375, 0.25, -0.25, 0.375, -0.125, 0.5, 0, -0.5, 0.125, -0.375, 0.25, -0.25, 0.375, -0.125, 0.5, 0, -0.5, 0.125, -0.375, 0.25, -0.25, 0.375, -0.125, 0.5, 0, -0.5},
       {-0.375, -0.125, 0.125, 0.375, -0.5, -0.25, 0, 0.25, 0.5, -0.375, -0.125, 0.125}},
      {-0.04358305635242371, 0.068834334389069135, 0.06430008504412621, 0.37838480656694712, -0.21507796608255025, 0.086015824988274411},
      {-0.0887821223687488, 0.15574727903392954, 0.13803162359857851, 0.80803076658153028, -0.79875280279292526, 0.16583788684323286}},
    {"lstm_ln",
      {{-0.375, 0.125, -0.5, 0, 0.5, -0.125, 0.375, -0.25, 0.25, -0.375, 0.125, -0.5, 0, 0.5, -0.125, 0.375, -0.25, 0.25, -0.375, 0.125, -0.5, 0, 0.5, -0.125, 0.375, -0.25, 0.25, -0.375, 0.125, -0.5, 0, 0.5, -0.125, 0.375, -0.25, 0.25, -0.375, 0.125, -0.5, 0, 0.5, -0.125, 0.375, -0.25, 0.25, -0.375, 0.125, -0.5, 0, 0.5, -0.125, 0.375, -0.25, 0.25, -0.375, 0.125, -0.5, 0, 0.5, -0.125},
       {0.9375, 1.0625, 1.1875, 0.75, 0.875, 1, 1.125, 1.25, 0.8125, 0.9375, 1.0625, 1.1875},
       {0, -0.25, 0.0625, -0.1875, 0.125, -0.125, 0.1875, -0.0625, 0.25, 0, -0.25, 0.0625},
       {0.875, 0.9375, 1},
       {-0.0625, -0.1875, 0.25}},
      {-0.028928979637549691, -0.65660807093865314, 0.19295047575959884, 0.48208010646282401, -0.13171037320881063, 0.30289678551635696},
      {-0.062098651879289542, -1.3359132644106557, 1.4745154651381733, 0.90218906008843514, -1.4234081010719368, 0.46580019151852126}},
  };
  for (const auto& kcase : cases) {
    Cell cell = tg::parse_cell(kcase.cell);
    tg::RnnSpec s{cell, 1, 3, 2, 1, 2};
    std::vector<const double*> wp;
    for (auto& t : kcase.w) wp.push_back(t.data());
    std::vector<double> y(6), hT(6), cT(6, 0.0), res(kc::rnn_reserve_elems(s));
    tg::kernels::RnnIo<double> io;
    io.weights = wp.data();
    io.x = x.data();
    io.h0 = h0.data();
    io.c0 = c0.data();
    io.y = y.data();
    io.hT = hT.data();
    io.cT = cT.data();
    io.reserve = res.data();
    kc::rnn_forward<double>(s, io);
    std::vector<float> yf(6);
    std::vector<std::vector<float>> wf;
    std::vector<const float*> wfp;
    for (auto& t : kcase.w) wf.emplace_back(t.begin(), t.end());
    for (auto& t : wf) wfp.push_back(t.data());
    std::vector<float> xf(x.begin(), x.end()), h0f(h0.begin(), h0.end()), c0f(c0.begin(), c0.end());
    tg::kernels::RnnIo<float> iof;
    iof.weights = wfp.data();
    iof.x = xf.data();
    iof.h0 = h0f.data();
    iof.c0 = c0f.data();
    iof.y = yf.data();
    kc::rnn_forward<float>(s, iof);
    for (int i = 0; i < 6; ++i) {
      INFO(kcase.cell << " i=" << i);
      CHECK(y[i] == doctest::Approx(kcase.h1[i]).epsilon(1e-12));
      CHECK(hT[i] == doctest::Approx(kcase.h1[i]).epsilon(1e-12));
      CHECK(yf[i] == doctest::Approx(kcase.h1[i]).epsilon(1e-5));
      if (!kcase.c1.empty()) CHECK(cT[i] == doctest::Approx(kcase.c1[i]).epsilon(1e-10));
    }
  }
}

TEST_CASE("rnn forward: float agrees with double") {
  for (int threads : {1, 2}) {
    ThreadsGuard tgd(threads);
    for (Cell c : kAllCells) {
      Problem p = make_problem(c, 3, 80, 7, 5, 8, 77);
      p.len.resize(80);
      for (int b = 0; b < 80; ++b) p.len[b] = 7 - b % 3;
      auto od = run_forward<double>(p, true);
      auto of = run_forward<float>(p, false);
      double maxd = 0;
      for (size_t i = 0; i < od.y.size(); ++i) maxd = std::max(maxd, std::abs(od.y[i] - of.y[i]));
      for (size_t i = 0; i < od.hT.size(); ++i) maxd = std::max(maxd, std::abs(od.hT[i] - of.hT[i]));
      INFO(tg::cell_name(c) << " threads " << threads);
      CHECK(maxd < 2e-5);
    }
  }
}

TEST_CASE("rnn forward: lengths semantics") {
  for (Cell c : kAllCells) {
    INFO(tg::cell_name(c));
    const int L = 2, B = 4, T = 6, in = 3, H = 5;
    Problem p = make_problem(c, L, B, T, in, H, 99);
    p.len = {6, 2, 0, 4};
    auto o = run_forward<double>(p, true);
    const bool has_c = tg::cell_has_c(c);
    for (int b = 0; b < B; ++b) {
      // outputs are zero past len
      for (int t = p.len[b]; t < T; ++t)
        for (int k = 0; k < H; ++k) CHECK(o.y[(b * T + t) * H + k] == 0.0);
      // the same sequence alone, truncated to its length, gives the same outputs and states
      if (p.len[b] == 0) {
        for (int l = 0; l < L; ++l)
          for (int k = 0; k < H; ++k) {
            size_t i = (l * B + b) * H + k;
            CHECK(o.hT[i] == p.h0[i]);
            if (has_c) CHECK(o.cT[i] == p.c0[i]);
          }
        continue;
      }
      Problem q = make_problem(c, L, 1, p.len[b], in, H, 99);
      q.w = p.w;
      for (int t = 0; t < p.len[b]; ++t)
        for (int k = 0; k < in; ++k) q.x[t * in + k] = p.x[(b * T + t) * in + k];
      for (int l = 0; l < L; ++l)
        for (int k = 0; k < H; ++k) {
          q.h0[l * H + k] = p.h0[(l * B + b) * H + k];
          q.c0[l * H + k] = p.c0[(l * B + b) * H + k];
        }
      auto oq = run_forward<double>(q, false);
      for (int t = 0; t < p.len[b]; ++t)
        for (int k = 0; k < H; ++k)
          CHECK(o.y[(b * T + t) * H + k] == doctest::Approx(oq.y[t * H + k]).epsilon(1e-13));
      for (int l = 0; l < L; ++l)
        for (int k = 0; k < H; ++k) {
          CHECK(o.hT[(l * B + b) * H + k] == doctest::Approx(oq.hT[l * H + k]).epsilon(1e-13));
          if (has_c)
            CHECK(o.cT[(l * B + b) * H + k] == doctest::Approx(oq.cT[l * H + k]).epsilon(1e-13));
        }
      // top-layer hT is the output at len-1
      for (int k = 0; k < H; ++k)
        CHECK(o.hT[((L - 1) * B + b) * H + k] == o.y[(b * T + p.len[b] - 1) * H + k]);
    }
  }
}

TEST_CASE("rnn forward/backward: bad arguments throw std::invalid_argument") {
  Problem p = make_problem(Cell::GruTf1, 1, 2, 3, 2, 2, 1);
  std::vector<const double*> wp;
  for (auto& t : p.w) wp.push_back(t.data());
  std::vector<double> y(2 * 3 * 2), res(kc::rnn_reserve_elems(p.s));
  auto fwd = [&](tg::RnnSpec s, const double* const* w, const int32_t* len) {
    tg::kernels::RnnIo<double> io;
    io.weights = w;
    io.x = p.x.data();
    io.lengths = len;
    io.y = y.data();
    kc::rnn_forward<double>(s, io);
  };
  CHECK_NOTHROW(fwd(p.s, wp.data(), nullptr));
  CHECK_THROWS_WITH_AS(fwd(p.s, nullptr, nullptr), doctest::Contains("rnn_forward"),
                       std::invalid_argument);
  auto wbad = wp;
  wbad[2] = nullptr;
  CHECK_THROWS_WITH_AS(fwd(p.s, wbad.data(), nullptr), doctest::Contains("weight pointer 2"),
                       std::invalid_argument);
  auto s = p.s;
  s.layers = 0;
  CHECK_THROWS_WITH_AS(fwd(s, wp.data(), nullptr), doctest::Contains("layers=0"),
                       std::invalid_argument);
  s = p.s;
  s.hidden = 0;
  CHECK_THROWS_WITH_AS(fwd(s, wp.data(), nullptr), doctest::Contains("hidden=0"),
                       std::invalid_argument);
  CHECK_THROWS_AS(kc::rnn_reserve_elems(s), std::invalid_argument);
  int32_t bad_len[2] = {3, 4};
  CHECK_THROWS_WITH_AS(fwd(p.s, wp.data(), bad_len), doctest::Contains("lengths[1] = 4"),
                       std::invalid_argument);
  int32_t neg_len[2] = {-1, 0};
  CHECK_THROWS_WITH_AS(fwd(p.s, wp.data(), neg_len), doctest::Contains("lengths[0] = -1"),
                       std::invalid_argument);
  std::vector<double> g(2 * 3 * 2, 0.0), gx(p.x.size());
  std::vector<std::vector<double>> gw;
  std::vector<double*> gwp;
  for (auto& t : p.w) gw.emplace_back(t.size(), 0.0);
  for (auto& t : gw) gwp.push_back(t.data());
  auto bwd = [&](const int32_t* len, double* reserve, int slices) {
    tg::kernels::RnnIo<double> io;
    io.weights = wp.data();
    io.x = p.x.data();
    io.lengths = len;
    io.reserve = reserve;
    io.slices = slices;
    io.gy = g.data();
    io.gx = gx.data();
    io.gweights = gwp.data();
    kc::rnn_backward<double>(p.s, io);
  };
  CHECK_THROWS_WITH_AS(bwd(nullptr, nullptr, 0), doctest::Contains("rnn_backward: reserve is null"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(bwd(bad_len, res.data(), 1), doctest::Contains("rnn_backward: lengths[1] = 4"),
                       std::invalid_argument);
  // A slice count the forward cannot have written (more slices than rows).
  CHECK_THROWS_WITH_AS(bwd(nullptr, res.data(), 3), doctest::Contains("reserve slice count 3"),
                       std::invalid_argument);
}

TEST_CASE("parallel_for: runs every task once, nested calls run inline, exceptions propagate") {
  ThreadsGuard tgd(2);
  std::vector<int> hits(100, 0);
  kc::parallel_for(100, [&](int t) { hits[t] += 1; });
  for (int h : hits) CHECK(h == 1);
  std::vector<int> inner(4 * 4, 0);
  kc::parallel_for(4, [&](int a) { kc::parallel_for(4, [&](int b) { inner[a * 4 + b] += 1; }); });
  for (int h : inner) CHECK(h == 1);
  CHECK_THROWS_AS(kc::parallel_for(3, [](int t) {
                    if (t == 2) throw std::runtime_error("boom");
                  }),
                  std::runtime_error);
  for (int rep = 0; rep < 200; ++rep) {
    std::vector<int> v(2, 0);
    kc::parallel_for(2, [&](int t) { v[t] = t + 1; });
    CHECK((v[0] == 1 && v[1] == 2));
  }
}

TEST_CASE("rnn backward: float agrees with double (exercises the float GEMM path)") {
  for (int threads : {1, 2}) {
    ThreadsGuard tgd(threads);
    for (Cell c : kAllCells) {
      // widths chosen to hit the 16-, 8- and masked-column paths and row tails
      Problem p = make_problem(c, 2, 70, 9, 5, 13, 123);
      p.len.resize(70);
      for (int b = 0; b < 70; ++b) p.len[b] = 9 - b % 4;
      const auto& s = p.s;
      std::mt19937 rng(8);
      std::uniform_real_distribution<double> u(-1, 1);
      std::vector<double> gy(static_cast<size_t>(70) * 9 * 13);
      for (auto& v : gy) v = u(rng);
      Probe pr;
      pr.gy = gy;
      pr.ghT.assign(static_cast<size_t>(2) * 70 * 13, 0.0);
      pr.gcT = pr.ghT;
      Grads gd = run_backward(p, pr);
      // float
      auto of = run_forward<float>(p, true);
      std::vector<std::vector<float>> wf, gwf;
      std::vector<const float*> wp;
      std::vector<float*> gwp;
      for (auto& t : p.w) {
        wf.emplace_back(t.begin(), t.end());
        gwf.emplace_back(t.size(), 0.f);
      }
      for (auto& t : wf) wp.push_back(t.data());
      for (auto& t : gwf) gwp.push_back(t.data());
      auto xf = cvt<float>(p.x), h0f = cvt<float>(p.h0), c0f = cvt<float>(p.c0), gyf = cvt<float>(gy);
      std::vector<float> gxf(p.x.size()), gh0f(p.h0.size()), gc0f(p.c0.size());
      tg::kernels::RnnIo<float> io;
      io.weights = wp.data();
      io.x = xf.data();
      io.lengths = p.len.data();
      io.h0 = h0f.data();
      io.c0 = c0f.data();
      io.reserve = of.reserve.data();
      io.slices = of.slices;
      io.gy = gyf.data();
      io.gx = gxf.data();
      io.gweights = gwp.data();
      io.gh0 = gh0f.data();
      io.gc0 = tg::cell_has_c(c) ? gc0f.data() : nullptr;
      kc::rnn_backward<float>(s, io);
      auto cmp = [&](const std::vector<double>& a, const std::vector<float>& b, const char* what) {
        double scale = 0, err = 0;
        for (size_t i = 0; i < a.size(); ++i) {
          scale = std::max(scale, std::abs(a[i]));
          err = std::max(err, std::abs(a[i] - b[i]));
        }
        INFO(tg::cell_name(c) << " threads " << threads << " " << what << " err " << err
                              << " scale " << scale);
        CHECK(err <= 2e-4 * std::max(1.0, scale));
      };
      cmp(gd.gx, gxf, "gx");
      cmp(gd.gh0, gh0f, "gh0");
      for (size_t k = 0; k < p.w.size(); ++k) cmp(gd.gw[k], gwf[k], "gw");
    }
  }
}

TEST_CASE("rnn gradients: edge shapes (T=1, B=1, in=1, H=1, 3 layers)") {
  ThreadsGuard tgd(1);
  for (Cell c : kAllCells) {
    SUBCASE(tg::cell_name(c)) {
      grad_check(c, 3, 1, 1, 1, 2, {}, 0, 51);
      grad_check(c, 1, 2, 3, 1, 1, {3, 1}, 0, 52);
      grad_check(c, 3, 2, 2, 7, 9, {2, 0}, 0, 53);
    }
  }
}

TEST_CASE("rnn forward: every cell against the scalar reference (kernels/reference), float and double") {
  for (int threads : {1, 2}) {
    ThreadsGuard tgd(threads);
    for (Cell c : kAllCells) {
      Problem p = make_problem(c, 2, 70, 6, 3, 5, 123);
      p.len.resize(70);
      for (int b = 0; b < 70; ++b) p.len[b] = 6 - b % 4;
      tg::reference::RnnProblem rp;
      rp.cell = c;
      rp.L = 2, rp.B = 70, rp.T = 6, rp.in = 3, rp.H = 5;
      rp.len = p.len;
      rp.w = p.w;
      rp.x = p.x;
      rp.h0 = p.h0;
      if (tg::cell_has_c(c)) rp.c0 = p.c0;
      const auto ref = tg::reference::rnn_forward(rp);
      auto od = run_forward<double>(p, true);
      auto of = run_forward<float>(p, false);
      double md = 0, mf = 0;
      for (size_t i = 0; i < ref.y.size(); ++i) {
        md = std::max(md, std::abs(od.y[i] - ref.y[i]));
        mf = std::max(mf, std::abs(of.y[i] - ref.y[i]));
      }
      for (size_t i = 0; i < ref.hT.size(); ++i) {
        md = std::max(md, std::abs(od.hT[i] - ref.hT[i]));
        mf = std::max(mf, std::abs(of.hT[i] - ref.hT[i]));
        if (tg::cell_has_c(c)) {
          md = std::max(md, std::abs(od.cT[i] - ref.cT[i]));
          mf = std::max(mf, std::abs(of.cT[i] - ref.cT[i]));
        }
      }
      INFO(tg::cell_name(c) << " threads " << threads << " double " << md << " float " << mf);
      CHECK(md < 1e-12);
      CHECK(mf < 2e-5);
    }
  }
}

TEST_CASE("rnn kernels: the vectorised activations are the cell header's sigmoid and tanh") {
  // Every length up to 40 (the AVX2 path's 8-wide chunks and masked tails), values over the
  // range where both functions bend and saturate.
  for (int n = 1; n <= 40; ++n) {
    std::vector<float> sf(n), tf(n);
    std::vector<double> sd(n), td(n);
    for (int k = 0; k < n; ++k) sd[k] = td[k] = sf[k] = tf[k] = static_cast<float>(-12.0 + 24.0 * k / n + 0.37);
    kc::vector_sigmoid(sf.data(), n);
    kc::vector_tanh(tf.data(), n);
    kc::vector_sigmoid(sd.data(), n);
    kc::vector_tanh(td.data(), n);
    for (int k = 0; k < n; ++k) {
      const double x = static_cast<float>(-12.0 + 24.0 * k / n + 0.37);
      INFO("n " << n << " x " << x);
      CHECK(std::abs(sf[k] - tg::cells::sigmoid(static_cast<float>(x))) <= 4e-7f);
      CHECK(std::abs(tf[k] - tg::cells::tanh_(static_cast<float>(x))) <= 4e-7f);
      CHECK(std::abs(sd[k] - tg::cells::sigmoid(x)) <= 1e-15);
      CHECK(std::abs(td[k] - tg::cells::tanh_(x)) <= 1e-15);
    }
  }
}

TEST_CASE("kernel lab: every variant available here agrees with the scalar reference") {
  // Forward within 2e-5 absolute of the double reference, gradients within 1e-4 relative
  // (to max(1, |g|)) of its central finite differences (kernels/reference/rnn_variants.h).
  ThreadsGuard tgd(2);
  int ran = 0;
  for (const auto& v : tg::lab::rnn_variants()) {
    if (!v.unavailable.empty()) continue;
    for (Cell c : kAllCells) {
      const auto r = tg::lab::validate(v, c);
      INFO(v.name << " " << tg::cell_name(c) << ": " << r.detail);
      CHECK(r.ok);
      CHECK(r.forward_err <= tg::lab::kForwardTol);
      if (v.backward) CHECK(r.grad_err <= tg::lab::kGradTol);
    }
    ++ran;
  }
  CHECK(ran >= 2);  // the reference and cpu-eigen run everywhere
  // The registry names the variants whether or not they run here; AVX-512 runs where CPUID has it.
  REQUIRE(tg::lab::find_rnn_variant("cpu-avx512") != nullptr);
  CHECK(tg::lab::find_rnn_variant("cpu-avx512")->unavailable.empty() == cpu_has_avx512f());
  CHECK(tg::lab::find_rnn_variant("cpu-avx512-layout") != nullptr);
  CHECK(tg::lab::find_rnn_variant("cpu-avx2") != nullptr);
  CHECK(tg::lab::find_rnn_variant("nonesuch") == nullptr);
}

TEST_CASE("rnn kernels: the float GEMM kernels give the same stacks, the micro-kernels bit for bit") {
  // Eigen's products and every micro-kernel this CPU has, on shapes that use the blocks of both
  // blockings (gemm_microkernel.inl; AVX2: 12 x 8, 6 x 16 and 4 x 24 with masked last vectors;
  // AVX-512 and its AVX2 layout: 24 x 16, 12 x 32 and 8 x 48): H = 6, 13, 24 give H, 2H, 3H =
  // 6..72 columns, B = 20 rows give full bands and row tails of every height class, and
  // T * B = 260 rows chunk the weight gradients' K. Eigen agrees within
  // 1e-5 relative; the micro-kernels, which run every element's multiply-adds in the same order,
  // agree exactly (y, final states and every gradient).
  const kc::GemmKernel saved = kc::gemm_kernel();
  CHECK(kc::gemm_kernel_available(kc::GemmKernel::Eigen));
  CHECK(kc::gemm_kernel_available(kc::GemmKernel::Avx512) == cpu_has_avx512f());
  CHECK(std::string(kc::gemm_kernel_name(kc::GemmKernel::Avx2)) == "avx2");
  CHECK(std::string(kc::gemm_kernel_name(kc::GemmKernel::Avx512Layout)) == "avx512-layout");
  if (!kc::gemm_kernel_available(kc::GemmKernel::Avx512))
    CHECK_THROWS_AS(kc::set_gemm_kernel(kc::GemmKernel::Avx512), std::invalid_argument);
  if (!kc::gemm_kernel_available(kc::GemmKernel::Avx2)) {
    MESSAGE("this CPU has no AVX2+FMA: only the Eigen kernel runs");
    return;
  }
  const std::string where = cpu_has_avx512f() ? "run here" : "not in CPUID: their layout runs on AVX2";
  MESSAGE("AVX-512 micro-kernels " << where);
  ThreadsGuard tgd(1);
  const char* names[] = {"cpu-eigen", "cpu-avx2", "cpu-avx512-layout", "cpu-avx512"};
  for (Cell c : kAllCells)
    for (int H : {6, 13, 24}) {
      std::vector<tg::lab::StackCase> out;
      std::vector<std::string> ran;
      for (const char* n : names) {
        const auto* v = tg::lab::find_rnn_variant(n);
        REQUIRE(v != nullptr);
        if (!v->unavailable.empty()) continue;
        auto sc = tg::lab::make_case(c, 2, 20, 13, 7, H, 77);
        v->forward(sc);
        v->backward(sc);
        out.push_back(std::move(sc));
        ran.push_back(n);
      }
      REQUIRE(out.size() >= 3);
      auto diff = [](const std::vector<float>& a, const std::vector<float>& b) {
        double e = 0;
        for (size_t i = 0; i < a.size(); ++i)
          e = std::max(e, std::abs(double(a[i]) - b[i]) / std::max(1.0, std::abs(double(b[i]))));
        return e;
      };
      auto max_diff = [&](const tg::lab::StackCase& a, const tg::lab::StackCase& b) {
        double e = std::max({diff(a.y, b.y), diff(a.hT, b.hT), diff(a.gx, b.gx), diff(a.gh0, b.gh0)});
        for (size_t k = 0; k < a.gw.size(); ++k) e = std::max(e, diff(a.gw[k], b.gw[k]));
        return e;
      };
      const double eigen = max_diff(out[0], out[1]);
      INFO(tg::cell_name(c) << " H " << H << ": eigen vs avx2 max rel difference " << eigen);
      CHECK(eigen < 1e-5);
      for (size_t k = 2; k < out.size(); ++k) {
        INFO(ran[k] << " vs cpu-avx2");
        CHECK(max_diff(out[k], out[1]) == 0.0);
      }
    }
  CHECK(kc::gemm_kernel() == saved);  // the variants restore the choice they found
}

TEST_CASE("small GEMM: every kernel on every block shape, exact tails, micro-kernels bit for bit") {
  // C[M,N] (= or +=) A[M,K] B[K,N] through the dispatching entry point with each kernel, A read
  // row-major and transposed, C inside a wider buffer whose padding must stay untouched (the
  // masked tails). Rows 1..13 and 24/25 cover full bands and row tails of both blockings; the
  // columns every panel of gemm_microkernel.inl for 8- and 16-float vectors (1, 2 and 3 vectors,
  // full or with a masked last vector, alone or after blocks of 2); K = 200 and 400 the K
  // chunks (192).
  const kc::GemmKernel saved = kc::gemm_kernel();
  std::vector<kc::GemmKernel> kernels{kc::GemmKernel::Eigen};
  for (auto k : {kc::GemmKernel::Avx2, kc::GemmKernel::Avx512Layout, kc::GemmKernel::Avx512})
    if (kc::gemm_kernel_available(k)) kernels.push_back(k);
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<int> Ms;
  for (int m = 1; m <= 13; ++m) Ms.push_back(m);
  Ms.push_back(24);
  Ms.push_back(25);
  int cases = 0;
  for (int M : Ms)
    for (int N : {1, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 39, 40, 48, 72, 80})
      for (int K : {1, 5, 24, 200, 400})
        for (bool trans : {false, true})
          for (bool acc : {false, true}) {
            const int lda = trans ? M + 3 : K + 3, ldb = N + 5, ldc = N + 4;
            std::vector<float> A(static_cast<size_t>(trans ? K * lda : M * lda)), B(static_cast<size_t>(K * ldb)),
                C0(static_cast<size_t>(M * ldc));
            for (auto& x : A) x = u(rng);
            for (auto& x : B) x = u(rng);
            for (auto& x : C0) x = u(rng);
            const std::ptrdiff_t sai = trans ? 1 : lda, sak = trans ? lda : 1;
            std::vector<double> ref(static_cast<size_t>(M * N));
            for (int i = 0; i < M; ++i)
              for (int j = 0; j < N; ++j) {
                double s = acc ? C0[i * ldc + j] : 0.0;
                for (int k = 0; k < K; ++k) s += double(A[i * sai + k * sak]) * B[k * ldb + j];
                ref[i * N + j] = s;
              }
            std::vector<std::vector<float>> outs;
            for (auto kern : kernels) {
              kc::set_gemm_kernel(kern);
              std::vector<float> C = C0;
              kc::small::gemm(M, N, K, A.data(), sai, sak, B.data(), ldb, C.data(), ldc, acc);
              double err = 0;
              bool pad_ok = true;
              for (int i = 0; i < M; ++i) {
                for (int j = 0; j < N; ++j) err = std::max(err, std::abs(C[i * ldc + j] - ref[i * N + j]));
                for (int j = N; j < ldc; ++j) pad_ok = pad_ok && C[i * ldc + j] == C0[i * ldc + j];
              }
              INFO(kc::gemm_kernel_name(kern) << " M " << M << " N " << N << " K " << K << " trans " << trans
                                              << " acc " << acc << " max abs err " << err);
              CHECK(err <= 1e-5 * (K + 1));
              CHECK(pad_ok);
              outs.push_back(std::move(C));
            }
            for (size_t k = 2; k < outs.size(); ++k) {
              INFO(kc::gemm_kernel_name(kernels[k]) << " vs avx2: M " << M << " N " << N << " K " << K
                                                    << " trans " << trans << " acc " << acc);
              CHECK(outs[k] == outs[1]);
            }
            ++cases;
          }
  kc::set_gemm_kernel(saved);
  MESSAGE(cases << " shapes x " << kernels.size() << " kernels");
}

TEST_CASE("gate activations: every kernel set gives the same bits, Eigen's AVX2 ones, on strided rows") {
  // About a million floats over [-30, 30] (both rational forms, their clamps, and the exp branch
  // of the sigmoid below -9) and the edges: the cut-offs, tiny and denormal values, overflow of
  // the exp's argument, infinities and NaN.
  std::vector<float> xs;
  for (int k = 0; k <= (1 << 20); ++k) xs.push_back(-30.f + 60.f * static_cast<float>(k) / (1 << 20));
  for (float v : {0.f, -0.f, 1e-40f, -1e-40f, 3.999e-4f, 4e-4f, -4e-4f, 4.001e-4f, -9.f, -9.0001f, -8.9999f,
                  15.7243833541870117f, 15.73f, -15.73f, 7.99881172180175781f, -7.99881172180175781f, 8.f, -8.f,
                  -87.f, -88.723f, -88.8f, -103.f, -200.f, -1e30f, 1e30f, 88.8f, 200.f, INFINITY, -INFINITY, NAN})
    xs.push_back(v);
  const int n = static_cast<int>(xs.size());
  const kc::GemmKernel saved = kc::gemm_kernel();
  std::vector<kc::GemmKernel> kernels;
  for (auto k : {kc::GemmKernel::Avx2, kc::GemmKernel::Avx512Layout, kc::GemmKernel::Avx512})
    if (kc::gemm_kernel_available(k)) kernels.push_back(k);
  std::vector<std::vector<float>> sig, th;
  for (auto k : kernels) {
    kc::set_gemm_kernel(k);
    std::vector<float> s = xs, t = xs;
    kc::vector_sigmoid(s.data(), n);
    kc::vector_tanh(t.data(), n);
    sig.push_back(std::move(s));
    th.push_back(std::move(t));
  }
  auto same_bits = [](const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
  };
  for (size_t k = 1; k < kernels.size(); ++k) {
    INFO(kc::gemm_kernel_name(kernels[k]) << " vs " << kc::gemm_kernel_name(kernels[0]));
    CHECK(same_bits(sig[k], sig[0]));
    CHECK(same_bits(th[k], th[0]));
  }
#if defined(__AVX2__) && defined(__FMA__)
  // This build targets AVX2+FMA: Eigen's packet functions are the reference, bit for bit.
  if (!kernels.empty()) {
    std::vector<float> es(xs.size()), et(xs.size());
    for (int i = 0; i < n; i += 8) {
      float in[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      for (int j = 0; j < 8 && i + j < n; ++j) in[j] = xs[static_cast<size_t>(i + j)];
      const Eigen::internal::Packet8f x = Eigen::internal::ploadu<Eigen::internal::Packet8f>(in);
      float s[8], t[8];
      Eigen::internal::pstoreu(s, Eigen::internal::scalar_logistic_op<float>().packetOp(x));
      Eigen::internal::pstoreu(t, Eigen::internal::ptanh(x));
      for (int j = 0; j < 8 && i + j < n; ++j) {
        es[static_cast<size_t>(i + j)] = s[j];
        et[static_cast<size_t>(i + j)] = t[j];
      }
    }
    CHECK(same_bits(sig[0], es));
    CHECK(same_bits(th[0], et));
  }
#endif
  // Strided rows, with and without an addend, every length up to 40 (full vectors and tails of
  // 8 and 16): each value as the one-row call on x + add gives it, the padding untouched.
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-12.f, 12.f);
  for (auto k : kernels) {
    kc::set_gemm_kernel(k);
    for (int len = 1; len <= 40; ++len)
      for (bool with_add : {false, true})
        for (auto a : {kc::small::Act::Sigmoid, kc::small::Act::Tanh}) {
          const int rows = 5, ld = len + 3, lda = len + 5;
          std::vector<float> p(static_cast<size_t>(rows * ld)), add(static_cast<size_t>(rows * lda));
          for (auto& v : p) v = u(rng);
          for (auto& v : add) v = u(rng);
          std::vector<float> want = p;
          for (int r = 0; r < rows; ++r) {
            std::vector<float> row(p.begin() + r * ld, p.begin() + r * ld + len);
            for (int j = 0; j < len && with_add; ++j) row[static_cast<size_t>(j)] += add[static_cast<size_t>(r * lda + j)];
            if (a == kc::small::Act::Sigmoid) kc::vector_sigmoid(row.data(), len);
            else kc::vector_tanh(row.data(), len);
            std::copy(row.begin(), row.end(), want.begin() + r * ld);
          }
          // out of place (into a buffer with its own padding), then in place
          std::vector<float> o(static_cast<size_t>(rows * (len + 7)), -7.f), o_want = o;
          for (int r = 0; r < rows; ++r)
            std::copy(want.begin() + r * ld, want.begin() + r * ld + len, o_want.begin() + r * (len + 7));
          kc::small::act(a, rows, len, o.data(), len + 7, p.data(), ld, with_add ? add.data() : nullptr, lda);
          kc::small::act(a, rows, len, p.data(), ld, p.data(), ld, with_add ? add.data() : nullptr, lda);
          INFO(kc::gemm_kernel_name(k) << " len " << len << " add " << with_add);
          CHECK(same_bits(o, o_want));
          CHECK(same_bits(p, want));
        }
  }
  kc::set_gemm_kernel(saved);
}
