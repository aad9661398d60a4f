// Emulated CUDA recurrent kernels (gru.cu, lstm.cu through emu.h) against the CPU kernels
// (rnn_cpu.h), float64, relative tolerance 1e-9: forward (training and inference), hT/cT,
// backward (gx, accumulated gweights, gh0/gc0), lengths incl. 0, h0 on/off, rows per block.
#include <cstdio>
#include <random>
#include "emu.h"
#include "tg/kernels/rnn_cpu.h"
#include "tg/rnn_spec.h"
using namespace tg;
namespace kc = tg::kernels::cuda;
namespace kp = tg::kernels::cpu;

static std::vector<double> rv(size_t n, unsigned seed) { std::mt19937 r(seed); std::uniform_real_distribution<double> u(-0.7, 0.7); std::vector<double> v(n); for (auto& x : v) x = u(r); return v; }

static int fails = 0;
static void cmp(const char* what, const std::vector<double>& a, const std::vector<double>& b, const std::string& tag) {
  double worst = 0; size_t wi = 0;
  for (size_t i = 0; i < a.size(); ++i) { double e = std::abs(a[i] - b[i]) / (1e-12 + 1e-9 * std::abs(a[i])); if (!(e <= worst)) { worst = e; wi = i; } }
  if (!(worst <= 1.0)) { ++fails; std::printf("FAIL %s %s: elem %zu cpu %.15g emu %.15g\n", tag.c_str(), what, wi, a[wi], b[wi]); }
}

static void run(Cell cell, int L, int B, int T, int in, int H, std::vector<int32_t> len, bool h0on, int rows) {
  kc::rows_override() = rows;
  const int nw = rnn_weights_per_layer(cell);
  std::vector<std::vector<double>> w, gwc, gwe;
  unsigned seed = 1;
  for (int l = 0; l < L; ++l) for (auto& sh : rnn_weight_shapes(cell, l == 0 ? in : H, H)) {
    size_t n = 1; for (auto d : sh) n *= size_t(d);
    w.push_back(rv(n, seed++)); gwc.push_back(rv(n, 1000 + seed)); gwe.push_back(gwc.back());
  }
  auto x = rv(size_t(B) * T * in, 77), gy = rv(size_t(B) * T * H, 78), h0 = rv(size_t(L) * B * H, 79), c0 = rv(size_t(L) * B * H, 80);
  bool hasc = cell_has_c(cell);
  std::vector<const double*> wp; for (auto& v : w) wp.push_back(v.data());
  std::vector<double*> gpc, gpe; for (auto& v : gwc) gpc.push_back(v.data()); for (auto& v : gwe) gpe.push_back(v.data());
  const int32_t* lp = len.empty() ? nullptr : len.data();
  kp::RnnShape s{cell, L, B, T, in, H};
  std::vector<double> yc(size_t(B) * T * H), hTc(size_t(L) * B * H), cTc(hTc.size()), resc(size_t(kp::rnn_reserve_elems(s)));
  kp::rnn_forward<double>(s, wp.data(), x.data(), lp, h0on ? h0.data() : nullptr, h0on && hasc ? c0.data() : nullptr, yc.data(), hTc.data(), hasc ? cTc.data() : nullptr, resc.data());
  std::vector<double> gxc(x.size()), gh0c(hTc.size()), gc0c(hTc.size());
  kp::rnn_backward<double>(s, wp.data(), x.data(), lp, h0on ? h0.data() : nullptr, h0on && hasc ? c0.data() : nullptr, resc.data(), gy.data(), gxc.data(), gpc.data(), gh0c.data(), hasc ? gc0c.data() : nullptr);

  RnnCall call{cell, L, B, T, in, H};
  bool gru = cell == Cell::GruTf1 || cell == Cell::GruResetAfter;
  std::vector<double> ye(yc.size(), 7), hTe(hTc.size(), 7), cTe(hTc.size(), 7), rese(size_t(gru ? kc::gru_reserve_elems(call) : kc::lstm_reserve_elems(call)), 7);
  kc::RnnArgs a; a.call = call; a.dtype = DType::F64;
  for (auto& v : w) a.w.push_back(v.data());
  a.x = x.data(); a.host_len = lp; a.h0 = h0on ? h0.data() : nullptr; a.c0 = h0on && hasc ? c0.data() : nullptr;
  a.y = ye.data(); a.hT = hTe.data(); a.cT = hasc ? cTe.data() : nullptr; a.reserve = rese.data();
  if (gru) kc::gru_forward(a); else kc::lstm_forward(a);
  std::vector<double> ye2(yc.size(), 7);
  kc::RnnArgs ai = a; ai.reserve = nullptr; ai.y = ye2.data(); ai.hT = nullptr; ai.cT = nullptr;
  if (gru) kc::gru_forward(ai); else kc::lstm_forward(ai);
  std::vector<double> gxe(x.size(), 7), gh0e(hTc.size(), 7), gc0e(hTc.size(), 7);
  a.gy = gy.data(); a.gx = gxe.data(); for (auto p : gpe) a.gw.push_back(p); a.gh0 = gh0e.data(); a.gc0 = hasc ? gc0e.data() : nullptr;
  if (gru) kc::gru_backward(a); else kc::lstm_backward(a);
  char tag[200]; std::snprintf(tag, sizeof tag, "%s L%d B%d T%d in%d H%d len%d h0%d R%d", cell_name(cell), L, B, T, in, H, int(!len.empty()), int(h0on), rows);
  cmp("y", yc, ye, tag); cmp("y(inference)", yc, ye2, tag); cmp("hT", hTc, hTe, tag); if (hasc) cmp("cT", cTc, cTe, tag);
  cmp("gx", gxc, gxe, tag); cmp("gh0", gh0c, gh0e, tag); if (hasc) cmp("gc0", gc0c, gc0e, tag);
  for (size_t i = 0; i < gwc.size(); ++i) cmp(("gw" + std::to_string(i)).c_str(), gwc[i], gwe[i], tag);
  std::printf("done %s\n", tag);
}

int main() {
  for (Cell cell : {Cell::GruTf1, Cell::GruResetAfter, Cell::Lstm, Cell::LstmLn}) {
    run(cell, 1, 5, 7, 5, 8, {}, false, 0);
    run(cell, 3, 13, 9, 6, 8, {}, true, 0);
    run(cell, 2, 13, 9, 6, 8, {9, 0, 3, 9, 1, 5, 8, 2, 4, 7, 6, 9, 0}, true, 0);
    run(cell, 2, 13, 9, 6, 8, {9, 0, 3, 9, 1, 5, 8, 2, 4, 7, 6, 9, 0}, false, 5);
    run(cell, 2, 6, 5, 4, 8, std::vector<int32_t>(6, 0), true, 0);
    run(cell, 2, 6, 5, 4, 8, {}, true, 100);
  }
  std::printf("%d failures\n", fails);
  return fails != 0;
}
