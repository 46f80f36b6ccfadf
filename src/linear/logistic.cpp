// SPDX-License-Identifier: Apache-2.0
// Logistic regression: parameter/state validation, the damped Newton solver and bulk prediction.
#include <calibrisk/core/parallel.hpp>
#include <calibrisk/linear/logistic.hpp>

#include <LBFGS.h>
#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <boost/math/distributions/normal.hpp>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define CALIBRISK_HAVE_AVX2_KERNEL 1
#endif

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <exception>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "penalty_scale.hpp"

namespace calibrisk {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr Index kSubBlock = 256;  // rows transformed and multiplied at a time (fits in L2)

std::string num(double v) { return detail::fmt_value(v); }

// ---------------------------------------------------------------------------------------------
// Problem layout: which columns enter the design matrix and how each is transformed.
//
// Column j of the internal design is x'_j = (x_j - mean_j) * inv_scale_j, where x_j is the raw
// value after imputation (inputs) or the 0/1 missing flag (indicators); the intercept column of
// ones comes last. With theta_s the internal parameters, the raw-scale ones are
//   beta_j = inv_scale_j * beta_s_j,   b = b_s - sum_j beta_j * mean_j,
// so the penalty ||beta||^2 / (2C) becomes sum_j inv_scale_j^2 beta_s_j^2 / (2C) and the
// minimiser is exactly scikit-learn's whatever the scaling.
//
// Categorical levels (after the indicators) are never written into the dense block: their
// internal columns are the raw 0/1 indicators (mean 0, scale 1) and the Evaluator adds them from
// the rows' level indices (`cat`), so the design stays O(n (p + n_cat)) whatever the number of
// levels. A categorical input column itself is a fixed dense column (coefficient 0).
struct Layout {
  Index p = 0;                    // input columns
  std::vector<Index> indicators;  // input column of each indicator
  Index q_dense_feat = 0;         // p + indicators: the columns of the dense block
  Index q_feat = 0;               // q_dense_feat + categorical levels
  Index q = 0;                    // q_feat (+1 with intercept)
  bool intercept = true;
  const detail::CategoryLookup* cat = nullptr;  // level indices (internal = coef positions)
  std::vector<double> impute;                   // p
  std::vector<double> mean;                     // q_feat
  std::vector<double> inv_scale;                // q_feat; 0 for a column held at coefficient 0
  std::vector<char> fixed;                      // q_feat; constant column (coefficient held at 0)
};

// Writes rows [lo, hi) of X, transformed, into the columns of B (q x (hi - lo)).
template <class T>
void fill_block(const MatrixView<const T>& X, Index lo, Index hi, const Layout& L,
                Eigen::MatrixXd& B) {
  const Index cs = X.col_stride();
  const Index p = L.p;
  const Index n_ind = static_cast<Index>(L.indicators.size());
  for (Index r = 0; r < hi - lo; ++r) {
    const T* row = X.row_ptr(lo + r);
    double* dst = B.col(r).data();
    for (Index j = 0; j < p; ++j) {
      double v = static_cast<double>(row[j * cs]);
      if (v != v) v = L.impute[j];
      dst[j] = (v - L.mean[j]) * L.inv_scale[j];
    }
    for (Index k = 0; k < n_ind; ++k) {
      const double v = static_cast<double>(row[L.indicators[k] * cs]);
      const double flag = (v != v) ? 1.0 : 0.0;
      dst[p + k] = (flag - L.mean[p + k]) * L.inv_scale[p + k];
    }
    if (L.intercept) dst[L.q_dense_feat] = 1.0;
  }
}

// Level positions (internal coordinates, -1 = none) of rows [lo, hi) for every categorical
// feature: lev[r * n_cat + c].
template <class T>
void fill_levels(const MatrixView<const T>& X, Index lo, Index hi, const detail::CategoryLookup& C,
                 std::int32_t* lev) {
  const Index cs = X.col_stride();
  const Index n_cat = static_cast<Index>(C.column.size());
  for (Index r = 0; r < hi - lo; ++r) {
    const T* row = X.row_ptr(lo + r);
    for (Index c = 0; c < n_cat; ++c) {
      lev[r * n_cat + c] = C.index(c, static_cast<double>(row[C.column[c] * cs]));
    }
  }
}

using calibrisk::softplus;

// ---------------------------------------------------------------------------------------------
// H += A A^T (lower triangle), the IRLS Hessian update, for A = q_pad x m (column i = one scaled
// row, contiguous) and H = q_pad x q_pad column-major, q_pad a multiple of 8.
//
// The library is compiled for the baseline ISA (no -march), where Eigen's rank update runs at
// SSE2 speed. On CPUs with AVX2+FMA (checked once at run time) an outer-product micro-kernel does
// the same sums 3-4x faster: each 8x4 tile of H keeps 8 accumulators in registers while it
// streams over the m rows (2 loads + 4 broadcasts feed 8 FMAs). Every entry of H is still summed
// over the rows in a fixed order, so results stay independent of the thread count.
#if defined(CALIBRISK_HAVE_AVX2_KERNEL)
__attribute__((target("avx2,fma"))) void syrk_lower_avx2(const double* A, Index q_pad, Index m,
                                                         double* H) {
  for (Index c0 = 0; c0 < q_pad; c0 += 4) {
    for (Index r0 = (c0 / 8) * 8; r0 < q_pad; r0 += 8) {
      double* h0 = H + (c0 + 0) * q_pad + r0;
      double* h1 = H + (c0 + 1) * q_pad + r0;
      double* h2 = H + (c0 + 2) * q_pad + r0;
      double* h3 = H + (c0 + 3) * q_pad + r0;
      __m256d a0l = _mm256_loadu_pd(h0), a0h = _mm256_loadu_pd(h0 + 4);
      __m256d a1l = _mm256_loadu_pd(h1), a1h = _mm256_loadu_pd(h1 + 4);
      __m256d a2l = _mm256_loadu_pd(h2), a2h = _mm256_loadu_pd(h2 + 4);
      __m256d a3l = _mm256_loadu_pd(h3), a3h = _mm256_loadu_pd(h3 + 4);
      const double* col = A;
      for (Index i = 0; i < m; ++i, col += q_pad) {
        const __m256d lo = _mm256_loadu_pd(col + r0);
        const __m256d hi = _mm256_loadu_pd(col + r0 + 4);
        const __m256d b0 = _mm256_broadcast_sd(col + c0);
        const __m256d b1 = _mm256_broadcast_sd(col + c0 + 1);
        const __m256d b2 = _mm256_broadcast_sd(col + c0 + 2);
        const __m256d b3 = _mm256_broadcast_sd(col + c0 + 3);
        a0l = _mm256_fmadd_pd(lo, b0, a0l);
        a0h = _mm256_fmadd_pd(hi, b0, a0h);
        a1l = _mm256_fmadd_pd(lo, b1, a1l);
        a1h = _mm256_fmadd_pd(hi, b1, a1h);
        a2l = _mm256_fmadd_pd(lo, b2, a2l);
        a2h = _mm256_fmadd_pd(hi, b2, a2h);
        a3l = _mm256_fmadd_pd(lo, b3, a3l);
        a3h = _mm256_fmadd_pd(hi, b3, a3h);
      }
      _mm256_storeu_pd(h0, a0l);
      _mm256_storeu_pd(h0 + 4, a0h);
      _mm256_storeu_pd(h1, a1l);
      _mm256_storeu_pd(h1 + 4, a1h);
      _mm256_storeu_pd(h2, a2l);
      _mm256_storeu_pd(h2 + 4, a2h);
      _mm256_storeu_pd(h3, a3l);
      _mm256_storeu_pd(h3 + 4, a3h);
    }
  }
}

bool cpu_has_avx2_fma() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return has;
}
#endif

// H (q_pad x q_pad) += A A^T on its lower triangle, A = q_pad x m.
void syrk_lower(const Eigen::MatrixXd& A, Index m, Eigen::MatrixXd& H) {
#if defined(CALIBRISK_HAVE_AVX2_KERNEL)
  if (cpu_has_avx2_fma()) {
    syrk_lower_avx2(A.data(), A.rows(), m, H.data());
    return;
  }
#endif
  H.selfadjointView<Eigen::Lower>().rankUpdate(A.leftCols(m));
}

// Fixed chunking of the rows: depends on n and q only (never on the thread count), so per-chunk
// partial sums reduced in chunk order are bit-identical for any number of threads.
struct Chunking {
  Index n_chunks = 1;
  Index rows_per_chunk = 1;
};

Chunking make_chunking(Index n, Index q) {
  // At most 64 chunks, each at least 4096 rows, and the per-chunk Hessians within ~64 MB.
  const Index by_rows = std::max<Index>(1, (n + 4095) / 4096);
  const Index by_memory = std::max<Index>(1, Index(8) * 1024 * 1024 / std::max<Index>(1, q * q));
  Chunking c;
  c.n_chunks = std::min<Index>({by_rows, by_memory, 64});
  c.rows_per_chunk = (n + c.n_chunks - 1) / c.n_chunks;
  c.n_chunks = (n + c.rows_per_chunk - 1) / c.rows_per_chunk;
  return c;
}

// Evaluates the data term of the objective (and optionally its gradient and Hessian) at theta in
// internal coordinates. Weights w (size n), labels y.
class Evaluator {
 public:
  // `hessian`: whether Hessians will be requested (their per-chunk copies bound the chunk count).
  Evaluator(const FeatureMatrix& X, VectorView<const double> y, const Eigen::VectorXd& w,
            const Layout& L, int n_threads, bool hessian)
      : X_(X),
        y_(y),
        w_(w),
        L_(L),
        n_threads_(n_threads),
        ch_(make_chunking(X.rows(), hessian ? L.q : 1)) {
    f_.resize(ch_.n_chunks);
    w_all_.resize(ch_.n_chunks);
    w_sub_.resize(ch_.n_chunks);
    g_.assign(ch_.n_chunks, Eigen::VectorXd());
    H_.assign(ch_.n_chunks, Eigen::MatrixXd());
    if (categorical()) {
      Hc_.assign(ch_.n_chunks, Eigen::MatrixXd());
      Hk_.assign(ch_.n_chunks, Eigen::MatrixXd());
    }
  }

