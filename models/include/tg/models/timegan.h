// TimeGAN (Yoon, Jarrett & van der Schaar, NeurIPS 2019) as the reference code trains it:
// five networks, five independent Adam states, three phases (timegan.md §2-4).
//
//   embedding   (E0 step)  E_loss0 = 10 sqrt(mse(X, r(e(X))))                 -> embedder+recovery
//   supervised  (GS step)  G_loss_S = mse(H[:,1:], s(H)[:,:-1]), H = e(X)      -> supervisor (+gen.)
//   joint, per iteration:  2 x { fresh X, Z; G step on G_loss; E step on E_loss, same X }
//                          then fresh X, Z; D step on D_loss only if D_loss > 0.15
//
// Calls that share weights run as one batched call: the supervisor on [H; E_hat] and the
// discriminator on [H_hat; E_hat] (G step) or [H; H_hat; E_hat] (D step): recurrent layers
// treat batch rows independently, so the mathematics is unchanged.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "tg/io/checkpoint.h"
#include "tg/io/dataset.h"
#include "tg/io/json.h"
#include "tg/models/network.h"
#include "tg/optim.h"

namespace tg::models {

struct TimeGanConfig {
  int64_t seq_len = 24;
  int64_t features = 0;    // dim of the data
  int64_t z_dim = 0;       // 0 = features (the reference)
  int64_t hidden = 24;
  int64_t layers = 3;      // the supervisor has layers - 1
  int64_t batch = 128;
  int64_t iterations = 50000;  // per phase
  Cell cell = Cell::GruTf1;
  double gamma = 1.0;
  double d_threshold = 0.15;
  AdamOptions adam;
  uint64_t seed = 0;
  DType dtype = DType::F32;
  Device device = Device::CPU;
  /// Categorical columns: widths of the one-hot blocks that end the features (after
  /// features - sum numeric ones). Empty: every feature numeric (the reference).
  std::vector<int64_t> categorical;
  int64_t numeric_features() const;
  /// Missing cells (`--missing mask`): the training windows may hold NaN in numeric features.
  /// The embedder then reads [x with missing cells as 0, one 0/1 observed indicator per numeric
  /// feature] (features + numeric_features() inputs); the reconstruction loss and the real
  /// side of the moment loss average over observed cells only. The generator, supervisor,
  /// recovery and discriminator are unchanged: generated sequences are complete (no mask is
  /// generated). False: the reference (NaN in the data is refused by set_data).
  bool missing_mask = false;
  /// Static features (docs/static-features.md): per-sequence values s [static_features] beside
  /// the temporal ones. 0: none (the reference). With them, four dense maps join the networks
  /// (static embedder e_S: s -> h_S, static recovery r_S: h_S -> s~, static generator
  /// g_S: z_S -> h^_S with z_S ~ U[0,1)^static_features, static discriminator d_S: h_S -> logit),
  /// and the static code h_S [hidden] is appended to every step's input of the embedder, the
  /// generator and the supervisor.
  int64_t static_features = 0;
  /// Conditional generation (docs/conditional.md): the width of the condition vector c of each
  /// sequence (a one-hot block of a categorical condition, or 1 for a numeric one in [0, 1]).
  /// 0: none (the reference). c is an input, never generated: it is appended to every step's
  /// input of the generator ([z_t, h^_S, c]), the supervisor ([h_t, h_S, c]) and the temporal
  /// discriminator ([h_t, c]), and to the input of g_S ([z_S, c]) and d_S ([h_S, c]). The
  /// embedder and recovery do not see it.
  int64_t condition_dim = 0;
  /// Width of the static code appended to the recurrent inputs (hidden, or 0 without statics).
  int64_t static_code() const { return static_features > 0 ? hidden : 0; }
  /// The embedder's data input width (the static code, static_code(), comes on top).
  int64_t embedder_inputs() const { return features + (missing_mask ? numeric_features() : 0); }

  // Upper limits that validate() enforces, so that a configuration read from a file
  // (config.json, a checkpoint) cannot make the model allocate without bound. The single-field
  // limits are the CLI's option ranges; the two products bound the weights and the largest
  // activation tensor of one step. A checkpoint holds each weight about 5 times (value and
  // Adam moments), so 2^26 parameters keep it under 3 GB even in float64, within what
  // io::read_file reads (io::kMaxInputFileBytes, 4 GiB).
  static constexpr int64_t kMaxSeqLen = 100000;
  static constexpr int64_t kMaxFeatures = 100000;
  static constexpr int64_t kMaxZDim = 100000;
  static constexpr int64_t kMaxHidden = 4096;
  static constexpr int64_t kMaxLayers = 64;
  static constexpr int64_t kMaxBatch = 1000000;
  static constexpr int64_t kMaxIterations = 1000000000;
  /// Estimated trainable parameters of the five networks (see parameter_bound()).
  static constexpr int64_t kMaxParameters = int64_t{1} << 26;
  /// batch_size * seq_len * max(hidden_dim, features, z_dim): one layer's activations.
  static constexpr int64_t kMaxActivations = int64_t{1} << 30;