  // Hessians from every `stride`-th 256-row sub-block of each chunk only, scaled by the ratio of
  // the total weight to the sampled weight (a subsampled Newton matrix; 1 = exact). The sampled
  // rows depend on n and p only, never on the thread count.
  void set_hessian_stride(Index stride) { stride_ = std::max<Index>(1, stride); }
  Index hessian_stride() const { return stride_; }

  // Returns the data term; fills g (q) when with_gradient and the full symmetric H (q x q) when
  // also with_hessian.
  double operator()(const Eigen::VectorXd& theta, bool with_gradient, bool with_hessian,
                    Eigen::VectorXd* g, Eigen::MatrixXd* H) {
    const bool with_derivatives = with_gradient || with_hessian;
    const Index q = L_.q;
    // The dense block: the dense columns, then the intercept (the last internal coordinate).
    // Without categorical levels it is the whole problem (qd == q).
    const Index qd = L_.q_dense_feat + (L_.intercept ? 1 : 0);
    const Index q_pad = (qd + 7) / 8 * 8;
    const Index n_lev = L_.q_feat - L_.q_dense_feat;
    const bool cat = categorical();
    const Index n_cat = cat ? static_cast<Index>(L_.cat->column.size()) : 0;
    Eigen::VectorXd theta_d;
    if (cat) {
      theta_d.resize(qd);
      theta_d.head(L_.q_dense_feat) = theta.head(L_.q_dense_feat);
      if (L_.intercept) theta_d[L_.q_dense_feat] = theta[q - 1];
    }
    const Eigen::VectorXd& th = cat ? theta_d : theta;
    const Index n = X_.rows();
    detail::parallel_for(0, ch_.n_chunks, n_threads_, [&](Index c) {
      const Index lo = c * ch_.rows_per_chunk;
      const Index hi = std::min(n, lo + ch_.rows_per_chunk);
      // Rows padded to a multiple of 8 for the Hessian kernel; the pad rows stay zero.
      Eigen::MatrixXd B = Eigen::MatrixXd::Zero(q_pad, kSubBlock);
      Eigen::VectorXd z(kSubBlock), r(kSubBlock);
      std::vector<std::int32_t> lev(static_cast<std::size_t>(cat ? kSubBlock * n_cat : 0));
      double f = 0.0, w_all = 0.0, w_sub = 0.0;
      Index sub = 0;  // sub-block counter within the chunk
      if (with_derivatives) {
        g_[c].setZero(cat ? q : qd);
        if (with_hessian) {
          H_[c].setZero(q_pad, q_pad);
          if (cat) {
            Hc_[c].setZero(q_pad, n_lev);  // column k: level k against the dense columns
            Hk_[c].setZero(n_lev, n_lev);  // level x level (both triangles)
          }
        }
      }
      for (Index s = lo; s < hi; s += kSubBlock) {
        const Index e = std::min(hi, s + kSubBlock);
        const Index m = e - s;
        X_.visit([&](const auto& Xv) { fill_block(Xv, s, e, L_, B); });
        auto Bm = B.topLeftCorner(qd, m);
        z.head(m).noalias() = Bm.transpose() * th;
        if (cat) {
          X_.visit([&](const auto& Xv) { fill_levels(Xv, s, e, *L_.cat, lev.data()); });
          for (Index i = 0; i < m; ++i) {
            for (Index k = 0; k < n_cat; ++k) {
              const std::int32_t t = lev[i * n_cat + k];
              if (t >= 0) z[i] += theta[t];
            }
          }
        }
        for (Index i = 0; i < m; ++i) {
          const double zi = z[i];
          const double wi = w_[s + i];
          const bool pos = y_[s + i] == 1.0;
          f += wi * softplus(pos ? -zi : zi);
          if (with_derivatives) {
            const double pi = LogisticRegression::sigmoid(zi);
            r[i] = wi * (pi - (pos ? 1.0 : 0.0));
            // sqrt of the IRLS weight w p (1 - p); B's column is scaled by it for the rank update.
            z[i] = std::sqrt(wi * pi * (1.0 - pi));
          }
        }
        if (with_derivatives) {
          if (cat) {
            g_[c].head(qd).noalias() += Bm * r.head(m);
            for (Index i = 0; i < m; ++i) {
              for (Index k = 0; k < n_cat; ++k) {
                const std::int32_t t = lev[i * n_cat + k];
                if (t >= 0) g_[c][t - L_.q_dense_feat + qd] += r[i];
              }
            }
          } else {
            g_[c].noalias() += Bm * r.head(m);
          }
          const bool sampled = with_hessian && (sub++ % stride_ == 0);
          if (with_hessian) {
            for (Index i = 0; i < m; ++i) w_all += w_[s + i];
          }
          if (sampled) {
            for (Index i = 0; i < m; ++i) w_sub += w_[s + i];
            for (Index i = 0; i < m; ++i) B.col(i) *= z[i];
            syrk_lower(B, m, H_[c]);
            if (cat) add_level_hessian(B, z, lev.data(), m, n_cat, Hc_[c], Hk_[c]);
          }
        }
      }
      f_[c] = f;
      w_all_[c] = w_all;
      w_sub_[c] = w_sub;
    });
    double f = 0.0;
    for (Index c = 0; c < ch_.n_chunks; ++c) f += f_[c];
    if (!with_derivatives) return f;
    if (!cat) {
      g->setZero(q);
      for (Index c = 0; c < ch_.n_chunks; ++c) *g += g_[c];
      if (with_hessian) {
        H->setZero(q, q);
        for (Index c = 0; c < ch_.n_chunks; ++c) {
          H->triangularView<Eigen::Lower>() += H_[c].topLeftCorner(q, q);
        }
        *H = H->selfadjointView<Eigen::Lower>();
        scale_subsampled(*H);
      }
      return f;
    }
    f = reduce_categorical(f, with_hessian, g, H);
    if (with_hessian) scale_subsampled(*H);
    return f;
  }

 private:
  // Categorical: chunk sums in chunk order (g_ is laid out [dense block, levels]), mapped to the
  // internal order [dense columns, levels, intercept]; the Hessian from its dense, cross and
  // level blocks. Returns f.
  double reduce_categorical(double f, bool with_hessian, Eigen::VectorXd* g, Eigen::MatrixXd* H) {
    const Index q = L_.q;
    const Index qd = L_.q_dense_feat + (L_.intercept ? 1 : 0);
    const Index n_lev = L_.q_feat - L_.q_dense_feat;
    Eigen::VectorXd gs = Eigen::VectorXd::Zero(q);
    for (Index c = 0; c < ch_.n_chunks; ++c) gs += g_[c];
    g->resize(q);
    const Index qdf = L_.q_dense_feat;
    g->head(qdf) = gs.head(qdf);
    g->segment(qdf, n_lev) = gs.segment(qd, n_lev);
    if (L_.intercept) (*g)[q - 1] = gs[qdf];
    if (with_hessian) {
      Eigen::MatrixXd Hd = Eigen::MatrixXd::Zero(qd, qd);
      Eigen::MatrixXd Hc = Eigen::MatrixXd::Zero(qd, n_lev);
      Eigen::MatrixXd Hk = Eigen::MatrixXd::Zero(n_lev, n_lev);
      for (Index c = 0; c < ch_.n_chunks; ++c) {
        Hd.triangularView<Eigen::Lower>() += H_[c].topLeftCorner(qd, qd);
        Hc += Hc_[c].topRows(qd);
        Hk += Hk_[c];
      }
      Hd = Hd.selfadjointView<Eigen::Lower>();
      // Position of dense-block row a in the internal order.
      auto pos = [&](Index a) { return a < qdf ? a : q - 1; };
      H->setZero(q, q);
      for (Index b = 0; b < qd; ++b) {
        for (Index a = 0; a < qd; ++a) (*H)(pos(a), pos(b)) = Hd(a, b);
      }
      for (Index k = 0; k < n_lev; ++k) {
        for (Index a = 0; a < qd; ++a) {
          (*H)(pos(a), qdf + k) = Hc(a, k);
          (*H)(qdf + k, pos(a)) = Hc(a, k);
        }
      }
      H->block(qdf, qdf, n_lev, n_lev) = Hk;
    }
    return f;
  }

  bool categorical() const { return L_.cat != nullptr && !L_.cat->column.empty(); }

  // A subsampled Hessian times total weight / sampled weight (summed in chunk order).
  void scale_subsampled(Eigen::MatrixXd& H) const {
    if (stride_ == 1) return;
    double all = 0.0, sub = 0.0;
    for (Index c = 0; c < ch_.n_chunks; ++c) all += w_all_[c], sub += w_sub_[c];
    if (sub > 0.0) H *= all / sub;
  }

  // The level parts of the Hessian for m rows: B's columns are already scaled by s_i (the square
  // root of the IRLS weight, in z), so s_i * B.col(i) = s_i^2 x_i is row i's cross term with its
  // levels and s_i^2 its level-level term. Each row has at most n_cat levels: O(m n_cat (qd +
  // n_cat)) work, never O(m levels).
  void add_level_hessian(const Eigen::MatrixXd& B, const Eigen::VectorXd& s,
                         const std::int32_t* lev, Index m, Index n_cat, Eigen::MatrixXd& Hc,
                         Eigen::MatrixXd& Hk) const {
    const Index base = L_.q_dense_feat;
    for (Index i = 0; i < m; ++i) {
      const double si = s[i];
      const double s2 = si * si;
      const std::int32_t* li = lev + i * n_cat;
      for (Index a = 0; a < n_cat; ++a) {
        if (li[a] < 0) continue;
        const Index ka = li[a] - base;
        Hc.col(ka) += si * B.col(i);
        for (Index b = 0; b < n_cat; ++b) {
          if (li[b] >= 0) Hk(li[b] - base, ka) += s2;
        }
      }
    }
  }