  int64_t noise_dim() const { return z_dim > 0 ? z_dim : features; }
  /// An estimate of the trainable parameters, on the high side (every cell counted as 4 gates): what
  /// kMaxParameters limits. Only meaningful once the single-field limits hold.
  int64_t parameter_bound() const;
  /// Throws std::invalid_argument naming the bad field (e.g. layers < 2: the supervisor needs 2,
  /// or a size above the limits above).
  void validate() const;
  io::Json to_json() const;
  /// Reads the object to_json writes and validates it: unknown names (cell, dtype, device,
  /// Adam form), non-finite or out-of-range numbers and sizes above the limits throw
  /// std::invalid_argument / std::runtime_error naming the field, before anything is allocated.
  static TimeGanConfig from_json(const io::Json& j);
  /// The same, with errors as io::InputError "<source>: <what>" (source: the file it came from).
  static TimeGanConfig from_json(const io::Json& j, const std::string& source);
  /// Architecture fields that must match for a checkpoint to load ("" when compatible, else
  /// a one-line description of the first difference).
  std::string mismatch(const TimeGanConfig& other) const;
};

/// The five Adam optimisers of a TimeGAN, in checkpoint order (embedding phase E0, joint E, the
/// supervised phase's GS, joint G, D).
inline constexpr const char* kOptimizerNames[5] = {"E0", "E", "GS", "G", "D"};

/// Where a checkpoint stands: its metadata read and checked like data against the
/// configuration it was saved with (`saved`), before anything is loaded.
struct CheckpointPosition {
  std::string phase;   ///< embedding, supervised, joint or done
  int64_t iteration = 0;  ///< in [0, saved.iterations]; 0 when done
  uint64_t batch_rng_counter = 0, noise_rng_counter = 0;
  int64_t adam_steps[5] = {};  ///< >= 0, in kOptimizerNames order
};
/// Throws io::InputError "<src>: corrupt checkpoint metadata: ..." for a missing or mistyped
/// field, an unknown phase, an iteration out of range or negative Adam steps.
CheckpointPosition checkpoint_position(const io::Json& meta, const TimeGanConfig& saved, const std::string& src);

enum class Phase : uint8_t { Embedding = 0, Supervised = 1, Joint = 2, Done = 3 };
const char* phase_name(Phase p);

/// Losses of one training iteration. Which losses a phase computes is fixed by the phase
/// (embedding: e_loss_t0, e_loss0; supervised: g_loss_s; joint: all); the others are NaN and
/// are written as empty cells. A computed loss that is not finite is written as nan, inf or -inf.
struct StepLosses {
  Phase phase = Phase::Embedding;
  int64_t iteration = 0;
  double e_loss_t0 = 0, e_loss0 = 0, e_loss = 0;
  double g_loss_s = 0, g_loss_u = 0, g_loss_u_e = 0, g_loss_v = 0, g_loss = 0;
  double d_loss = 0;
  bool d_stepped = false;
  static std::string csv_header();
  std::string csv_row() const;
  /// "" when every loss this phase computes is finite, else "name = value" of the first that
  /// is not (e.g. "g_loss_s = nan").
  std::string first_nonfinite() const;
};

class TimeGan {
 public:
  explicit TimeGan(const TimeGanConfig& cfg);

  const TimeGanConfig& config() const { return cfg_; }
  /// Training windows in model scale [n, seq_len, features] (copied onto the device). NaN marks
  /// a missing cell and is accepted in numeric features only with cfg.missing_mask. With
  /// cfg.static_features, w.statics holds each window's static values in model scale
  /// ([n, static_features], finite).
  void set_data(const io::Windows& w);
  int64_t data_size() const { return n_; }

  Phase phase() const { return phase_; }
  int64_t iteration() const { return iter_; }  // completed iterations of the current phase
  bool done() const { return phase_ == Phase::Done; }
  /// One iteration of the current phase; moves to the next phase after cfg.iterations.
  StepLosses step();
  /// Up to k iterations of the current phase (never past its end; at least one), and their
  /// losses. On the CPU the same as k calls of step(). On a device the losses stay there until
  /// the block ends and are read in one copy, and the discriminator's update is decided on the
  /// device: the host waits once per block, not once per loss (the weights are those of k
  /// step() calls).
  std::vector<StepLosses> steps(int64_t k);

  /// n synthetic sequences in model scale, r(s(g(Z))), drawn from stream (seed, 4); with static
  /// features also their static values r_S(g_S(Z_S)) in `statics` (Z_S drawn after Z); lengths
  /// resampled from the training lengths when they vary. Computed in chunks without grads.
  io::Windows generate(int64_t n, uint64_t seed, int64_t chunk = 4096);
  /// The same for a conditional model (cfg.condition_dim > 0): `conditions` holds the model-scale
  /// condition of each wanted sequence ([n, condition_dim] row-major); they are copied to the
  /// result's `conditions`. The noise streams are those of generate(n, seed), so the noise
  /// of a seed does not depend on the conditions. Throws std::invalid_argument on a size mismatch.
  io::Windows generate(int64_t n, uint64_t seed, const std::vector<double>& conditions, int64_t chunk = 4096);