  const FeatureMatrix& X_;
  VectorView<const double> y_;
  const Eigen::VectorXd& w_;
  const Layout& L_;
  int n_threads_;
  Chunking ch_;
  std::vector<double> f_, w_all_, w_sub_;
  Index stride_ = 1;
  std::vector<Eigen::VectorXd> g_;
  std::vector<Eigen::MatrixXd> H_;
  std::vector<Eigen::MatrixXd> Hc_, Hk_;  // categorical: level x dense, level x level
};

// ---------------------------------------------------------------------------------------------
// Solvers. Both minimise objective(theta, mode, &g, &H) (mode 0: f; 1: f and g; 2: f, g and H)
// from theta0 and stop when grad_max(g) <= tol.

struct SolverResult {
  Eigen::VectorXd theta, g;
  Eigen::MatrixXd H;  // Newton: the Hessian at theta (for the Wald statistics); L-BFGS: empty
  double f = std::numeric_limits<double>::infinity();
  double gmax = std::numeric_limits<double>::infinity();
  int n_iter = 0;  // Newton iterations; L-BFGS objective-and-gradient evaluations
  bool converged = false;
};

// Damped Newton with Armijo backtracking and a lazily rebuilt Hessian (see docs/linear.md).
template <class Objective, class GradMax>
SolverResult minimize_newton(Objective& objective, const GradMax& grad_max,
                             const Eigen::VectorXd& theta0, double tol, int max_iter,
                             FitInfo& info) {
  const Index q = theta0.size();
  Eigen::VectorXd theta = theta0, g(q), g_new(q), d(q), theta_new(q);
  Eigen::MatrixXd H(q, q), H_new(q, q);
  double f = objective(theta, 2, &g, &H);
  double gmax = grad_max(g);
  int it = 0;
  bool converged = gmax <= tol;
  Eigen::LDLT<Eigen::MatrixXd> ldlt;
  // Lazy Hessian: building H costs O(n p^2) against O(n p) for the gradient, so once Newton is in
  // its fast local phase (a full step cut the gradient at least 10-fold) the factorised Hessian
  // is reused (a chord step, converging linearly at a rate that shrinks with the step) until a
  // step is less effective; H is then rebuilt. H is always recomputed at the final point for the
  // Wald statistics. The choice depends only on the data, never on the thread count.
  bool h_current = true;    // H was evaluated at theta
  bool factorised = false;  // ldlt holds a factorisation of H
  bool reuse_next = false;  // skip the Hessian at the next accepted point
  while (!converged && it < max_iter) {
    if (!factorised) {
      // Newton direction; if H is not numerically positive definite (C = inf on
      // (quasi-)separable or collinear data) add a growing ridge (Levenberg-Marquardt damping).
      ldlt.compute(H);
      double ridge = 0.0;
      const double diag_scale = std::max(1e-300, H.diagonal().cwiseAbs().maxCoeff());
      while (ldlt.info() != Eigen::Success || !ldlt.isPositive() ||
             (ldlt.vectorD().minCoeff() <= 1e-14 * diag_scale)) {
        ridge = ridge == 0.0 ? 1e-10 * diag_scale : ridge * 10.0;
        if (ridge > diag_scale * 1e6) break;
        Eigen::MatrixXd Hr = H;
        Hr.diagonal().array() += ridge;
        ldlt.compute(Hr);
      }
      factorised = true;
    }
    d = ldlt.solve(-g);
    const double dec = g.dot(d);
    if (!(dec < 0.0) || !d.allFinite()) {
      if (!h_current) {  // a stale Hessian: rebuild it at theta and retry
        f = objective(theta, 2, &g, &H);
        h_current = true;
        factorised = false;
        reuse_next = false;
        continue;
      }
      info.notes.push_back(
          "Newton direction is not a descent direction (Hessian ill-conditioned); "
          "stopped at iteration " +
          std::to_string(it));
      break;
    }
    // Armijo backtracking. When the predicted decrease is below the resolution of f, accept the
    // full Newton step (near the optimum f cannot discriminate but the gradient still improves).
    const int mode = reuse_next ? 1 : 2;
    double t = 1.0;
    bool accepted = false;
    double f_new = 0.0;
    const bool tiny = -dec <= 64.0 * std::numeric_limits<double>::epsilon() * std::abs(f);
    for (int ls = 0; ls < 60; ++ls) {
      theta_new = theta + t * d;
      f_new = objective(theta_new, t == 1.0 ? mode : 0, &g_new, &H_new);
      if (std::isfinite(f_new) && (f_new <= f + 1e-4 * t * dec || (t == 1.0 && tiny))) {
        accepted = true;
        break;
      }
      t *= 0.5;
    }
    ++it;
    if (!accepted) {
      if (!h_current) {  // retry from theta with a fresh Hessian before giving up
        f = objective(theta, 2, &g, &H);
        h_current = true;
        factorised = false;
        reuse_next = false;
        continue;
      }
      info.notes.push_back("line search failed to decrease the objective at iteration " +
                           std::to_string(it) + " (numerical precision reached)");
      break;
    }
    if (t != 1.0) f_new = objective(theta_new, 2, &g_new, &H_new);
    const bool new_h = (t != 1.0) || mode == 2;
    theta.swap(theta_new);
    g.swap(g_new);
    if (new_h) {
      H.swap(H_new);
      factorised = false;
    }
    h_current = new_h;
    f = f_new;
    const double gmax_old = gmax;
    gmax = grad_max(g);
    converged = gmax <= tol;
    reuse_next = t == 1.0 && gmax <= 0.1 * gmax_old;
  }
  // The exact Hessian at the solution, for the Wald statistics (the iterations may have used a
  // subsampled one).
  if (!h_current || objective.subsampled()) {
    objective.exact_hessian();
    objective(theta, 2, &g_new, &H);
  }

  SolverResult r;
  r.theta = std::move(theta);
  r.g = std::move(g);
  r.H = std::move(H);
  r.f = f;
  r.gmax = gmax;
  r.n_iter = it;
  r.converged = converged;
  return r;
}