  /// "" when every parameter and every Adam moment is finite, else the name of the first
  /// tensor holding a NaN or an infinity (e.g. "generator/layer0/W_gates").
  std::string first_nonfinite_tensor() const;

  /// Total trainable parameters (48,775 for the stock default: dim 6, hidden 24, 3 GRU layers).
  int64_t parameter_count() const;
  Network& embedder() { return e_; }
  Network& recovery() { return r_; }
  Network& generator() { return g_; }
  Network& supervisor() { return s_; }
  Network& discriminator() { return d_; }
  /// The static features' dense maps (cfg.static_features > 0 only).
  DenseNet& static_embedder() { return es_; }
  DenseNet& static_recovery() { return rs_; }
  DenseNet& static_generator() { return gs_; }
  DenseNet& static_discriminator() { return ds_; }

  /// Full training state: parameters, the five Adam states, phase/iteration, random streams.
  io::Checkpoint to_checkpoint(const io::Json& extra_meta = io::Json::object()) const;
  /// Restores a state written by to_checkpoint; refuses a different architecture with a
  /// one-line message naming the checkpoint and the difference. Returns its extra meta.
  io::Json load_checkpoint(const io::Checkpoint& c);

 private:
  struct Batch {
    Var x;  ///< the data, missing cells as 0
    std::vector<int32_t> lengths;
    Var mask;
    Var s;  ///< static features [B, static_features] (cfg.static_features > 0 only)
    Var c;  ///< conditions [B, condition_dim] (cfg.condition_dim > 0 only)
    // Missing cells only (cfg.missing_mask):
    Var x_in;      ///< the embedder's input [B, T, features + numeric]: x and the observed indicators
    Var observed;  ///< [B, T, features]: 1 for an observed cell at a valid step, else 0
    const Var& embed_in() const { return x_in.defined() ? x_in : x; }
    /// The mask the reconstruction and moment losses use on the real data.
    const Var& target_mask() const { return observed.defined() ? observed : mask; }
  };
  Batch sample_batch();
  Var sample_noise(int64_t b, Rng& rng) const;
  void only_trainable(std::initializer_list<Network*> nets);
  /// The static dense maps present (none without static features), in checkpoint order.
  std::vector<const DenseNet*> static_nets() const;
  /// Static codes of a batch's static values (undefined without static features).
  Var static_code(const Batch& b) const;
  /// g_S on [z_S, c] (undefined without static features).
  Var static_generate(const Var& zs, const Var& c) const;
  /// Static noise Z_S ~ U[0,1) [b, static_features] (undefined without static features).
  Var sample_static_noise(int64_t b, Rng& rng) const;
  /// The static reconstruction term mse(s, r_S(h_S)) added to E_loss_T0 (undefined without).
  Var static_recovery_loss(const Batch& b, const Var& hs) const;
  /// E_loss_T0 from the recovery's top recurrent states: the reference's MSE, or with
  /// categorical columns mixed_reconstruction_loss.
  /// With missing cells, over the observed cells only.
  Var recovery_loss(const Batch& b, const Var& r_states) const;
  StepLosses step_one();
  /// Records loss v as out.*field: read at once on the CPU, copied into the block's device
  /// buffer (loss_buf_ row row_) otherwise.
  void put(StepLosses& out, double StepLosses::*field, const Var& v);
  /// The joint phase's e_loss0 and d_stepped, from the losses read.
  void finish_losses(StepLosses& l) const;
  void step_embedding(StepLosses& out);
  void step_supervised(StepLosses& out);
  void step_joint(StepLosses& out);

  TimeGanConfig cfg_;
  Rng init_rng_, batch_rng_, noise_rng_;
  Network e_, r_, g_, s_, d_;
  DenseNet es_, rs_, gs_, ds_;  // static embedder, recovery, generator, discriminator
  // Adam states, as the reference's five solvers.
  std::vector<Adam> opt_;  // 0 E0 (e+r), 1 E (e+r), 2 GS (g+s), 3 G (g+s), 4 D (d)
  // Losses kept on the device for a block of steps() (any device but the CPU).
  bool deferred_ = false;
  Tensor loss_buf_;                  // [block, loss columns]
  std::vector<uint32_t> put_mask_;   // per row: the columns written
  int64_t row_ = 0;                  // the row of the iteration running
  Tensor data_;            // [n, T, d] (missing cells as 0)
  Tensor data_in_;         // missing_mask: the embedder's inputs [n, T, d + numeric]
  Tensor observed_;        // missing_mask: [n, T, d] observed indicators (0 at padding steps)
  Tensor statics_;         // static features [n, static_features]
  Tensor conds_;           // conditions [n, condition_dim]
  std::vector<int32_t> lengths_;
  bool varlen_ = false;
  int64_t n_ = 0;
  Phase phase_ = Phase::Embedding;
  int64_t iter_ = 0;
};

}  // namespace tg::models