// Minimises objective(theta, 1, &g, nullptr) (value and gradient) by L-BFGS from theta0. Stops
// at the first evaluated point with grad_max(g) <= tol (the Newton solver's rule), after
// `max_evals` evaluations or when the line search can make no more progress (a note); returns
// that point, else the best one evaluated. Deterministic: the evaluations are.
template <class Objective, class GradMax>
SolverResult minimize_lbfgs(Objective& objective, const GradMax& grad_max,
                            const Eigen::VectorXd& theta0, double tol, int max_evals,
                            FitInfo& info) {
  struct Stop {};
  SolverResult best;
  best.theta = theta0;
  Eigen::VectorXd gg(theta0.size());
  auto fun = [&](const Eigen::VectorXd& th, Eigen::VectorXd& grad) {
    const double fv = objective(th, 1, &gg, nullptr);
    grad = gg;
    ++best.n_iter;
    const double gm = grad_max(gg);
    const bool done = std::isfinite(fv) && gm <= tol;
    if (done || (std::isfinite(fv) && fv < best.f)) {
      best.theta = th;
      best.g = gg;
      best.f = fv;
      best.gmax = gm;
    }
    if (done) best.converged = true;
    if (done || best.n_iter >= max_evals) throw Stop{};
    return fv;
  };
  LBFGSpp::LBFGSParam<double> param;
  param.m = 10;
  param.epsilon = 0.0;  // stopping is decided by `fun` (grad_max <= tol)
  param.epsilon_rel = 0.0;
  param.max_iterations = 0;
  param.max_linesearch = 64;
  param.linesearch = LBFGSpp::LBFGS_LINESEARCH_BACKTRACKING_STRONG_WOLFE;
  LBFGSpp::LBFGSSolver<double, LBFGSpp::LineSearchNocedalWright> solver(param);
  Eigen::VectorXd x = theta0;
  double fx = 0.0;
  try {
    solver.minimize(fun, x, fx);
  } catch (const Stop&) {
  } catch (const std::exception& e) {
    // The line search found no better point: numerical precision reached before tol.
    info.notes.push_back(std::string("L-BFGS stopped: ") + e.what());
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// Categorical expansion: validates the codes and chooses, per categorical feature, the reference
// level (the most frequent: the contrasts against it have the smallest standard errors, and it
// is usually the clinical baseline, e.g. "admitted from home"), the kept levels (at least
// min_category_count rows) and the pooled ones. Counts are rows with positive weight.
struct CategoryExpansion {
  LogisticRegressionState s;       // only the category_* fields and categorical_features
  std::vector<Index> level_count;  // rows (weight > 0) of each level coefficient
};

template <class T>
void check_codes(const MatrixView<const T>& X, Index j, const std::string& where) {
  for (Index i = 0; i < X.rows(); ++i) {
    const double v = static_cast<double>(X(i, j));
    if (v != v) continue;
    if (!(v >= 0.0 && v == std::floor(v))) {
      throw InvalidInput(where + ": categorical feature " + std::to_string(j) + " has X[" +
                         std::to_string(i) + ", " + std::to_string(j) + "] = " + num(v) +
                         "; category codes must be integers >= 0 (NaN = missing). Encode the "
                         "labels as codes 0..K-1, or drop the column from categorical_features.");
    }
    if (v >= static_cast<double>(kMaxCategoryLevels)) {
      throw InvalidInput(where + ": categorical feature " + std::to_string(j) + " has X[" +
                         std::to_string(i) + ", " + std::to_string(j) + "] = " + num(v) +
                         "; codes must be below " + std::to_string(kMaxCategoryLevels) +
                         " (at most one million levels per column). Group the levels (e.g. by "
                         "code prefix) or treat the column as numeric.");
    }
  }
}

CategoryExpansion expand_categories(const FeatureMatrix& X, const Eigen::VectorXd& sw,
                                    const LogisticRegressionParams& params,
                                    const std::string& where, FitInfo& info) {
  CategoryExpansion e;
  LogisticRegressionState& s = e.s;
  const Index n = X.rows(), p = X.cols();
  std::vector<Index> cols(params.categorical_features.begin(), params.categorical_features.end());
  for (Index j : cols) {
    if (j >= p) {
      throw InvalidInput(where + ": categorical_features lists column " + std::to_string(j) +
                         " but X has " + std::to_string(p) +
                         " columns; pass 0-based indices of existing columns.");
    }
  }
  std::sort(cols.begin(), cols.end());
  if (cols.empty()) return e;  // no categorical feature: the category_* fields stay empty
  s.categorical_features = cols;
  s.category_level_offsets.push_back(0);
  s.category_pooled_offsets.push_back(0);
  const auto min_count = static_cast<Index>(params.min_category_count);
  for (Index j : cols) {
    X.visit([&](const auto& Xv) { check_codes(Xv, j, where); });
    std::vector<Index> count;
    Index n_missing = 0;
    X.visit([&](const auto& Xv) {
      for (Index i = 0; i < n; ++i) {
        if (!(sw[i] > 0.0)) continue;
        const double v = static_cast<double>(Xv(i, j));
        if (v != v) {
          ++n_missing;
          continue;
        }
        const auto k = static_cast<std::size_t>(v);
        if (k >= count.size()) count.resize(k + 1, 0);
        ++count[k];
      }
    });
    std::int64_t ref = -1;
    for (std::size_t k = 0; k < count.size(); ++k) {
      if (count[k] > 0 && (ref < 0 || count[k] > count[static_cast<std::size_t>(ref)])) {
        ref = static_cast<std::int64_t>(k);
      }
    }
    s.category_reference.push_back(ref);
    Index pooled_rows = 0;
    for (std::size_t k = 0; k < count.size(); ++k) {
      if (count[k] == 0 || static_cast<std::int64_t>(k) == ref) continue;
      if (count[k] >= min_count) {
        s.category_levels.push_back(static_cast<std::int64_t>(k));
        e.level_count.push_back(count[k]);
      } else {
        s.category_pooled.push_back(static_cast<std::int64_t>(k));
        pooled_rows += count[k];
      }
    }
    s.category_level_offsets.push_back(static_cast<Index>(s.category_levels.size()));
    s.category_pooled_offsets.push_back(static_cast<Index>(s.category_pooled.size()));
    if (pooled_rows > 0) e.level_count.push_back(pooled_rows);
    s.category_missing.push_back(n_missing > 0 ? 1 : 0);
    if (n_missing > 0) e.level_count.push_back(n_missing);
    if (ref < 0) {
      info.notes.push_back("categorical feature " + std::to_string(j) +
                           " has no observed code (every value is missing); it has no levels");
    }
  }
  return e;
}

// Weighted column statistics over the observed values (fixed chunks, ordered reduction).
struct ColumnStats {
  std::vector<double> sum_w;     // total weight of observed values, per input column
  std::vector<double> mean;      // weighted mean of observed values
  std::vector<double> var;       // weighted variance of the imputed column
  std::vector<double> miss_w;    // weight of rows where the value is missing
  std::vector<Index> n_missing;  // count of missing values
  std::vector<double> min, max;  // of observed values
};

ColumnStats column_stats(const FeatureMatrix& X, const Eigen::VectorXd& sw, int n_threads) {
  const Index n = X.rows(), p = X.cols();
  const Chunking ch = make_chunking(n, 1);
  const Index nc = ch.n_chunks;
  // Pass 1: weighted sums, missing counts, ranges.
  std::vector<double> s_w(nc * p, 0.0), s_x(nc * p, 0.0), s_mw(nc * p, 0.0);
  std::vector<Index> s_m(nc * p, 0);
  std::vector<double> s_min(nc * p, std::numeric_limits<double>::infinity());
  std::vector<double> s_max(nc * p, -std::numeric_limits<double>::infinity());
  detail::parallel_for(0, nc, n_threads, [&](Index c) {
    const Index lo = c * ch.rows_per_chunk, hi = std::min(n, lo + ch.rows_per_chunk);
    X.visit([&](const auto& Xv) {
      for (Index i = lo; i < hi; ++i) {
        const double wi = sw[i];
        for (Index j = 0; j < p; ++j) {
          const double v = static_cast<double>(Xv(i, j));
          const Index k = c * p + j;
          if (v != v) {
            s_mw[k] += wi;
            ++s_m[k];
          } else {
            s_w[k] += wi;
            s_x[k] += wi * v;
            s_min[k] = std::min(s_min[k], v);
            s_max[k] = std::max(s_max[k], v);
          }
        }
      }
    });
  });
  ColumnStats st;
  st.sum_w.assign(p, 0.0);
  st.mean.assign(p, 0.0);
  st.var.assign(p, 0.0);
  st.miss_w.assign(p, 0.0);
  st.n_missing.assign(p, 0);
  st.min.assign(p, std::numeric_limits<double>::infinity());
  st.max.assign(p, -std::numeric_limits<double>::infinity());
  std::vector<double> sx(p, 0.0);
  for (Index c = 0; c < nc; ++c) {
    for (Index j = 0; j < p; ++j) {
      const Index k = c * p + j;
      st.sum_w[j] += s_w[k];
      sx[j] += s_x[k];
      st.miss_w[j] += s_mw[k];
      st.n_missing[j] += s_m[k];
      st.min[j] = std::min(st.min[j], s_min[k]);
      st.max[j] = std::max(st.max[j], s_max[k]);
    }
  }
  for (Index j = 0; j < p; ++j) st.mean[j] = st.sum_w[j] > 0.0 ? sx[j] / st.sum_w[j] : 0.0;
  // Pass 2: centred second moments (two passes for accuracy on large offsets).
  std::vector<double> s_v(nc * p, 0.0);
  detail::parallel_for(0, nc, n_threads, [&](Index c) {
    const Index lo = c * ch.rows_per_chunk, hi = std::min(n, lo + ch.rows_per_chunk);
    X.visit([&](const auto& Xv) {
      for (Index i = lo; i < hi; ++i) {
        const double wi = sw[i];
        for (Index j = 0; j < p; ++j) {
          const double v = static_cast<double>(Xv(i, j));
          if (v == v) {
            const double d = v - st.mean[j];
            s_v[c * p + j] += wi * d * d;
          }
        }
      }
    });
  });
  for (Index j = 0; j < p; ++j) {
    double v = 0.0;
    for (Index c = 0; c < nc; ++c) v += s_v[c * p + j];
    const double total = st.sum_w[j] + st.miss_w[j];
    st.var[j] = total > 0.0 ? v / total : 0.0;  // imputed values add nothing around the mean
  }
  return st;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

void LogisticRegressionParams::validate() const {
  validate_params(*this);
  std::vector<int> cols = categorical_features;
  std::sort(cols.begin(), cols.end());
  for (std::size_t k = 1; k < cols.size(); ++k) {
    if (cols[k] == cols[k - 1]) {
      throw InvalidParams("LogisticRegressionParams.categorical_features lists column " +
                          std::to_string(cols[k]) + " twice; list each column once.");
    }
  }
}

namespace {

// The problem layout from the column statistics: imputation values, indicator columns, centring
// and scaling, constant columns held at 0 (with a note each).
Layout make_layout(const ColumnStats& st, const CategoryExpansion& ce,
                   const LogisticRegressionParams& params, Index n, Index p, double total_sw,
                   Index n_pos_rows, FitInfo& info) {
  Layout L;
  L.p = p;
  L.intercept = params.fit_intercept;
  L.impute = st.mean;
  std::vector<char> is_cat(static_cast<std::size_t>(p), 0);
  for (Index j : ce.s.categorical_features) is_cat[j] = 1, L.impute[j] = 0.0;
  for (Index j = 0; j < p; ++j) {
    if (is_cat[j]) continue;  // expanded into levels below; its own column is held at 0
    if (st.sum_w[j] == 0.0) {
      info.notes.push_back(
          "feature " + std::to_string(j) +
          " has no observed (non-NaN, positive-weight) value; it is imputed with 0");
    }
    if (params.missing == MissingStrategy::kMeanWithIndicator && st.n_missing[j] > 0) {
      L.indicators.push_back(j);
    }
  }
  const Index n_ind = static_cast<Index>(L.indicators.size());
  const auto n_lev = static_cast<Index>(ce.level_count.size());
  L.q_dense_feat = p + n_ind;
  L.q_feat = L.q_dense_feat + n_lev;
  L.q = L.q_feat + (L.intercept ? 1 : 0);
  L.mean.assign(L.q_feat, 0.0);
  L.inv_scale.assign(L.q_feat, 1.0);
  L.fixed.assign(L.q_feat, 0);
  for (Index j = 0; j < p; ++j) {
    if (is_cat[j]) L.fixed[j] = 1, L.inv_scale[j] = 0.0;
  }
  // Level indicators: raw 0/1 (mean 0, scale 1), so the dense block never holds them. One that is
  // 1 on every weighted row (a feature that is always missing) is collinear with the intercept.
  for (Index k = 0; k < n_lev; ++k) {
    if (L.intercept && ce.level_count[k] == n_pos_rows) {
      L.fixed[L.q_dense_feat + k] = 1;
      L.inv_scale[L.q_dense_feat + k] = 0.0;
    }
  }
  for (Index j = 0; j < L.q_dense_feat; ++j) {
    if (j < p && is_cat[j]) continue;
    double mu, var;
    bool constant;
    if (j < p) {
      mu = st.mean[j];
      var = st.var[j];
      // Observed range collapsed (or nothing observed): imputed with the same value, the column
      // is constant.
      constant = !(st.max[j] > st.min[j]);
    } else {
      const Index src = L.indicators[j - p];
      mu = total_sw > 0.0 ? st.miss_w[src] / total_sw : 0.0;
      var = mu * (1.0 - mu);
      constant = st.n_missing[src] == n;
    }
    // A constant column is collinear with the intercept: with an (unpenalised) intercept its
    // optimal coefficient is exactly 0 under any C, so it is held there (C = inf would otherwise
    // make the Hessian singular).
    if (constant && L.intercept) {
      L.fixed[j] = 1;
      L.inv_scale[j] = 0.0;
      L.mean[j] = mu;
      info.notes.push_back(
          (j < p ? "feature " + std::to_string(j)
                 : "missing indicator of feature " + std::to_string(L.indicators[j - p])) +
          " is constant; its coefficient is 0");
      continue;
    }
    if (params.standardize) {
      if (L.intercept) L.mean[j] = mu;
      const double scale = std::sqrt(var + (L.intercept ? 0.0 : mu * mu));
      L.inv_scale[j] = scale > 0.0 && std::isfinite(1.0 / scale) ? 1.0 / scale : 1.0;
    }
  }
  return L;
}

// Sub-block stride of the subsampled Newton matrix: about max(16384, 64 q) sampled rows (the
// relative error of a subsampled Hessian falls as sqrt(q / rows)), exact below 4x that many rows
// or when disabled.
Index hessian_stride(Index n, Index q, bool enabled) {
  const Index target = std::max<Index>(16384, 64 * q);
  if (!enabled || n < 4 * target) return 1;
  return std::max<Index>(1, n / target);
}

// The multiplier of each model column's raw penalty (q_feat values): 1 under penalty_scale = raw;
// under standardized the weighted variance of the (imputed) input or of the missing indicator
// (m (1 - m)), 1 for a constant column and for the categorical levels (logistic.hpp).
std::vector<double> penalty_factors(const Layout& L, const ColumnStats& st, double total_sw,
                                    PenaltyScale scale) {
  std::vector<double> factor(static_cast<std::size_t>(L.q_feat), 1.0);
  if (scale == PenaltyScale::kRaw) return factor;
  for (Index j = 0; j < L.q_dense_feat; ++j) {
    if (L.fixed[j]) continue;  // held at 0 (categorical placeholder or constant)
    if (j < L.p) {
      factor[j] = detail::variance_penalty_factor(st.var[j], !(st.max[j] > st.min[j]));
    } else {
      const Index src = L.indicators[j - L.p];
      const double m = total_sw > 0.0 ? st.miss_w[src] / total_sw : 0.0;
      factor[j] = detail::variance_penalty_factor(m * (1.0 - m), false);
    }
  }
  return factor;
}

// Penalty per internal coordinate: lambda_j = factor_j inv_scale_j^2 / C (all 0 when C = inf).
Eigen::VectorXd penalty_weights(const Layout& L, double C, const std::vector<double>& factor) {
  Eigen::VectorXd lambda = Eigen::VectorXd::Zero(L.q);
  if (std::isfinite(C)) {
    for (Index j = 0; j < L.q_feat; ++j) {
      lambda[j] = factor[j] * L.inv_scale[j] * L.inv_scale[j] / C;
    }
  }
  return lambda;
}

// The stopping rule's max |gradient| / sum(w), in raw coordinates:
// d/dbeta_j = s'_j g_s_j + mean_j g_s_b.
struct RawGradMax {
  const Layout& L;
  double sum_w;

  double operator()(const Eigen::VectorXd& g) const {
    double m = 0.0;
    const double gb = L.intercept ? g[L.q_feat] : 0.0;
    if (L.intercept) m = std::abs(gb);
    for (Index j = 0; j < L.q_feat; ++j) {
      if (L.fixed[j]) continue;
      // theta_s_j = beta_j / s'_j, b_s = b + sum beta_j mean_j  =>  chain rule below.
      m = std::max(m, std::abs(g[j] / L.inv_scale[j] + L.mean[j] * gb));
    }
    return m / sum_w;
  }
};

// The penalised objective the solvers minimise; mode 0: f only; 1: f and g; 2: f, g and H.
// Coordinates of constant columns are held at 0 (zero gradient, unit Hessian row).
struct PenalizedObjective {
  Evaluator& eval;
  const Eigen::VectorXd& lambda;
  const Layout& L;

  bool subsampled() const { return eval.hessian_stride() > 1; }
  void exact_hessian() { eval.set_hessian_stride(1); }

  double operator()(const Eigen::VectorXd& th, int mode, Eigen::VectorXd* g, Eigen::MatrixXd* H) {
    double f =
        eval(th, mode >= 1, mode >= 2, g, H) + 0.5 * (lambda.array() * th.array().square()).sum();
    if (mode >= 1) {
      g->array() += lambda.array() * th.array();
      for (Index j = 0; j < L.q_feat; ++j) {
        if (L.fixed[j]) (*g)[j] = 0.0;
      }
    }
    if (mode >= 2) {
      H->diagonal() += lambda;
      for (Index j = 0; j < L.q_feat; ++j) {
        if (L.fixed[j]) {
          H->row(j).setZero();
          H->col(j).setZero();
          (*H)(j, j) = 1.0;
        }
      }
    }
    return f;
  }
};

// Start at beta = 0 with the intercept at the weighted prior log odds (its optimum when the
// columns are centred).
Eigen::VectorXd initial_theta(const Layout& L, VectorView<const double> y, const Eigen::VectorXd& w,
                              double sum_w) {
  Eigen::VectorXd theta = Eigen::VectorXd::Zero(L.q);
  if (L.intercept) {
    double w1 = 0.0;
    for (Index i = 0; i < y.size(); ++i) w1 += (y[i] == 1.0) ? w[i] : 0.0;
    const double w0 = sum_w - w1;
    theta[L.q_feat] = std::log(w1 / w0);
  }
  return theta;
}

// Notes on a solver that stopped short and on (nearly) separable classes.
void add_solver_notes(const SolverResult& r, bool penalized, double sum_w, double tol,
                      FitInfo& info) {
  if (!r.converged) {
    info.notes.push_back("did not converge: max |gradient| / sum(w) = " + num(r.gmax) +
                         " > tol = " + num(tol) + " after " + std::to_string(r.n_iter) +
                         " iterations; increase max_iter" +
                         (penalized ? std::string()
                                    : std::string(", or use a finite C (the classes "
                                                  "may be separable)")));
  }
  if (!penalized && r.f / sum_w < 1e-6) {
    info.notes.push_back(
        "the classes are (nearly) perfectly separable: the unpenalized maximum "
        "likelihood estimate does not exist and the coefficients grow without "
        "bound; use a finite C");
  }
}

// The solution theta (internal coordinates) back in raw coordinates, without standard errors.
LogisticRegressionState raw_state(const Eigen::VectorXd& theta, const Layout& L, bool penalized) {
  LogisticRegressionState s;
  s.n_features = L.p;
  s.coef.assign(L.q_feat, 0.0);
  double b = L.intercept ? theta[L.q_feat] : 0.0;
  for (Index j = 0; j < L.q_feat; ++j) {
    s.coef[j] = L.fixed[j] ? 0.0 : theta[j] * L.inv_scale[j];
    b -= s.coef[j] * L.mean[j];
  }
  s.intercept = L.intercept ? b : 0.0;
  s.impute_values = L.impute;
  s.indicator_features = L.indicators;
  s.feature_mean = L.mean;
  s.feature_scale.resize(L.q_feat);
  for (Index j = 0; j < L.q_feat; ++j) s.feature_scale[j] = L.fixed[j] ? 0.0 : 1.0 / L.inv_scale[j];
  s.penalized = penalized;
  s.has_intercept = L.intercept;
  return s;
}

// Wald standard errors from the Hessian H at the solution (internal coordinates):
// Cov_raw = J H_s^-1 J^T with J = d theta_raw / d theta_s. NaN (with a note) when L-BFGS solved
// the problem (no Hessian) or H is singular.
void wald_standard_errors(const Eigen::MatrixXd& H, const Layout& L, bool use_lbfgs,
                          int newton_max_columns, LogisticRegressionState& s, FitInfo& info) {
  const Index q = L.q;
  s.coef_std_error.assign(L.q_feat, kNaN);
  Eigen::LDLT<Eigen::MatrixXd> hl;
  if (use_lbfgs) {
    char gb[32];
    std::snprintf(gb, sizeof gb, "%.2g", 8e-9 * double(q) * double(q));
    info.notes.push_back("standard errors are not computed with " + std::to_string(q) +
                         " model columns (more than newton_max_columns = " +
                         std::to_string(newton_max_columns) + ": the Hessian would take " + gb +
                         " GB); they are NaN. Fit on fewer features for Wald statistics.");
  } else if (hl.compute(H);
             hl.info() == Eigen::Success && hl.isPositive() && hl.vectorD().minCoeff() > 0.0) {
    Eigen::MatrixXd J = Eigen::MatrixXd::Zero(q, q);
    for (Index j = 0; j < L.q_feat; ++j) {
      J(j, j) = L.inv_scale[j];
      if (L.intercept) J(L.q_feat, j) = -L.inv_scale[j] * L.mean[j];
    }
    if (L.intercept) J(L.q_feat, L.q_feat) = 1.0;
    const Eigen::MatrixXd cov = J * hl.solve(J.transpose());
    for (Index j = 0; j < L.q_feat; ++j) {
      if (!L.fixed[j] && cov(j, j) >= 0.0) s.coef_std_error[j] = std::sqrt(cov(j, j));
    }
    if (L.intercept && cov(L.q_feat, L.q_feat) >= 0.0) {
      s.intercept_std_error = std::sqrt(cov(L.q_feat, L.q_feat));
    }
  } else {
    info.notes.push_back("the Hessian at the solution is singular; standard errors are NaN");
  }
}

}  // namespace

std::vector<double> detail::dense_penalty_factors(const FeatureMatrix& X, const Eigen::VectorXd& sw,
                                                  int n_threads) {
  const ColumnStats st = column_stats(X, sw, n_threads);
  std::vector<double> factor(static_cast<std::size_t>(X.cols()));
  for (Index j = 0; j < X.cols(); ++j) {
    factor[j] = variance_penalty_factor(st.var[j], !(st.max[j] > st.min[j]));
  }
  return factor;
}

LogisticRegression& LogisticRegression::fit(const Dataset& train) {
  static const std::string where = "LogisticRegression::fit";
  params_.validate();
  validate_dataset(train, where);
  const Index n = train.n_samples(), p = train.n_features();
  // Small problems run on the calling thread: waking a thread team costs more than the work (and
  // much more on a loaded machine). Results do not depend on this (fixed chunks).
  const double work = double(n) * double(p + 2) * double(p + 2);
  const int nt = work < double(1 << 23) ? 1 : detail::resolve_threads(params_.n_threads);
  const Eigen::VectorXd w = train.weights(params_.class_weight);
  Eigen::VectorXd sw = train.sample_weight.empty() ? Eigen::VectorXd::Ones(n)
                                                   : Eigen::VectorXd(train.sample_weight.eigen());
  const double sum_w = w.sum();
  if (!(sum_w > 0.0) || !std::isfinite(sum_w)) {
    throw InvalidInput(where + ": the total weight (sample_weight x class_weight) is " +
                       num(sum_w) + "; it must be finite and > 0.");
  }
  FitInfo info;

  // Categorical expansion (codes checked), then column statistics: imputation values, indicator
  // layout, scaling.
  CategoryExpansion ce = expand_categories(train.X, sw, params_, where, info);
  Index n_pos_rows = 0;
  for (Index i = 0; i < n; ++i) n_pos_rows += sw[i] > 0.0 ? 1 : 0;
  const ColumnStats st = column_stats(train.X, sw, nt);
  Layout L = make_layout(st, ce, params_, n, p, sw.sum(), n_pos_rows, info);
  // Level positions follow the inputs and the missing indicators (internal = coef positions).
  ce.s.n_features = p;
  ce.s.indicator_features = L.indicators;
  const detail::CategoryLookup lookup = detail::make_category_lookup(ce.s);
  L.cat = &lookup;
  // Newton needs the q x q Hessian (O(n q^2) to build, O(q^3) to factorise, 8 q^2 bytes each
  // copy); wide problems use L-BFGS on the gradient only.
  const bool use_lbfgs = L.q > params_.newton_max_columns;
  const bool penalized = std::isfinite(params_.C);
  const Eigen::VectorXd lambda =
      penalty_weights(L, params_.C, penalty_factors(L, st, sw.sum(), params_.penalty_scale));
  const RawGradMax raw_grad_max{L, sum_w};
  Evaluator eval(train.X, train.y, w, L, nt, /*hessian=*/!use_lbfgs);
  eval.set_hessian_stride(hessian_stride(n, L.q, params_.hessian_subsample));
  PenalizedObjective objective{eval, lambda, L};

  const Eigen::VectorXd theta = initial_theta(L, train.y, w, sum_w);
  const SolverResult r =
      use_lbfgs
          ? minimize_lbfgs(objective, raw_grad_max, theta, params_.tol, 10 * params_.max_iter, info)
          : minimize_newton(objective, raw_grad_max, theta, params_.tol, params_.max_iter, info);
  info.n_iter = r.n_iter;
  info.converged = r.converged;
  add_solver_notes(r, penalized, sum_w, params_.tol, info);

  // Back to raw coordinates, with the Wald standard errors (Newton only: r.H is the Hessian at
  // the solution).
  LogisticRegressionState s = raw_state(r.theta, L, penalized);
  wald_standard_errors(r.H, L, use_lbfgs, params_.newton_max_columns, s, info);
  s.categorical_features = std::move(ce.s.categorical_features);
  s.category_level_offsets = std::move(ce.s.category_level_offsets);
  s.category_levels = std::move(ce.s.category_levels);
  s.category_reference = std::move(ce.s.category_reference);
  s.category_pooled_offsets = std::move(ce.s.category_pooled_offsets);
  s.category_pooled = std::move(ce.s.category_pooled);
  s.category_missing = std::move(ce.s.category_missing);

  state_ = std::move(s);
  cat_ = detail::make_category_lookup(state_);
  info_ = std::move(info);
  objective_ = r.f;
  gradient_max_ = r.gmax;
  fitted_ = true;
  return *this;
}

const LogisticRegressionState& LogisticRegression::state() const {
  if (!fitted_) {
    throw NotFitted(
        "LogisticRegression: the model is not fitted; call fit() or from_state() first.");
  }
  return state_;
}

const FitInfo& LogisticRegression::fit_info() const {
  state();
  return info_;
}

double LogisticRegression::objective() const {
  state();
  return objective_;
}

double LogisticRegression::gradient_max() const {
  state();
  return gradient_max_;
}

void LogisticRegression::predict_into(const FeatureMatrix& X, VectorView<double> out, bool proba,
                                      const char* where) const {
  const LogisticRegressionState& s = state();
  check_binary(where);
  if (X.cols() != s.n_features) {
    throw InvalidInput(std::string(where) + ": X has " + std::to_string(X.cols()) +
                       " features but the model was fitted with " + std::to_string(s.n_features) +
                       "; pass the same columns, in the same order, as at fit time.");
  }
  if (out.size() != X.rows()) {
    throw InvalidInput(std::string(where) + ": out has " + std::to_string(out.size()) +
                       " values but X has " + std::to_string(X.rows()) +
                       " rows; pass one output slot per row.");
  }
  const Index n = X.rows();
  // Below ~1M elements one thread is faster than waking a team; results are identical either way.
  const int nt = double(n) * double(X.cols()) < double(1 << 20)
                     ? 1
                     : detail::resolve_threads(params_.n_threads);
  // Bad rows are detected in the same pass instead of a separate validation sweep over X
  // (prediction is memory-bound): an infinite input, or finite inputs so large that the linear
  // predictor overflows, make the margin non-finite, and only then is the row diagnosed. The
  // smallest offending row is reported, whatever the thread count.
  std::atomic<Index> first_bad{n};
  X.visit([&](const auto& Xv) {
    const Index cs = Xv.col_stride();
    detail::parallel_blocks(n, 4096, nt, [&](Index, Index lo, Index hi) {
      for (Index i = lo; i < hi; ++i) {
        const double z = margin(Xv.row_ptr(i), cs);
        if (!std::isfinite(z)) {
          Index cur = first_bad.load();
          while (i < cur && !first_bad.compare_exchange_weak(cur, i)) {
          }
          return;
        }
        out[i] = proba ? sigmoid(z) : z;
      }
    });
  });
  const Index bad = first_bad.load();
  if (bad < n) X.visit([&](const auto& Xv) { throw_bad_row(Xv, bad, where); });
}

template <class T>
void LogisticRegression::throw_bad_row(const MatrixView<const T>& X, Index i,
                                       const char* where) const {
  const LogisticRegressionState& s = state_;
  const std::string at = std::string(where) + ": X[" + std::to_string(i) + ", ";
  Index worst = 0;
  double worst_term = -1.0;
  for (Index j = 0; j < s.n_features; ++j) {
    const double v = static_cast<double>(X(i, j));
    if (std::isinf(v)) {
      throw InvalidInput(at + std::to_string(j) + "] is " + (v > 0 ? "+inf" : "-inf") +
                         "; replace infinite values (NaN is accepted and means missing).");
    }
    const double term = std::fabs(s.coef[static_cast<std::size_t>(j)] * (v != v ? 0.0 : v));
    if (!(term <= worst_term)) worst_term = term, worst = j;  // NaN/inf terms win
  }
  char buf[96];
  std::snprintf(buf, sizeof buf, "] = %.6g times its coefficient %.6g",
                static_cast<double>(X(i, worst)), s.coef[static_cast<std::size_t>(worst)]);
  throw InvalidInput(at + std::to_string(worst) + buf + " makes the linear predictor of row " +
                     std::to_string(i) +
                     " overflow (not a finite number), so it has no risk score; check the value "
                     "and its units (the training range is in the schema).");
}

Eigen::VectorXd LogisticRegression::predict_proba(const FeatureMatrix& X) const {
  state();
  Eigen::VectorXd out(X.rows());
  predict_into(X, VectorView<double>(out), true, "LogisticRegression::predict_proba");
  return out;
}

void LogisticRegression::predict_proba(const FeatureMatrix& X, VectorView<double> out) const {
  predict_into(X, out, true, "LogisticRegression::predict_proba");
}

Eigen::VectorXd LogisticRegression::decision_function(const FeatureMatrix& X) const {
  state();
  Eigen::VectorXd out(X.rows());
  predict_into(X, VectorView<double>(out), false, "LogisticRegression::decision_function");
  return out;
}

void LogisticRegression::decision_function(const FeatureMatrix& X, VectorView<double> out) const {
  predict_into(X, out, false, "LogisticRegression::decision_function");
}

CoefficientTable LogisticRegression::coefficient_table(
    double confidence, const std::vector<std::string>& names,
    const std::vector<std::vector<std::string>>& category_labels) const {
  static const std::string where = "LogisticRegression::coefficient_table";
  const LogisticRegressionState& s = state();
  if (!(confidence > 0.0 && confidence < 1.0)) {
    throw InvalidInput(where + ": confidence must be in (0, 1), got " + num(confidence) +
                       "; e.g. 0.95 for 95% intervals.");
  }
  if (!names.empty() && static_cast<Index>(names.size()) != s.n_features) {
    throw InvalidInput(where + ": got " + std::to_string(names.size()) +
                       " names but the model has " + std::to_string(s.n_features) +
                       " features; pass one name per column or none.");
  }
  if (!s.class_intercept.empty()) {
    throw InvalidInput(where +
                       ": Wald statistics are available for binary models only (this one "
                       "has " +
                       std::to_string(n_classes()) + " classes).");
  }
  if (s.coef_std_error.size() != s.coef.size()) {
    throw InvalidInput(where +
                       ": this model has no standard errors (it was restored from a state "
                       "without coef_std_error); refit it to get the table.");
  }
  using Policy = boost::math::policies::policy<boost::math::policies::promote_double<false>>;
  const boost::math::normal_distribution<double, Policy> normal(0.0, 1.0);
  const double zq = boost::math::quantile(normal, 0.5 + 0.5 * confidence);
  const std::vector<std::string> terms = design_names(names, category_labels);
  const std::vector<Index> index = design_coef_index();
  auto make = [&](std::string term, double est, double se) {
    CoefficientRow r;
    r.term = std::move(term);
    r.estimate = est;
    r.std_error = se;
    r.z = est / se;
    r.p_value = std::erfc(std::abs(r.z) / std::sqrt(2.0));
    r.ci_lower = est - zq * se;
    r.ci_upper = est + zq * se;
    r.odds_ratio = std::exp(est);
    r.odds_ratio_lower = std::exp(r.ci_lower);
    r.odds_ratio_upper = std::exp(r.ci_upper);
    return r;
  };
  CoefficientTable t;
  t.confidence = confidence;
  t.approximate = s.penalized;
  if (s.has_intercept) t.rows.push_back(make("(intercept)", s.intercept, s.intercept_std_error));
  for (std::size_t t_i = 0; t_i < index.size(); ++t_i) {
    const auto j = static_cast<std::size_t>(index[t_i]);
    t.rows.push_back(make(terms[t_i], s.coef[j], s.coef_std_error[j]));
  }
  return t;
}

namespace {

// Checks the categorical expansion of a state (calling bad(field, what), which throws) and
// returns the number of level coefficients it implies.
template <class Bad>
std::size_t check_categories(const LogisticRegressionState& s, const Bad& bad) {
  const std::size_t n_cat = s.categorical_features.size();
  for (std::size_t c = 0; c < n_cat; ++c) {
    const Index j = s.categorical_features[c];
    if (j < 0 || j >= s.n_features) {
      bad("categorical_features[" + std::to_string(c) + "]",
          "is " + std::to_string(j) + ", outside [0, n_features)");
    }
    if (c > 0 && j <= s.categorical_features[c - 1]) {
      bad("categorical_features", "must be strictly increasing (entry " + std::to_string(c) + ")");
    }
    if (std::binary_search(s.indicator_features.begin(), s.indicator_features.end(), j)) {
      bad("indicator_features", "lists categorical feature " + std::to_string(j));
    }
  }
  auto check_offsets = [&](const std::vector<Index>& off, std::size_t total, const char* name) {
    if (off.size() != (n_cat == 0 ? 0 : n_cat + 1)) {
      bad(name, "must hold categorical_features + 1 offsets");
    }
    for (std::size_t c = 0; c < off.size(); ++c) {
      if ((c == 0 && off[c] != 0) || (c > 0 && off[c] < off[c - 1]) ||
          static_cast<std::size_t>(off[c]) > total) {
        bad(name, "must start at 0, never decrease and end at the list's size");
      }
    }
    if (!off.empty() && static_cast<std::size_t>(off.back()) != total) {
      bad(name, "must end at the list's size");
    }
  };
  check_offsets(s.category_level_offsets, s.category_levels.size(), "category_level_offsets");
  check_offsets(s.category_pooled_offsets, s.category_pooled.size(), "category_pooled_offsets");
  if (n_cat == 0) {
    if (!s.category_levels.empty() || !s.category_pooled.empty() || !s.category_reference.empty() ||
        !s.category_missing.empty()) {
      bad("category_*", "must be empty without categorical_features");
    }
    return 0;
  }
  if (s.category_reference.size() != n_cat || s.category_missing.size() != n_cat) {
    bad("category_reference/category_missing", "must hold one value per categorical feature");
  }
  std::size_t n_coef = 0;
  for (std::size_t c = 0; c < n_cat; ++c) {
    const std::int64_t ref = s.category_reference[c];
    if (ref < -1 || ref >= kMaxCategoryLevels) {
      bad("category_reference[" + std::to_string(c) + "]",
          "must be -1 or a code in [0, " + std::to_string(kMaxCategoryLevels) + ")");
    }
    std::vector<std::int64_t> codes;
    for (Index k = s.category_level_offsets[c]; k < s.category_level_offsets[c + 1]; ++k) {
      codes.push_back(s.category_levels[static_cast<std::size_t>(k)]);
    }
    const std::size_t n_kept = codes.size();
    for (Index k = s.category_pooled_offsets[c]; k < s.category_pooled_offsets[c + 1]; ++k) {
      codes.push_back(s.category_pooled[static_cast<std::size_t>(k)]);
    }
    const std::size_t n_pooled = codes.size() - n_kept;
    for (std::size_t k = 0; k < codes.size(); ++k) {
      if (codes[k] < 0 || codes[k] >= kMaxCategoryLevels) {
        bad("category levels of feature " + std::to_string(s.categorical_features[c]),
            "must be codes in [0, " + std::to_string(kMaxCategoryLevels) + ")");
      }
      const bool first = k == 0 || k == n_kept;
      if (!first && codes[k] <= codes[k - 1]) {
        bad("category levels of feature " + std::to_string(s.categorical_features[c]),
            "must be strictly increasing");
      }
    }
    if ((ref < 0 && !codes.empty()) || std::count(codes.begin(), codes.end(), ref) != 0 ||
        (n_kept > 0 && n_pooled > 0 &&
         std::set<std::int64_t>(codes.begin(), codes.end()).size() != codes.size())) {
      bad("category levels of feature " + std::to_string(s.categorical_features[c]),
          "must be distinct: each code is the reference, kept or pooled");
    }
    if (s.category_missing[c] != 0 && s.category_missing[c] != 1) {
      bad("category_missing[" + std::to_string(c) + "]", "must be 0 or 1");
    }
    n_coef += n_kept + (n_pooled > 0 ? 1 : 0) + static_cast<std::size_t>(s.category_missing[c]);
  }
  return n_coef;
}

}  // namespace

namespace {

// Checks the multinomial fields of a state (impute_values already checked) and rebuilds the model.
template <class Bad>
LogisticRegression from_multinomial_state(LogisticRegressionState& s,
                                          const LogisticRegressionParams& p, const Bad& bad) {
  const std::size_t K = s.class_intercept.size();
  if (K < 3 || K > static_cast<std::size_t>(kMaxClasses)) {
    bad("class_intercept", "must hold between 3 and " + std::to_string(kMaxClasses) +
                               " values (one per class), got " + std::to_string(K));
  }
  if (s.class_coef.size() != K * static_cast<std::size_t>(s.n_features)) {
    bad("class_coef", "has " + std::to_string(s.class_coef.size()) +
                          " values, expected classes x n_features = " +
                          std::to_string(K * static_cast<std::size_t>(s.n_features)));
  }
  for (std::size_t e = 0; e < s.class_coef.size(); ++e) {
    if (!std::isfinite(s.class_coef[e]))
      bad("class_coef[" + std::to_string(e) + "]", "is not finite");
  }
  for (std::size_t k = 0; k < K; ++k) {
    if (!std::isfinite(s.class_intercept[k])) {
      bad("class_intercept[" + std::to_string(k) + "]", "is not finite");
    }
  }
  if (!s.coef.empty() || s.intercept != 0.0 || !s.indicator_features.empty() ||
      !s.categorical_features.empty() || !s.coef_std_error.empty() || !s.feature_mean.empty() ||
      !s.feature_scale.empty()) {
    bad("coef/intercept/indicator_features/categorical_features/coef_std_error/feature_mean",
        "must be empty (0) in a multinomial state");
  }
  LogisticRegression m = LogisticRegression::from_state_unchecked(std::move(s), p);
  return m;
}

}  // namespace

LogisticRegression LogisticRegression::from_state_unchecked(LogisticRegressionState s,
                                                            LogisticRegressionParams p) {
  LogisticRegression m(p);
  m.state_ = std::move(s);
  m.cat_ = detail::make_category_lookup(m.state_);
  m.info_ = FitInfo{};
  m.info_.notes.push_back("restored from a state");
  m.fitted_ = true;
  return m;
}

LogisticRegression LogisticRegression::from_state(LogisticRegressionState s,
                                                  LogisticRegressionParams p) {
  static const std::string where = "LogisticRegression::from_state";
  p.validate();
  auto bad = [&](const std::string& field, const std::string& what) {
    throw InvalidInput(where + ": " + field + " " + what + ".");
  };
  if (s.n_features < 1) bad("n_features", "must be >= 1, got " + std::to_string(s.n_features));
  const auto p_in = static_cast<std::size_t>(s.n_features);
  if (s.impute_values.size() != p_in) {
    bad("impute_values", "has " + std::to_string(s.impute_values.size()) +
                             " values, expected n_features = " + std::to_string(s.n_features));
  }
  for (std::size_t j = 0; j < s.impute_values.size(); ++j) {
    if (!std::isfinite(s.impute_values[j]))
      bad("impute_values[" + std::to_string(j) + "]", "is not finite");
  }
  for (std::size_t k = 0; k < s.indicator_features.size(); ++k) {
    const Index f = s.indicator_features[k];
    if (f < 0 || f >= s.n_features) {
      bad("indicator_features[" + std::to_string(k) + "]",
          "is " + std::to_string(f) + ", outside [0, n_features)");
    }
    if (k > 0 && f <= s.indicator_features[k - 1]) {
      bad("indicator_features", "must be strictly increasing (entry " + std::to_string(k) + ")");
    }
  }
  if (!s.class_intercept.empty() || !s.class_coef.empty()) return from_multinomial_state(s, p, bad);
  const std::size_t q = p_in + s.indicator_features.size() + check_categories(s, bad);
  if (s.coef.size() != q) {
    bad("coef", "has " + std::to_string(s.coef.size()) + " values, expected n_features + " +
                    "indicators + category levels = " + std::to_string(q));
  }
  for (Index j : s.categorical_features) {
    const auto u = static_cast<std::size_t>(j);
    if (s.coef[u] != 0.0 || s.impute_values[u] != 0.0) {
      bad("coef[" + std::to_string(j) + "]/impute_values[" + std::to_string(j) + "]",
          "must be 0 (the placeholders of categorical feature " + std::to_string(j) + ")");
    }
  }
  for (std::size_t j = 0; j < q; ++j) {
    if (!std::isfinite(s.coef[j])) bad("coef[" + std::to_string(j) + "]", "is not finite");
  }
  if (!std::isfinite(s.intercept)) bad("intercept", "is not finite");
  if (!s.has_intercept && s.intercept != 0.0)
    bad("intercept", "must be 0 when has_intercept is false");
  if (!(s.feature_mean.empty() && s.feature_scale.empty())) {
    if (s.feature_mean.size() != q || s.feature_scale.size() != q) {
      bad("feature_mean/feature_scale",
          "must both be empty or hold " + std::to_string(q) + " values");
    }
    for (std::size_t j = 0; j < q; ++j) {
      if (!std::isfinite(s.feature_mean[j]))
        bad("feature_mean[" + std::to_string(j) + "]", "is not finite");
      if (!(std::isfinite(s.feature_scale[j]) && s.feature_scale[j] >= 0.0)) {
        bad("feature_scale[" + std::to_string(j) + "]", "must be finite and >= 0");
      }
    }
  }
  if (!s.coef_std_error.empty()) {
    if (s.coef_std_error.size() != q) {
      bad("coef_std_error", "must be empty or hold " + std::to_string(q) + " values");
    }
    for (std::size_t j = 0; j < q; ++j) {
      const double v = s.coef_std_error[j];
      if (!(std::isnan(v) || (std::isfinite(v) && v >= 0.0))) {
        bad("coef_std_error[" + std::to_string(j) + "]", "must be NaN or finite and >= 0");
      }
    }
  }
  if (!(std::isnan(s.intercept_std_error) ||
        (std::isfinite(s.intercept_std_error) && s.intercept_std_error >= 0.0))) {
    bad("intercept_std_error", "must be NaN or finite and >= 0");
  }
  return from_state_unchecked(std::move(s), p);
}

}  // namespace calibrisk

namespace calibrisk {

namespace detail {

CategoryLookup make_category_lookup(const LogisticRegressionState& s) {
  CategoryLookup C;
  C.column = s.categorical_features;
  C.offset.push_back(0);
  auto pos =
      static_cast<std::int32_t>(s.n_features + static_cast<Index>(s.indicator_features.size()));
  for (std::size_t c = 0; c < s.categorical_features.size(); ++c) {
    const auto l0 = static_cast<std::size_t>(s.category_level_offsets[c]);
    const auto l1 = static_cast<std::size_t>(s.category_level_offsets[c + 1]);
    const auto p0 = static_cast<std::size_t>(s.category_pooled_offsets[c]);
    const auto p1 = static_cast<std::size_t>(s.category_pooled_offsets[c + 1]);
    std::int64_t top = s.category_reference[c];
    if (l1 > l0) top = std::max(top, s.category_levels[l1 - 1]);
    if (p1 > p0) top = std::max(top, s.category_pooled[p1 - 1]);
    const std::size_t base = C.table.size();
    C.table.resize(base + static_cast<std::size_t>(top + 1), -1);
    for (std::size_t k = l0; k < l1; ++k) {
      C.table[base + static_cast<std::size_t>(s.category_levels[k])] = pos++;
    }
    if (p1 > p0) {
      for (std::size_t k = p0; k < p1; ++k) {
        C.table[base + static_cast<std::size_t>(s.category_pooled[k])] = pos;
      }
      ++pos;
    }
    C.missing.push_back(s.category_missing[c] ? pos++ : -1);
    C.offset.push_back(static_cast<Index>(C.table.size()));
  }
  // Scoring tables: the coefficients themselves (known once the model is fitted or restored).
  if (static_cast<std::int64_t>(s.coef.size()) >= pos) {
    auto coef_at = [&](std::int32_t k) {
      return k >= 0 ? s.coef[static_cast<std::size_t>(k)] : -0.0;
    };
    C.value.resize(C.table.size());
    for (std::size_t e = 0; e < C.table.size(); ++e) C.value[e] = coef_at(C.table[e]);
    for (std::size_t c = 0; c < C.column.size(); ++c) {
      CategoryLookup::Feature f;
      f.column = C.column[c];
      f.offset = C.offset[c];
      f.size = static_cast<double>(C.offset[c + 1] - C.offset[c]);
      f.missing = coef_at(C.missing[c]);
      C.features.push_back(f);
    }
  }
  std::vector<char> is_cat(static_cast<std::size_t>(s.n_features), 0);
  for (Index j : s.categorical_features) is_cat[static_cast<std::size_t>(j)] = 1;
  for (Index j = 0; j < s.n_features;) {
    if (is_cat[static_cast<std::size_t>(j)]) {
      ++j;
      continue;
    }
    const Index first = j;
    while (j < s.n_features && !is_cat[static_cast<std::size_t>(j)]) ++j;
    C.numeric_runs.emplace_back(first, j);
  }
  return C;
}

}  // namespace detail

namespace {

// The one place a level's name is formed: "<feature>=<label>" when the caller passed the labels
// of the feature's codes, else "<feature>=<code>".
// TODO(lead): use FeatureInfo labels — callers holding a schema (Python summary, the report)
// should pass its category labels here once the data layer stores them (issue 12, item 1).
std::string level_name(const std::string& feature, std::int64_t code,
                       const std::vector<std::string>* labels) {
  if (labels != nullptr && code >= 0 && static_cast<std::size_t>(code) < labels->size()) {
    return feature + "=" + (*labels)[static_cast<std::size_t>(code)];
  }
  return feature + "=" + std::to_string(code);
}

}  // namespace

std::vector<Index> LogisticRegression::design_coef_index() const {
  const LogisticRegressionState& s = state();
  std::vector<char> is_cat(static_cast<std::size_t>(s.n_features), 0);
  for (Index j : s.categorical_features) is_cat[static_cast<std::size_t>(j)] = 1;
  std::vector<Index> idx;
  for (Index j = 0; j < static_cast<Index>(s.coef.size()); ++j) {
    if (j < s.n_features && is_cat[static_cast<std::size_t>(j)]) continue;
    idx.push_back(j);
  }
  return idx;
}

std::vector<std::string> LogisticRegression::design_names(
    const std::vector<std::string>& names,
    const std::vector<std::vector<std::string>>& category_labels) const {
  static const std::string where = "LogisticRegression::design_names";
  const LogisticRegressionState& s = state();
  if (!names.empty() && static_cast<Index>(names.size()) != s.n_features) {
    throw InvalidInput(where + ": got " + std::to_string(names.size()) +
                       " names but the model has " + std::to_string(s.n_features) +
                       " features; pass one name per column or none.");
  }
  if (!category_labels.empty() && static_cast<Index>(category_labels.size()) != s.n_features) {
    throw InvalidInput(where + ": got " + std::to_string(category_labels.size()) +
                       " label lists but the model has " + std::to_string(s.n_features) +
                       " features; pass one list per column (empty for a numeric one) or none.");
  }
  auto name_of = [&](Index j) {
    return names.empty() ? "x" + std::to_string(j) : names[static_cast<std::size_t>(j)];
  };
  std::vector<char> is_cat(static_cast<std::size_t>(s.n_features), 0);
  for (Index j : s.categorical_features) is_cat[static_cast<std::size_t>(j)] = 1;
  std::vector<std::string> out;
  for (Index j = 0; j < s.n_features; ++j) {
    if (!is_cat[static_cast<std::size_t>(j)]) out.push_back(name_of(j));
  }
  for (Index f : s.indicator_features) out.push_back("missing(" + name_of(f) + ")");
  for (std::size_t c = 0; c < s.categorical_features.size(); ++c) {
    const Index j = s.categorical_features[c];
    const std::string base = name_of(j);
    const std::vector<std::string>* labels =
        category_labels.empty() ? nullptr : &category_labels[static_cast<std::size_t>(j)];
    for (Index k = s.category_level_offsets[c]; k < s.category_level_offsets[c + 1]; ++k) {
      out.push_back(level_name(base, s.category_levels[static_cast<std::size_t>(k)], labels));
    }
    if (s.category_pooled_offsets[c + 1] > s.category_pooled_offsets[c]) {
      out.push_back(base + "=other");
    }
    if (s.category_missing[c]) out.push_back(base + "=missing");
  }
  return out;
}

double LogisticRegression::categorical_term(Index column, double v) const {
  const LogisticRegressionState& s = state();
  for (std::size_t c = 0; c < s.categorical_features.size(); ++c) {
    if (s.categorical_features[c] != column) continue;
    const std::int32_t k = cat_.index(static_cast<Index>(c), v);
    return k >= 0 ? s.coef[static_cast<std::size_t>(k)] : 0.0;
  }
  return 0.0;
}

}  // namespace calibrisk
