// SPDX-License-Identifier: Apache-2.0
// Truncated Newton for logistic regression without forming the Hessian: the binary model on
// sparse input and the multinomial (softmax) model on dense or sparse input.
//
// Each Newton step solves H d = -g approximately by preconditioned conjugate gradients
// (Nocedal & Wright, Numerical Optimization, 2nd ed., Alg. 7.1, "line search Newton-CG"), where a
// Hessian-vector product costs one pass X v and one pass X^T u over the data (liblinear's TRON
// idea, Lin, Weng & Keerthi 2008; for the binary model on sparse input both in one visit of each
// CSR row, see fused_rows) and the preconditioner is the exact diagonal of H. The forcing
// term min(0.5, sqrt(|g| / |g_0|)) gives superlinear convergence. The margins of the step,
// X d = sum_i alpha_i X p_i, are accumulated from the CG products, so the Armijo line search
// costs no pass over the data.
//
// Internal coordinates (dense input with standardize): x'_j = (x_j - mean_j) * s_j, applied on the
// fly; the penalty is rewritten so the minimiser is scikit-learn's on the raw scale.
#include "newton_cg.hpp"

#include "core/branchfree_math.hpp"

#include <calibrisk/core/math.hpp>
#include <calibrisk/core/parallel.hpp>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define CALIBRISK_NCG_AVX2 1
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace calibrisk::detail {

namespace {

using Vec = Eigen::VectorXd;

// Binary model on sparse input with at least kSubsampleMinRows rows: the Hessian products of CG
// use one row in about kSubsampleEvery (Byrd, Chin, Neveitt & Nocedal 2011, "On the use of
// stochastic Hessian information in optimization methods for machine learning"); the gradient,
// the objective and the stopping rule stay exact.
constexpr Index kSubsampleEvery = 8;
constexpr Index kSubsampleMinRows = 32768;
// The polish step (newton_iterations) runs on passes of at most this many multiply-adds.
constexpr double kPolishWork = double(1 << 20);

// Fixed row chunks (depend on n and the per-chunk buffer size only, never on the thread count).
struct Chunks {
  Index n = 0, size = 1, count = 0;
  Chunks() = default;
  Chunks(Index n_rows, Index buffer_doubles) : n(n_rows) {
    const Index by_rows = std::max<Index>(1, (n + 4095) / 4096);
    const Index by_mem =
        std::max<Index>(1, Index(8) * 1024 * 1024 / std::max<Index>(1, buffer_doubles));
    count = std::min<Index>({by_rows, by_mem, 64});
    size = (n + count - 1) / count;
    count = std::max<Index>(1, (n + size - 1) / size);
  }
  Index lo(Index c) const { return c * size; }
  Index hi(Index c) const { return std::min(n, (c + 1) * size); }
};

// A compressed matrix owned or viewed: outer pointers, inner indices, values; `cuts` splits the
// outer range into blocks of about equal non-zeros (term frequencies are Zipf-like: equal-width
// column blocks would leave one thread with most of the work). The blocks depend on the data
// only, and each output element is summed by one block in a fixed order: any thread count gives
// the same bits.
struct Compressed {
  const std::int64_t* ptr = nullptr;
  const std::int64_t* idx = nullptr;
  const double* val = nullptr;
  std::vector<std::int64_t> own_ptr, own_idx;
  std::vector<double> own_val;
  std::vector<Index> cuts;  // block b covers outer indices [cuts[b], cuts[b + 1])

  void make_cuts(Index outer) {
    const Index nnz = ptr[outer];
    const Index parts = std::max<Index>(1, std::min<Index>({outer, nnz / 16384 + 1, 512}));
    cuts.assign(1, 0);
    for (Index b = 1; b < parts; ++b) {
      const std::int64_t target = nnz * b / parts;
      const Index o = std::lower_bound(ptr, ptr + outer + 1, target) - ptr;
      if (o > cuts.back() && o < outer) cuts.push_back(o);
    }
    cuts.push_back(outer);
  }
  Index blocks() const { return static_cast<Index>(cuts.size()) - 1; }
};

// The compact row copy used by the fused passes: the CSR offsets and values (the input's, or the
// transposed copy's) with 32-bit column indices (16-bit when every index fits), a float copy of
// the values (the Hessian products read 6-8 bytes per entry instead of 16), and
// the fixed row chunks of the scatter (about equal non-zeros; their number depends on the data
// only, so the sums are the same for any thread count).
// An allocator that leaves new elements uninitialised (resize does not write the memory: the
// parallel copy that fills it touches its pages first, on the threads that use them).
template <class T>
struct NoInit : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = NoInit<U>;
  };
  NoInit() = default;
  template <class U>
  NoInit(const NoInit<U>&) noexcept {}  // NOLINT(google-explicit-constructor)
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class A, class... As>
  void construct(U* p, A&& a, As&&... as) {
    ::new (static_cast<void*>(p)) U(std::forward<A>(a), std::forward<As>(as)...);
  }
};
template <class T>
using RawVector = std::vector<T, NoInit<T>>;

struct Rows {
  const std::int64_t* ptr = nullptr;
  const std::uint32_t* idx = nullptr;
  const std::uint16_t* idx16 = nullptr;  // instead of idx when every column index is < 2^16
  const double* val = nullptr;
  RawVector<float> val32;  // the values rounded to float, for the Hessian products
  RawVector<std::uint32_t> own_idx;
  RawVector<std::uint16_t> own_idx16;
  std::vector<std::int64_t> own_ptr;  // a row subsample's own offsets and values
  RawVector<double> own_val;
  std::vector<Index> cuts;
  std::vector<Index> rows;  // a row subsample: its rows' indices in the full matrix
};

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
bool cpu_has_avx2() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
  }();
  return has;
}
#endif

// out[o] (K values) = init + sum over the entries e of outer index o of x_e * in[idx_e] (x_e^2
// with Sq), for o in [lo, hi); in is (inner x K) row-major. The sparse products X U and X^T R
// are both this kernel (on the CSR and the CSC copy). A compile-time K (1..16) keeps the K sums
// in registers and vectorises the class loop; each lane still adds the entries in storage order,
// so the bits equal the scalar loop's (the AVX2 build is not allowed FMA contraction).
template <int KC, bool Sq>
inline __attribute__((always_inline)) void spmm_kernel(const Compressed& A, Index lo, Index hi,
                                                       Index K_rt, const double* __restrict in,
                                                       const double* __restrict init,
                                                       double* __restrict out) {
  const Index K = KC > 0 ? KC : K_rt;
  for (Index o = lo; o < hi; ++o) {
    double acc[KC > 0 ? KC : 1];
    double* a = KC > 0 ? acc : out + o * K;
    for (Index k = 0; k < K; ++k) a[k] = init != nullptr ? init[k] : 0.0;
    for (std::int64_t e = A.ptr[o]; e < A.ptr[o + 1]; ++e) {
      const double x = Sq ? A.val[e] * A.val[e] : A.val[e];
      const double* r = in + A.idx[e] * K;
      for (Index k = 0; k < K; ++k) a[k] += x * r[k];
    }
    if (KC > 0) {
      for (Index k = 0; k < K; ++k) out[o * K + k] = acc[k];
    }
  }
}

using SpmmFn = void (*)(const Compressed&, Index, Index, Index, const double*, const double*,
                        double*);

template <int KC, bool Sq>
void spmm_base(const Compressed& A, Index lo, Index hi, Index K, const double* in,
               const double* init, double* out) {
  spmm_kernel<KC, Sq>(A, lo, hi, K, in, init, out);
}

#if defined(CALIBRISK_NCG_AVX2)
// The AVX2 kernel: the K sums in ceil(K / 4) registers (the last one masked), multiply then add
// (no FMA), so every lane rounds exactly as the scalar loop does.
template <int KC, bool Sq>
__attribute__((target("avx2"))) void spmm_avx2(const Compressed& A, Index lo, Index hi, Index,
                                               const double* in, const double* init, double* out) {
  constexpr int NV = (KC + 3) / 4;
  constexpr int REM = KC % 4;
  const __m256i tail = _mm256_setr_epi64x(REM > 0 ? -1 : 0, REM > 1 ? -1 : 0, REM > 2 ? -1 : 0, 0);
  for (Index o = lo; o < hi; ++o) {
    __m256d acc[NV];
    for (int v = 0; v < NV; ++v) {
      acc[v] = init == nullptr             ? _mm256_setzero_pd()
               : (REM != 0 && v == NV - 1) ? _mm256_maskload_pd(init + 4 * v, tail)
                                           : _mm256_loadu_pd(init + 4 * v);
    }
    for (std::int64_t e = A.ptr[o]; e < A.ptr[o + 1]; ++e) {
      const double x0 = Sq ? A.val[e] * A.val[e] : A.val[e];
      const __m256d x = _mm256_set1_pd(x0);
      const double* r = in + A.idx[e] * KC;
      for (int v = 0; v < NV; ++v) {
        const __m256d rv = (REM != 0 && v == NV - 1) ? _mm256_maskload_pd(r + 4 * v, tail)
                                                     : _mm256_loadu_pd(r + 4 * v);
        acc[v] = _mm256_add_pd(acc[v], _mm256_mul_pd(x, rv));
      }
    }
    double* z = out + o * KC;
    for (int v = 0; v < NV; ++v) {
      if (REM != 0 && v == NV - 1) {
        _mm256_maskstore_pd(z + 4 * v, tail, acc[v]);
      } else {
        _mm256_storeu_pd(z + 4 * v, acc[v]);
      }
    }
  }
}
#endif

template <int KC, bool Sq>
SpmmFn spmm_for() {
#if defined(CALIBRISK_NCG_AVX2)
  if constexpr (KC >= 2) {
    if (cpu_has_avx2()) return &spmm_avx2<KC, Sq>;
  }
#endif
  return &spmm_base<KC, Sq>;
}

template <bool Sq>
SpmmFn pick_spmm(Index K) {
  switch (K) {
    case 1:
      return spmm_for<1, Sq>();
    case 2:
      return spmm_for<2, Sq>();
    case 3:
      return spmm_for<3, Sq>();
    case 4:
      return spmm_for<4, Sq>();
    case 5:
      return spmm_for<5, Sq>();
    case 6:
      return spmm_for<6, Sq>();
    case 7:
      return spmm_for<7, Sq>();
    case 8:
      return spmm_for<8, Sq>();
    case 9:
      return spmm_for<9, Sq>();
    case 10:
      return spmm_for<10, Sq>();
    case 11:
      return spmm_for<11, Sq>();
    case 12:
      return spmm_for<12, Sq>();
    case 13:
      return spmm_for<13, Sq>();
    case 14:
      return spmm_for<14, Sq>();
    case 15:
      return spmm_for<15, Sq>();
    case 16:
      return spmm_for<16, Sq>();
    default:
      return spmm_for<0, Sq>();
  }
}

// out = X in (+ init per row) over the blocks of A, in parallel (dynamic: blocks cost alike).
void spmm(const Compressed& A, SpmmFn fn, Index K, const double* in, const double* init,
          double* out, int nt) {
  parallel_for_dynamic(0, A.blocks(), nt, [&](Index b) {
    fn(A, A.cuts[static_cast<std::size_t>(b)], A.cuts[static_cast<std::size_t>(b + 1)], K, in, init,
       out);
  });
}

// Rows per block of a fused pass: the margins of a block are gathered first, then its per-row
// step runs as one loop over the block (vectorised: Loss::binary_rows), then it is scattered.
constexpr Index kRowBlock = 64;

// The per-row step of a fused pass over the CSR rows (see fused_rows), applied to a block.
class RowOp {
 public:
  virtual ~RowOp() = default;
  // Rows i0 .. i0 + m - 1 with margins q (m values; null for a pass without input coefficients):
  // writes the m values t to scatter and, when dd is not null, the m Hessian-diagonal weights;
  // returns f plus the rows' contributions to a sum (the loss, added in row order), or f.
  virtual double rows(Index i0, Index m, const double* q, double* t, double* dd, double f) = 0;
};

// One chunk [lo, hi) of a fused pass over the rows of the compact CSR copy (binary model: one
// margin per row): per block of kRowBlock rows the margins q = c + x_i . V (skipped when V is
// null), then op gives t (and dd), scattered as G[j] += x_ij t, S += t and, with Diag,
// G[2 j + 1] += x_ij^2 dd, Sd += dd (G has 2 values per column then: the gradient and the
// diagonal of a column share a cache line; without Grad only the diagonal is scattered). Each row
// is read once for both products X V and X^T T (a block of 64 rows stays in L1 between the two).
// Val is the values' type: the exact doubles, or their float copy for the Hessian products (an
// inexact Hessian changes CG's directions, not the minimiser: margins, loss and gradient always use
// the doubles). The sums run over the rows of the chunk in order: the same bits for any thread
// count (the chunks are fixed).
template <class Val, bool Diag, class Idx, bool Grad = true>
double fused_rows(const Rows& A, const Val* __restrict val, const Idx* __restrict idx, Index lo,
                  Index hi, const double* __restrict V, const double* c, RowOp& op,
                  double* __restrict G, double* S) {
  constexpr Index stride = Diag ? 2 : 1;
  double q[kRowBlock], t[kRowBlock], dd[kRowBlock];
  double f = 0.0;
  for (Index i0 = lo; i0 < hi; i0 += kRowBlock) {
    const Index m = std::min(kRowBlock, hi - i0);
    if (V != nullptr) {
      for (Index r = 0; r < m; ++r) {
        double a = c[0];
        for (std::int64_t e = A.ptr[i0 + r]; e < A.ptr[i0 + r + 1]; ++e)
          a += static_cast<double>(val[e]) * V[idx[e]];
        q[r] = a;
      }
    }
    f = op.rows(i0, m, V != nullptr ? q : nullptr, t, Diag ? dd : nullptr, f);
    for (Index r = 0; r < m; ++r) {
      const double tr = t[r];
      if (Grad) S[0] += tr;
      if (Diag) S[1] += dd[r];
      for (std::int64_t e = A.ptr[i0 + r]; e < A.ptr[i0 + r + 1]; ++e) {
        const double x = static_cast<double>(val[e]);
        double* g = G + static_cast<Index>(idx[e]) * stride;
        if (Grad) g[0] += x * tr;
        if (Diag) g[1] += (x * x) * dd[r];
      }
    }
  }
  return f;
}

// The passes, by the values' type (the exact doubles, or their float copy for the Hessian
// products), with or without the diagonal, with 32-bit or 16-bit column indices.
template <class Val, bool Diag, class Idx, bool Grad = true>
double rows_pass(const Rows& A, Index lo, Index hi, const double* V, const double* c, RowOp& op,
                 double* G, double* S) {
  const Idx* idx = nullptr;
  if constexpr (sizeof(Idx) == 2) idx = A.idx16;
  if constexpr (sizeof(Idx) == 4) idx = A.idx;
  const Val* val = nullptr;
  if constexpr (sizeof(Val) == 4) val = A.val32.data();
  if constexpr (sizeof(Val) == 8) val = A.val;
  return fused_rows<Val, Diag, Idx, Grad>(A, val, idx, lo, hi, V, c, op, G, S);
}

using FusedFn = double (*)(const Rows&, Index, Index, const double*, const double*, RowOp&, double*,
                           double*);

// The transpose of a compressed matrix (outer x inner) as inner x outer, by a counting sort: the
// entries of each new outer index stay in increasing order of the old one.
void transpose(const SparseMatrixView& X, Compressed& out) {
  const Index outer = X.outer(), inner = X.inner(), nnz = X.nnz();
  out.own_ptr.assign(static_cast<std::size_t>(inner + 1), 0);
  for (Index k = 0; k < nnz; ++k) ++out.own_ptr[static_cast<std::size_t>(X.indices[k] + 1)];
  for (Index j = 0; j < inner; ++j) out.own_ptr[j + 1] += out.own_ptr[j];
  out.own_idx.resize(static_cast<std::size_t>(nnz));
  out.own_val.resize(static_cast<std::size_t>(nnz));
  std::vector<std::int64_t> next(out.own_ptr.begin(), out.own_ptr.end() - 1);
  for (Index o = 0; o < outer; ++o) {
    for (std::int64_t k = X.indptr[o]; k < X.indptr[o + 1]; ++k) {
      const auto pos = static_cast<std::size_t>(next[static_cast<std::size_t>(X.indices[k])]++);
      out.own_idx[pos] = o;
      out.own_val[pos] = X.values[k];
    }
  }
  out.ptr = out.own_ptr.data();
  out.idx = out.own_idx.data();
  out.val = out.own_val.data();
}

// The design operators in internal coordinates. U is d x K row-major (entry j * K + k).
class Design {
 public:
  Design(const LinearProblem& p, int K) : p_(p), K_(K), nt_(p.n_threads) {
    if (p.sparse != nullptr) {
      n_ = p.sparse->rows;
      d_ = p.sparse->cols;
      if (p.sparse->csr) {
        csr_.ptr = p.sparse->indptr, csr_.idx = p.sparse->indices, csr_.val = p.sparse->values;
        if (K > 1) transpose(*p.sparse, csc_);
      } else {
        csc_.ptr = p.sparse->indptr, csc_.idx = p.sparse->indices, csc_.val = p.sparse->values;
        transpose(*p.sparse, csr_);
      }
      csr_.make_cuts(n_);
      spmm_ = pick_spmm<false>(K);
      if (K > 1) {
        csc_.make_cuts(d_);
        spmm_sq_ = pick_spmm<true>(K);
      } else {
        make_rows();
      }
    } else {
      n_ = p.dense->rows();
      d_ = p.dense->cols();
    }
    mean_.assign(static_cast<std::size_t>(d_), 0.0);
    scale_.assign(static_cast<std::size_t>(d_), 1.0);
    impute_.assign(static_cast<std::size_t>(d_), 0.0);
    ch_ = Chunks(n_, d_ * K_);
    if (p.dense != nullptr) column_statistics();
  }

  Index n() const { return n_; }
  // Multiply-adds of one product X V.
  double work_per_pass() const {
    return sparse() ? double(p_.sparse->nnz()) * K_ : double(n_) * double(d_) * K_;
  }
  Index d() const { return d_; }
  bool sparse() const { return p_.sparse != nullptr; }
  // The binary model on sparse input runs fused passes over the rows (fused()); the multinomial
  // one a CSR pass for X V and a pass over the columns of a CSC copy for X^T U (with K sums per
  // entry, the per-chunk scatter accumulators of a fused pass cost more than they save).
  bool fused_passes() const { return sparse() && K_ == 1; }
  const std::vector<double>& mean() const { return mean_; }
  const std::vector<double>& scale() const { return scale_; }
  const std::vector<double>& impute() const { return impute_; }

  // Z (n x K row-major) = X' V + 1 b^T for V (d x K), b (K) in internal coordinates.
  void margins(const double* V, const double* b, double* Z) const {
    std::vector<double> U(static_cast<std::size_t>(d_ * K_));
    std::vector<double> c(b, b + K_);
    for (Index j = 0; j < d_; ++j) {
      for (int k = 0; k < K_; ++k) {
        U[j * K_ + k] = V[j * K_ + k] * scale_[j];
        c[k] -= mean_[j] * U[j * K_ + k];
      }
    }
    if (sparse()) {
      spmm(csr_, spmm_, K_, U.data(), c.data(), Z, nt_);
    } else {
      p_.dense->visit([&](const auto& X) {
        parallel_for(0, ch_.count, nt_,
                     [&](Index ci) { dense_rows(X, U.data(), c.data(), ci, Z); });
      });
    }
  }

  // G (d x K) = X'^T R and rs (K) = column sums of R (n x K row-major). Also returns the raw
  // product X~^T R in `raw` when not null (the raw-scale gradient of the data term).
  void gradient(const double* R, double* G, double* rs, std::vector<double>* raw) const {
    std::vector<double> A(static_cast<std::size_t>(d_ * K_), 0.0);
    col_sums(R, rs);
    transposed(R, A.data(), false);
    for (Index j = 0; j < d_; ++j) {
      for (int k = 0; k < K_; ++k) G[j * K_ + k] = scale_[j] * (A[j * K_ + k] - mean_[j] * rs[k]);
    }
    if (raw != nullptr) raw->swap(A);
  }

  // Sparse input: one fused pass over the rows (fused_rows) with the margins of V (d x K) and
  // intercepts c (null V: none), G (d x K) = X^T T, S (K) = column sums of T, and with Dg the
  // diagonal (X o X)^T DD (d x K) and Sd (K) the column sums of DD (an evaluation pass, exact
  // values); without Dg a Hessian product (float values). Returns the sum of op's values.
  double fused(const double* V, const double* c, RowOp& op, double* G, double* S, double* Dg,
               double* Sd) const {
    return fused_on(rows_, Dg != nullptr ? eval_fn_ : hess_fn_, V, c, op, G, S, Dg, Sd);
  }
  // An evaluation pass without the diagonal (exact values), and the diagonal over the subsample
  // (op gets the subsample's row positions, sets t = 0 and the scaled weights dd).
  double fused_grad(const double* V, const double* c, RowOp& op, double* G, double* S) const {
    return fused_on(rows_, grad_fn_, V, c, op, G, S, nullptr, nullptr);
  }
  void sub_diagonal(RowOp& op, double* Dg, double* Sd) const {
    sub_g_.resize(static_cast<std::size_t>(d_ * K_ + K_));  // t = 0: nothing is scattered there
    fused_on(sub_, sub_diag_fn_, nullptr, nullptr, op, sub_g_.data(), sub_g_.data() + d_ * K_, Dg,
             Sd);
  }
  // A Hessian product over the row subsample only (op gets the subsample's row positions).
  void fused_sub(const double* V, const double* c, RowOp& op, double* G, double* S) const {
    fused_on(sub_, sub_hess_fn_, V, c, op, G, S, nullptr, nullptr);
  }
  // The row subsample for the Hessian products (empty: none).
  const std::vector<Index>& sub_rows() const { return sub_.rows; }

 private:
  double fused_on(const Rows& rows, FusedFn fn, const double* V, const double* c, RowOp& op,
                  double* G, double* S, double* Dg, double* Sd) const {
    const Index C = static_cast<Index>(rows.cuts.size()) - 1;
    const bool diag = Dg != nullptr;
    const Index width = diag ? 2 * K_ : K_;  // accumulators per column
    const Index per = d_ * width + 2 * K_;   // one chunk's: columns, then S and Sd
    if (C == 1 && !diag) {  // one chunk: the sums go straight to G and S (the same bits)
      std::fill(G, G + d_ * K_, 0.0);
      for (int k = 0; k < K_; ++k) S[k] = 0.0;
      return fn(rows, 0, rows.cuts[1], V, c, op, G, S);
    }
    // buf_ is all zeros between passes (each pass zeroes what it read), so a chunk's accumulators
    // need no fill; growing it adds zeros.
    if (buf_.size() < static_cast<std::size_t>(C * per))
      buf_.resize(static_cast<std::size_t>(C * per));
    fsum_.assign(static_cast<std::size_t>(C), 0.0);
    parallel_for_dynamic(0, C, nt_, [&](Index ci) {
      double* B = buf_.data() + ci * per;
      fsum_[static_cast<std::size_t>(ci)] =
          fn(rows, rows.cuts[static_cast<std::size_t>(ci)],
             rows.cuts[static_cast<std::size_t>(ci + 1)], V, c, op, B, B + d_ * width);
    });
    // Chunk sums reduced in chunk order (parallel over blocks of columns; each sum is
    // ((0 + chunk 0) + chunk 1) + ..., as vectorisable loops over the columns), zeroing the
    // accumulators read.
    parallel_blocks(d_, 4096, nt_, [&](Index, Index lo, Index hi) {
      double* g = G + lo;
      double* dg = diag ? Dg + lo : nullptr;
      const Index len = hi - lo;
      for (Index ci = 0; ci < C; ++ci) {
        double* __restrict b = buf_.data() + ci * per + lo * width;
        if (!diag) {
          if (ci == 0) {
            for (Index j = 0; j < len; ++j) g[j] = 0.0 + b[j];
          } else {
            for (Index j = 0; j < len; ++j) g[j] += b[j];
          }
        } else if (ci == 0) {
          for (Index j = 0; j < len; ++j) g[j] = 0.0 + b[2 * j], dg[j] = 0.0 + b[2 * j + 1];
        } else {
          for (Index j = 0; j < len; ++j) g[j] += b[2 * j], dg[j] += b[2 * j + 1];
        }
        std::fill(b, b + len * width, 0.0);
      }
    });
    double f = 0.0;
    S[0] = 0.0;
    if (diag) Sd[0] = 0.0;
    for (Index ci = 0; ci < C; ++ci) {
      f += fsum_[static_cast<std::size_t>(ci)];
      double* tail = buf_.data() + ci * per + d_ * width;
      S[0] += tail[0];
      if (diag) Sd[0] += tail[1];
      tail[0] = tail[1] = 0.0;
    }
    return f;
  }

 public:
  // The diagonal of X'^T diag(D_k) X' per class: D (n x K row-major) non-negative.
  void diagonal(const double* D, double* out) const {
    std::vector<double> S2(static_cast<std::size_t>(d_ * K_), 0.0), S1(S2.size(), 0.0);
    std::vector<double> S0(static_cast<std::size_t>(K_));
    col_sums(D, S0.data());
    transposed(D, S2.data(), true);
    if (!sparse()) transposed(D, S1.data(), false);
    for (Index j = 0; j < d_; ++j) {
      const double m = mean_[j], s = scale_[j];
      for (int k = 0; k < K_; ++k) {
        const Index e = j * K_ + k;
        out[e] = s * s * std::max(0.0, S2[e] - 2.0 * m * S1[e] + m * m * S0[k]);
      }
    }
  }

  // Column sums of an n x K row-major matrix (fixed chunks, reduced in order).
  void col_sums(const double* R, double* out) const {
    std::vector<double> part(static_cast<std::size_t>(ch_.count * K_), 0.0);
    parallel_for(0, ch_.count, nt_, [&](Index ci) {
      for (Index i = ch_.lo(ci); i < ch_.hi(ci); ++i) {
        for (int k = 0; k < K_; ++k) part[ci * K_ + k] += R[i * K_ + k];
      }
    });
    for (int k = 0; k < K_; ++k) out[k] = 0.0;
    for (Index ci = 0; ci < ch_.count; ++ci) {
      for (int k = 0; k < K_; ++k) out[k] += part[ci * K_ + k];
    }
  }

 private:
  // A = X~^T R (or (X~ o X~)^T R with `squared`), raw imputed values, d x K.
  void transposed(const double* R, double* A, bool squared) const {
    if (sparse()) {  // column blocks of the CSC copy: each output summed by one block, in order
      spmm(csc_, squared ? spmm_sq_ : spmm_, K_, R, nullptr, A, nt_);
      return;
    }
    std::vector<std::vector<double>> part(static_cast<std::size_t>(ch_.count));
    p_.dense->visit([&](const auto& X) {
      parallel_for(0, ch_.count, nt_, [&](Index ci) {
        auto& P = part[static_cast<std::size_t>(ci)];
        P.assign(static_cast<std::size_t>(d_ * K_), 0.0);
        for (Index i = ch_.lo(ci); i < ch_.hi(ci); ++i) {
          const double* r = R + i * K_;
          for (Index j = 0; j < d_; ++j) {
            double v = static_cast<double>(X(i, j));
            if (v != v) v = impute_[j];
            if (squared) v *= v;
            for (int k = 0; k < K_; ++k) P[j * K_ + k] += v * r[k];
          }
        }
      });
    });
    for (Index ci = 0; ci < ch_.count; ++ci) {
      const auto& P = part[static_cast<std::size_t>(ci)];
      for (Index e = 0; e < d_ * K_; ++e) A[e] += P[e];
    }
  }

  template <class X>
  void dense_rows(const X& Xv, const double* U, const double* c, Index ci, double* Z) const {
    for (Index i = ch_.lo(ci); i < ch_.hi(ci); ++i) {
      double* z = Z + i * K_;
      for (int k = 0; k < K_; ++k) z[k] = c[k];
      for (Index j = 0; j < d_; ++j) {
        double v = static_cast<double>(Xv(i, j));
        if (v != v) v = impute_[j];
        const double* u = U + j * K_;
        for (int k = 0; k < K_; ++k) z[k] += v * u[k];
      }
    }
  }

  // Weighted means (imputation values) and, with standardize, the internal centre and scale.
  void column_statistics() {
    const Eigen::VectorXd& sw = *p_.sample_weight;
    std::vector<double> s0(static_cast<std::size_t>(d_), 0.0), s1(s0), s2(s0), miss(s0);
    p_.dense->visit([&](const auto& X) {
      for (Index i = 0; i < n_; ++i) {
        for (Index j = 0; j < d_; ++j) {
          const double v = static_cast<double>(X(i, j));
          if (v != v) {
            miss[j] += sw[i];
          } else {
            s0[j] += sw[i];
            s1[j] += sw[i] * v;
          }
        }
      }
      for (Index j = 0; j < d_; ++j) impute_[j] = s0[j] > 0.0 ? s1[j] / s0[j] : 0.0;
      for (Index i = 0; i < n_; ++i) {
        for (Index j = 0; j < d_; ++j) {
          const double v = static_cast<double>(X(i, j));
          if (v == v) s2[j] += sw[i] * (v - impute_[j]) * (v - impute_[j]);
        }
      }
    });
    if (!p_.standardize) return;
    for (Index j = 0; j < d_; ++j) {
      const double tot = s0[j] + miss[j];
      const double var = tot > 0.0 ? s2[j] / tot : 0.0;
      const double mu = impute_[j];
      if (p_.fit_intercept) mean_[j] = mu;
      const double sd = std::sqrt(var + (p_.fit_intercept ? 0.0 : mu * mu));
      scale_[j] = sd > 0.0 && std::isfinite(1.0 / sd) ? 1.0 / sd : 1.0;
    }
  }

  // The compact row copy (16- or 32-bit column indices), its fixed scatter chunks and the row
  // subsample of the Hessian products.
  void make_rows() {
    rows_.ptr = csr_.ptr;
    rows_.val = csr_.val;
    const Index nnz = csr_.ptr[n_];
    const bool narrow = d_ <= 65536;  // 16-bit column indices: 2 bytes less per entry and pass
    if (narrow) {
      rows_.own_idx16.resize(static_cast<std::size_t>(nnz));
      rows_.idx16 = rows_.own_idx16.data();
    } else {
      rows_.own_idx.resize(static_cast<std::size_t>(nnz));
      rows_.idx = rows_.own_idx.data();
    }
    // One parallel pass narrows the indices and checks that a float holds every value (to ~7
    // digits: no overflow or underflow; otherwise the Hessian products keep the doubles).
    const Index block = Index(1) << 18;
    std::vector<char> ok(static_cast<std::size_t>((nnz + block - 1) / block), 1);
    parallel_blocks(nnz, block, nt_, [&](Index b, Index lo, Index hi) {
      if (narrow) {
        for (Index e = lo; e < hi; ++e)
          rows_.own_idx16[e] = static_cast<std::uint16_t>(csr_.idx[e]);
      } else {
        for (Index e = lo; e < hi; ++e) rows_.own_idx[e] = static_cast<std::uint32_t>(csr_.idx[e]);
      }
      bool good = true;
      for (Index e = lo; e < hi; ++e) {
        const double a = std::abs(csr_.val[e]);
        good &= a == 0.0 || (a < 1e30 && a > 1e-30);
      }
      ok[static_cast<std::size_t>(b)] = good;
    });
    const bool float_ok = std::all_of(ok.begin(), ok.end(), [](char c) { return c != 0; });
    // With the row subsample (many rows) the full rows' Hessian products serve only the polish
    // step of small passes (and a subsample without weight): no float copy of all values
    // otherwise (the doubles serve then).
    const bool full_float = float_ok && (n_ < kSubsampleMinRows || work_per_pass() <= kPolishWork);
    if (full_float) rows_.val32.assign(csr_.val, csr_.val + nnz);
    make_row_cuts(rows_, n_, 4);
    if (narrow) {  // fused passes are for the binary model: one margin per row
      pick_passes<std::uint16_t>(full_float, float_ok);
    } else {
      pick_passes<std::uint32_t>(full_float, float_ok);
    }
    make_subsample(float_ok, narrow);
  }

  template <class Idx>
  void pick_passes(bool full_float, bool float_ok) {
    eval_fn_ = &rows_pass<double, true, Idx>;
    hess_fn_ = full_float ? &rows_pass<float, false, Idx> : &rows_pass<double, false, Idx>;
    grad_fn_ = &rows_pass<double, false, Idx>;
    // The subsample's diagonal pass scatters no gradient (its t is 0).
    sub_diag_fn_ =
        float_ok ? &rows_pass<float, true, Idx, false> : &rows_pass<double, true, Idx, false>;
    sub_hess_fn_ = float_ok ? &rows_pass<float, false, Idx> : &rows_pass<double, false, Idx>;
  }

  // The fixed scatter chunks of a row copy: at most max_parts (the per-chunk accumulators are
  // d x K each, zeroed and reduced on every pass: the subsample takes at most 2), of about equal
  // non-zeros, and one chunk per 8 d non-zeros (below, zeroing and reducing a chunk's accumulators
  // costs a good part of its scatter: the warm start's 1-in-16 row subsample of a wide matrix
  // takes one chunk).
  void make_row_cuts(Rows& R, Index rows, Index max_parts) const {
    const Index nnz = R.ptr[rows];
    const Index parts =
        std::max<Index>(1, std::min<Index>({rows, nnz * K_ / 65536 + 1,
                                            nnz / (8 * std::max<Index>(d_, 1)) + 1, max_parts}));
    R.cuts.assign(1, 0);
    for (Index b = 1; b < parts; ++b) {
      const Index o = std::lower_bound(R.ptr, R.ptr + rows + 1, nnz * b / parts) - R.ptr;
      if (o > R.cuts.back() && o < rows) R.cuts.push_back(o);
    }
    R.cuts.push_back(rows);
  }

  // The row subsample of the Hessian products on many rows (n >= kSubsampleMinRows): the rows
  // whose hashed index is 0 modulo kSubsampleEvery, copied (compact, contiguous). It depends on n
  // only, so the fit is the same for any thread count.
  void make_subsample(bool float_ok, bool narrow) {
    if (n_ < kSubsampleMinRows) return;
    sub_.own_ptr.assign(1, 0);
    for (Index i = 0; i < n_; ++i) {
      std::uint64_t h = static_cast<std::uint64_t>(i) + 0x9E3779B97F4A7C15ULL;
      h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ULL;
      h = (h ^ (h >> 27)) * 0x94D049BB133111EBULL;
      h ^= h >> 31;
      if (h % static_cast<std::uint64_t>(kSubsampleEvery) != 0) continue;
      sub_.rows.push_back(i);
      sub_.own_ptr.push_back(sub_.own_ptr.back() + csr_.ptr[i + 1] - csr_.ptr[i]);
    }
    const Index m = static_cast<Index>(sub_.rows.size());
    const auto nnz = static_cast<std::size_t>(sub_.own_ptr.back());
    (narrow ? sub_.own_idx16.resize(nnz) : sub_.own_idx.resize(nnz));
    (float_ok ? sub_.val32.resize(nnz) : sub_.own_val.resize(nnz));
    parallel_blocks(m, 1024, nt_, [&](Index, Index lo, Index hi) {
      for (Index r = lo; r < hi; ++r) {
        const Index i = sub_.rows[static_cast<std::size_t>(r)];
        std::int64_t o = sub_.own_ptr[static_cast<std::size_t>(r)];
        for (std::int64_t e = csr_.ptr[i]; e < csr_.ptr[i + 1]; ++e, ++o) {
          if (narrow) {
            sub_.own_idx16[o] = rows_.own_idx16[e];
          } else {
            sub_.own_idx[o] = rows_.own_idx[e];
          }
          if (float_ok) {
            sub_.val32[o] = static_cast<float>(csr_.val[e]);
          } else {
            sub_.own_val[o] = csr_.val[e];
          }
        }
      }
    });
    sub_.ptr = sub_.own_ptr.data();
    sub_.idx = sub_.own_idx.data();
    sub_.idx16 = sub_.own_idx16.data();
    sub_.val = sub_.own_val.data();
    make_row_cuts(sub_, m, 2);
  }

  const LinearProblem& p_;
  int K_;
  int nt_;
  Index n_ = 0, d_ = 0;
  Compressed csr_, csc_;
  Rows rows_, sub_;
  FusedFn eval_fn_ = nullptr, hess_fn_ = nullptr;
  FusedFn grad_fn_ = nullptr, sub_diag_fn_ = nullptr;  // evaluation without the diagonal
  FusedFn sub_hess_fn_ = nullptr;                      // Hessian products on the subsample
  mutable std::vector<double> buf_, fsum_, sub_g_;
  SpmmFn spmm_ = nullptr, spmm_sq_ = nullptr;
  std::vector<double> mean_, scale_, impute_;
  Chunks ch_;
};

// The binary loss of one row at margin z, label y (0 or 1), weight w: the probability p =
// sigmoid(z), the residual w (p - y) and the loss w softplus(+-z), from one exp(-|z|).
inline __attribute__((always_inline)) void logit_row(double z, double y, double w, double& p,
                                                     double& r, double& loss) {
  const double e = exp_nonpositive(-std::abs(z));
  p = pick(z >= 0.0, 1.0, e) / (1.0 + e);
  r = w * (p - pick(y == 1.0, 1.0, 0.0));
  const double u = pick(y == 1.0, -z, z);
  const double l = log1p_unit(e);
  loss = pick(w == 0.0, 0.0, w * pick(u > 0.0, u + l, l));
}

// logit_row over m <= kRowBlock rows (margins q, labels y, weights w): Z = q, P, R and t = R,
// dd = w p (1 - p) when not null, the losses in loss.
inline __attribute__((always_inline)) void logit_block_body(
    Index m, const double* __restrict q, const double* __restrict y, const double* __restrict w,
    double* __restrict Z, double* __restrict P, double* __restrict R, double* __restrict t,
    double* __restrict dd, double* __restrict loss) {
  for (Index i = 0; i < m; ++i) {
    double p, r, l;
    logit_row(q[i], y[i], w[i], p, r, l);
    Z[i] = q[i];
    P[i] = p;
    R[i] = r;
    t[i] = r;
    loss[i] = l;
  }
  if (dd != nullptr) {
    for (Index i = 0; i < m; ++i) dd[i] = w[i] * P[i] * (1.0 - P[i]);
  }
}
using LogitBlockFn = void (*)(Index, const double*, const double*, const double*, double*, double*,
                              double*, double*, double*, double*);
void logit_block_base(Index m, const double* q, const double* y, const double* w, double* Z,
                      double* P, double* R, double* t, double* dd, double* loss) {
  logit_block_body(m, q, y, w, Z, P, R, t, dd, loss);
}
#if defined(CALIBRISK_NCG_AVX2)
__attribute__((target("avx2"))) void logit_block_avx2(Index m, const double* q, const double* y,
                                                      const double* w, double* Z, double* P,
                                                      double* R, double* t, double* dd,
                                                      double* loss) {
  logit_block_body(m, q, y, w, Z, P, R, t, dd, loss);
}
#endif
LogitBlockFn logit_block() {
#if defined(CALIBRISK_NCG_AVX2)
  if (cpu_has_avx2()) return &logit_block_avx2;
#endif
  return &logit_block_base;
}

// The loss on margins Z: value, residuals R = w (p - onehot(y)), probabilities P (kept for the
// Hessian products). K = 1: sigmoid margin of class 1; K >= 2: softmax.
class Loss {
 public:
  Loss(VectorView<const double> y, const Eigen::VectorXd& w, int K, int nt)
      : y_(y), w_(w), K_(K), nt_(nt), ch_(y.size(), 1) {
    P_.resize(static_cast<std::size_t>(y.size() * K));
    if (!y.is_contiguous()) {
      y_copy_.resize(static_cast<std::size_t>(y.size()));
      for (Index i = 0; i < y.size(); ++i) y_copy_[static_cast<std::size_t>(i)] = y[i];
    }
    y1_ = y.is_contiguous() ? y.data() : y_copy_.data();
  }

  // Binary model: rows i0 .. i0 + m - 1 (m <= kRowBlock) at margins q: Z, R, P and the values t
  // (= R) and dd (when not null) of a fused pass; returns f plus the rows' losses in row order.
  double binary_rows(Index i0, Index m, const double* q, double* Z, double* R, double* t,
                     double* dd, double f) {
    static const LogitBlockFn block = logit_block();
    double loss[kRowBlock];
    block(m, q, y1_ + i0, w_.data() + i0, Z + i0, P_.data() + i0, R + i0, t, dd, loss);
    for (Index r = 0; r < m; ++r) f += loss[r];
    return f;
  }
  // Binary model: the Hessian weights w p (1 - p) of rows i0 .. i0 + m - 1 times the margins q.
  void binary_hessian(Index i0, Index m, const double* q, double* t) const {
    const double* w = w_.data() + i0;
    const double* p = P_.data() + i0;
    for (Index r = 0; r < m; ++r) t[r] = w[r] * p[r] * (1.0 - p[r]) * q[r];
  }
  // Binary model: the Hessian weights of the listed rows times scale.
  void binary_weights(const Index* rows, Index m, double scale, double* dd) const {
    for (Index r = 0; r < m; ++r) {
      const double p = P_[static_cast<std::size_t>(rows[r])];
      dd[r] = w_[rows[r]] * p * (1.0 - p) * scale;
    }
  }

  // Data term at margins Z; fills R when not null (and always P).
  double value(const double* Z, double* R) {
    std::vector<double> part(static_cast<std::size_t>(ch_.count), 0.0);
    parallel_for(0, ch_.count, nt_, [&](Index ci) {
      double f = 0.0;
      for (Index i = ch_.lo(ci); i < ch_.hi(ci); ++i) f += row(i, Z + i * K_, R);
      part[static_cast<std::size_t>(ci)] = f;
    });
    double f = 0.0;
    for (double v : part) f += v;
    return f;
  }

  // T = (Hessian of the loss at P) applied per row to the margins Q of a direction.
  void hessian_apply(const double* Q, double* T) const {
    parallel_for(0, ch_.count, nt_, [&](Index ci) {
      for (Index i = ch_.lo(ci); i < ch_.hi(ci); ++i) hessian_row(i, Q + i * K_, T + i * K_);
    });
  }

  // The loss Hessian of row i applied to the K margins q of a direction.
  void hessian_row(Index i, const double* q, double* t) const {
    const double wi = w_[i];
    const double* p = P_.data() + i * K_;
    if (K_ == 1) {
      t[0] = wi * p[0] * (1.0 - p[0]) * q[0];
      return;
    }
    double pq = 0.0;
    for (int k = 0; k < K_; ++k) pq += p[k] * q[k];
    for (int k = 0; k < K_; ++k) t[k] = wi * p[k] * (q[k] - pq);
  }

  // Diagonal Hessian weights w p_k (1 - p_k).
  void diagonal_weights(double* D) const {
    for (Index i = 0; i < y_.size(); ++i) diagonal_row(i, D + i * K_);
  }
  void diagonal_row(Index i, double* dd) const {
    for (int k = 0; k < K_; ++k) {
      const double p = P_[static_cast<std::size_t>(i * K_ + k)];
      dd[k] = w_[i] * p * (1.0 - p);
    }
  }

  // Row i's loss at margins z; sets its probabilities and, when R is not null, R's row i.
  double row(Index i, const double* z, double* R) {
    const double wi = w_[i];
    const auto yi = static_cast<int>(y_[i]);
    double* p = P_.data() + i * K_;
    if (K_ == 1) {  // the same bits as binary_rows
      double r, loss;
      logit_row(z[0], y1_[i], wi, p[0], r, loss);
      if (R != nullptr) R[i] = r;
      return loss;
    }
    double m = z[0];
    for (int k = 1; k < K_; ++k) m = std::max(m, z[k]);
    double s = 0.0;
    for (int k = 0; k < K_; ++k) s += (p[k] = std::exp(z[k] - m));
    for (int k = 0; k < K_; ++k) p[k] /= s;
    if (R != nullptr) {
      for (int k = 0; k < K_; ++k) R[i * K_ + k] = wi * (p[k] - (k == yi ? 1.0 : 0.0));
    }
    return wi == 0.0 ? 0.0 : wi * (m + std::log(s) - z[yi]);
  }

 private:
  VectorView<const double> y_;
  const Eigen::VectorXd& w_;
  int K_;
  int nt_;
  Chunks ch_;
  std::vector<double> P_;
  std::vector<double> y_copy_;  // the labels, when y is strided
  const double* y1_ = nullptr;  // contiguous labels
};

// Fused-pass steps (sparse input): the loss, residuals and diagonal weights at the margins of the
// coefficients (EvalOp), and the Hessian of the loss applied to the margins of a direction (HvOp).
class EvalOp final : public RowOp {
 public:
  EvalOp(Loss& loss, double* Z, double* R) : loss_(loss), Z_(Z), R_(R) {}
  double rows(Index i0, Index m, const double* q, double* t, double* dd, double f) override {
    return loss_.binary_rows(i0, m, q, Z_, R_, t, dd, f);
  }

 private:
  Loss& loss_;
  double *Z_, *R_;
};

class HvOp final : public RowOp {
 public:
  HvOp(const Loss& loss, double* Q) : loss_(loss), Q_(Q) {}
  double rows(Index i0, Index m, const double* q, double* t, double*, double f) override {
    std::copy(q, q + m, Q_ + i0);
    loss_.binary_hessian(i0, m, q, t);
    return f;
  }

 private:
  const Loss& loss_;
  double* Q_;
};

// The Hessian of the loss on a row subsample: the weights D (w p (1 - p) per subsample row, scaled
// by total weight / subsample weight; SubDiagOp) times the margins.
class SubHvOp final : public RowOp {
 public:
  explicit SubHvOp(const std::vector<double>& D) : D_(D) {}
  double rows(Index i0, Index m, const double* q, double* t, double*, double f) override {
    const double* D = D_.data() + i0;
    for (Index r = 0; r < m; ++r) t[r] = D[r] * q[r];
    return f;
  }

 private:
  const std::vector<double>& D_;
};

// The Hessian diagonal's weights on the row subsample, scaled (no scatter of t); keeps them in D
// for the Hessian products (SubHvOp).
class SubDiagOp final : public RowOp {
 public:
  SubDiagOp(const Loss& loss, const std::vector<Index>& rows, double scale, std::vector<double>& D)
      : loss_(loss), rows_(rows), scale_(scale), D_(D) {
    D_.resize(rows.size());
  }
  double rows(Index i0, Index m, const double*, double* t, double* dd, double f) override {
    loss_.binary_weights(rows_.data() + i0, m, scale_, dd);
    std::copy(dd, dd + m, D_.data() + i0);
    std::fill(t, t + m, 0.0);
    return f;
  }

 private:
  const Loss& loss_;
  const std::vector<Index>& rows_;
  double scale_;
  std::vector<double>& D_;
};

// The penalised objective in internal coordinates theta = [V (d x K row-major), b (K)].
struct Problem {
  Design& X;
  Loss& loss;
  Vec lambda;  // per coordinate (0 for the intercepts)
  Index d, K;
  bool intercept;
  double sum_w;
  double sub_scale = 0.0;  // > 0: Hessian products on the row subsample, scaled by this
  // Buffers kept across iterations: the subsample's scaled Hessian weights (SubDiagOp), the data
  // part of the gradient, pcg's vectors.
  struct Work {
    std::vector<double> sub_d, raw, Q, T;
    Vec r, z, p, Hp;
  };
  mutable Work work;

  Index size() const { return d * K + K; }
  double penalty(const Vec& th) const { return 0.5 * (lambda.array() * th.array().square()).sum(); }
  // Gradient at the margins Z (loss.value already called with R); returns the raw-scale gmax.
  // With D (binary sparse input), also the data part of the Hessian diagonal in `diag`.
  double gradient(const Vec& th, const std::vector<double>& R, Vec& g) const {
    std::vector<double> raw;
    X.gradient(R.data(), g.data(), g.data() + d * K, &raw);
    g.array() += lambda.array() * th.array();
    if (!intercept) g.tail(K).setZero();
    return raw_gmax(th, raw, g);
  }
  // The raw-scale gmax from the data part of the gradient `raw` and g (penalty added).
  double raw_gmax(const Vec& th, const std::vector<double>& raw, const Vec& g) const {
    double m = 0.0;
    for (Index j = 0; j < d; ++j) {
      for (Index k = 0; k < K; ++k) {
        const Index e = j * K + k;
        const double beta = th[e] * X.scale()[static_cast<std::size_t>(j)];
        const double pen =
            lambda[e] == 0.0 ? 0.0 : beta * lambda[e] / (X.scale()[j] * X.scale()[j]);
        m = std::max(m, std::abs(raw[static_cast<std::size_t>(e)] + pen));
      }
    }
    if (intercept) m = std::max(m, g.tail(K).cwiseAbs().maxCoeff());
    return m / sum_w;
  }
  // Sparse input: f, the margins Z, residuals R, gradient g, its gmax and the Hessian diagonal's
  // data part (diag) at th, in one fused pass.
  double evaluate_fused(const Vec& th, std::vector<double>& Z, std::vector<double>& R, Vec& g,
                        Vec& diag, double& gmax) const {
    EvalOp op(loss, Z.data(), R.data());
    diag.resize(size());
    double f;
    if (sub_scale > 0.0) {  // the preconditioner's diagonal from the row subsample
      f = X.fused_grad(th.data(), th.data() + d * K, op, g.data(), g.data() + d * K);
      SubDiagOp dop(loss, X.sub_rows(), sub_scale, work.sub_d);
      X.sub_diagonal(dop, diag.data(), diag.data() + d * K);
    } else {
      f = X.fused(th.data(), th.data() + d * K, op, g.data(), g.data() + d * K, diag.data(),
                  diag.data() + d * K);
    }
    work.raw.assign(g.data(), g.data() + d * K);
    g.array() += lambda.array() * th.array();
    if (!intercept) g.tail(K).setZero();
    gmax = raw_gmax(th, work.raw, g);
    return f + penalty(th);
  }
  // H v, with the direction's margins in Q (n x K).
  void hess_vec(const Vec& v, std::vector<double>& Q, std::vector<double>& T, Vec& out) const {
    if (sub_scale > 0.0) {
      SubHvOp op(work.sub_d);
      X.fused_sub(v.data(), v.data() + d * K, op, out.data(), out.data() + d * K);
      out.array() += lambda.array() * v.array();
      if (!intercept) out.tail(K).setZero();
      return;
    }
    if (X.fused_passes()) {
      HvOp op(loss, Q.data());
      X.fused(v.data(), v.data() + d * K, op, out.data(), out.data() + d * K, nullptr, nullptr);
      out.array() += lambda.array() * v.array();
      if (!intercept) out.tail(K).setZero();
      return;
    }
    X.margins(v.data(), v.data() + d * K, Q.data());
    loss.hessian_apply(Q.data(), T.data());
    X.gradient(T.data(), out.data(), out.data() + d * K, nullptr);
    out.array() += lambda.array() * v.array();
    if (!intercept) out.tail(K).setZero();
  }
};

// Preconditioned CG on H s = -g to relative residual eta, or until max |r| <= r_inf (r = -g - H s
// is the gradient the quadratic model predicts after the step: once it meets the stopping rule,
// more CG iterations cannot save a Newton iteration); accumulates the margins of s in Zs.
// Returns the number of Hessian products.
int pcg(const Problem& P, const Vec& g, const Vec& Minv, double eta, double r_inf, int max_cg,
        Vec& s, std::vector<double>& Zs) {
  const Index q = P.size();
  const std::size_t nk = Zs.size();
  // Work vectors kept in P across calls; the margins of the step only without the subsample.
  std::vector<double>&Q = P.work.Q, &T = P.work.T;
  if (P.sub_scale == 0.0) {
    Q.resize(nk), T.resize(nk);
    std::fill(Zs.begin(), Zs.end(), 0.0);
  }
  s.setZero(q);
  Vec &r = P.work.r, &z = P.work.z, &pdir = P.work.p, &Hp = P.work.Hp;
  r = -g;
  z = Minv.cwiseProduct(r);
  pdir = z;
  Hp.resize(q);
  double rz = r.dot(z);
  const double stop = eta * g.norm();
  int it = 0;
  while (it < max_cg && r.norm() > stop && !(r.lpNorm<Eigen::Infinity>() <= r_inf)) {
    P.hess_vec(pdir, Q, T, Hp);
    ++it;
    const double pHp = pdir.dot(Hp);
    if (!(pHp > 0.0)) break;  // no curvature left along p (a flat direction): stop here
    const double alpha = rz / pHp;
    s += alpha * pdir;
    if (P.sub_scale == 0.0) {
      for (std::size_t e = 0; e < nk; ++e) Zs[e] += alpha * Q[e];
    }
    r -= alpha * Hp;
    z = Minv.cwiseProduct(r);
    const double rz_new = r.dot(z);
    pdir = z + (rz_new / rz) * pdir;
    rz = rz_new;
  }
  if (it == 0 || s.squaredNorm() == 0.0) {  // fall back to the preconditioned gradient
    s = Minv.cwiseProduct(-g);
    if (P.sub_scale == 0.0) P.X.margins(s.data(), s.data() + P.d * P.K, Zs.data());
  }
  return it;
}

// The inverse of the Hessian diagonal `diag` (data part) plus the penalty, floored.
void invert_diagonal(const Problem& P, const Vec& diag, Vec& Minv) {
  Minv.resize(P.size());
  double top = -std::numeric_limits<double>::infinity();
  for (Index e = 0; e < P.size(); ++e) top = std::max(top, diag[e] + P.lambda[e]);
  const double floor = std::max(1e-12, 1e-12 * top);
  for (Index e = 0; e < P.size(); ++e) Minv[e] = 1.0 / std::max(diag[e] + P.lambda[e], floor);
  if (!P.intercept) Minv.tail(P.K).setZero();
}

// The inverse diagonal of H at the current probabilities (the preconditioner).
void inverse_diagonal(const Problem& P, std::vector<double>& D, Vec& Minv) {
  P.loss.diagonal_weights(D.data());
  Vec diag(P.size());
  P.X.diagonal(D.data(), diag.data());
  P.X.col_sums(D.data(), diag.data() + P.d * P.K);
  invert_diagonal(P, diag, Minv);
}

// Initial intercepts: weighted class log-priors (centred for softmax).
Vec initial_theta(const LinearProblem& prob, Index d, int K) {
  Vec th = Vec::Zero(d * K + K);
  if (!prob.fit_intercept) return th;
  std::vector<double> tot(static_cast<std::size_t>(prob.n_classes), 0.0);
  for (Index i = 0; i < prob.y.size(); ++i)
    tot[static_cast<std::size_t>(prob.y[i])] += (*prob.w)[i];
  if (K == 1) {
    th[d] = std::log(tot[1] / tot[0]);
    return th;
  }
  double mean = 0.0;
  for (int k = 0; k < K; ++k) mean += std::log(std::max(tot[k], 1e-300)) / K;
  for (int k = 0; k < K; ++k) th[d * K + k] = std::log(std::max(tot[k], 1e-300)) - mean;
  return th;
}

struct NewtonState {
  Vec th, g;
  std::vector<double> Z, R;
  double f = 0.0, gmax = 0.0;
  Vec diag;  // Hessian diagonal (data part) at th (sparse input: from the evaluation pass)
};

// Evaluates f and the gradient at th from its exact margins (sparse input: one fused pass that
// also gives the preconditioner's diagonal).
void evaluate(const Problem& P, NewtonState& S) {
  if (P.X.fused_passes()) {
    S.f = P.evaluate_fused(S.th, S.Z, S.R, S.g, S.diag, S.gmax);
    return;
  }
  P.X.margins(S.th.data(), S.th.data() + P.d * P.K, S.Z.data());
  S.f = P.loss.value(S.Z.data(), S.R.data()) + P.penalty(S.th);
  S.gmax = P.gradient(S.th, S.R, S.g);
}

// Armijo backtracking along s using the margins Zs (no data pass); updates S on success.
bool line_search(const Problem& P, NewtonState& S, const Vec& s, const std::vector<double>& Zs) {
  const double dec = S.g.dot(s);
  if (!(dec < 0.0)) return false;
  std::vector<double> Zt(S.Z.size());
  double t = 1.0;
  for (int ls = 0; ls < 50; ++ls, t *= 0.5) {
    for (std::size_t e = 0; e < Zt.size(); ++e) Zt[e] = S.Z[e] + t * Zs[e];
    const Vec th = S.th + t * s;
    const double f = P.loss.value(Zt.data(), S.R.data()) + P.penalty(th);
    const bool tiny = -t * dec <= 64.0 * std::numeric_limits<double>::epsilon() * std::abs(S.f);
    if (std::isfinite(f) && (f <= S.f + 1e-4 * t * dec || tiny)) {
      S.th = th;
      if (P.X.fused_passes()) {  // exact margins, f and gradient in one pass
        evaluate(P, S);
        return true;
      }
      S.Z.swap(Zt);
      S.f = f;
      S.gmax = P.gradient(S.th, S.R, S.g);
      return true;
    }
  }
  P.loss.value(S.Z.data(), S.R.data());  // restore P and R at the current point
  return false;
}

// With subsampled Hessian products (no margins of s from CG): evaluates the full step exactly in
// one pass and keeps it if it meets the Armijo condition; otherwise backtracks on the margins of
// s taken from that pass (line_search). Updates S on success.
// T: a work state (its buffers are reused).
bool full_step(const Problem& P, NewtonState& S, const Vec& s, std::vector<double>& Zs,
               NewtonState& T) {
  const double dec = S.g.dot(s);
  if (!(dec < 0.0)) return false;
  T.th = S.th + s;
  T.g.resize(S.g.size());
  T.Z.resize(S.Z.size());
  T.R.resize(S.R.size());
  evaluate(P, T);
  const bool tiny = -dec <= 64.0 * std::numeric_limits<double>::epsilon() * std::abs(S.f);
  if (std::isfinite(T.f) && (T.f <= S.f + 1e-4 * dec || tiny)) {
    std::swap(S, T);  // T keeps the old point's buffers for the next step
    return true;
  }
  for (std::size_t e = 0; e < Zs.size(); ++e) Zs[e] = T.Z[e] - S.Z[e];
  return line_search(P, S, s, Zs);
}

// Warm start (LinearProblem::warm_start; sparse input with n >= kWarmMinRows rows): the same
// per-row problem on the rows whose hashed index (seeded apart from the Hessian subsample's) is 0
// modulo kWarmEvery, solved to kWarmTol, is the full solve's starting point. The subsample depends
// on n only (never on the thread count or the row order of the passes). Below kWarmMinRows rows the
// subsample (< 2048 rows) is too small to be informative and the cold fit is cheap anyway; a
// subsample missing a class (or with no weight on one) is not used either. Binary model only:
// on the 10-class TF-IDF shape the warm start with its decrement check was measured slower than
// the cold fit (2.6-3.0 s against 1.4-2.4 s CPU; the cold fit already ends below lbfgs's
// objective there), so K >= 3 keeps the cold start (kWarmMaxClasses).
constexpr Index kWarmEvery = 16;
constexpr Index kWarmMinRows = 32768;
constexpr double kWarmTol = 1e-4;
constexpr int kWarmMaxClasses = 2;
// Warm-started fits also stop only once the Newton decrement, g^T s with s the CG step, is at most
// kDecrementRel |f|: f - f* ~ g^T H^-1 g / 2 (measured on the TF-IDF shape with the subsampled
// Hessian: f - f* ~ 0.6 g^T s), so the objective is within ~1.5e-9 (relative) of the optimum,
// inside the 1e-8 allowance against any solver's objective. (max |g| <= tol alone left f - f* up
// to ~8e-6 |f| there, above scikit-learn's lbfgs on one seed.)
constexpr double kDecrementRel = 2e-9;

bool warm_row(Index i) {
  std::uint64_t h = (static_cast<std::uint64_t>(i) ^ 0xD1B54A32D192ED03ULL) + 0x9E3779B97F4A7C15ULL;
  h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ULL;
  h = (h ^ (h >> 27)) * 0x94D049BB133111EBULL;
  h ^= h >> 31;
  return h % static_cast<std::uint64_t>(kWarmEvery) == 0;
}

// A row subsample of a sparse problem, in the input's layout (CSR rows or CSC columns).
struct RowSubsample {
  std::vector<std::int64_t> ptr, idx;
  std::vector<double> val, y;
  std::vector<Index> cols;     // the full matrix's index of each column kept
  std::vector<double> factor;  // their penalty factors (when the problem has them)
  Eigen::VectorXd w;
  SparseMatrixView X;
};

// The subsample's labels and weights (pos: the row's position in the subsample, or -1); false
// when a class has no weight in it.
bool take_labels(const LinearProblem& prob, const std::vector<Index>& pos, Index m,
                 RowSubsample& sub) {
  sub.y.resize(static_cast<std::size_t>(m));
  sub.w.resize(m);
  std::vector<double> tot(static_cast<std::size_t>(std::max(prob.n_classes, 2)), 0.0);
  for (Index i = 0; i < prob.y.size(); ++i) {
    const Index r = pos[static_cast<std::size_t>(i)];
    if (r < 0) continue;
    sub.y[static_cast<std::size_t>(r)] = prob.y[i];
    sub.w[r] = (*prob.w)[i];
    tot[static_cast<std::size_t>(prob.y[i])] += (*prob.w)[i];
  }
  return std::all_of(tot.begin(), tot.end(), [](double t) { return t > 0.0; });
}

// The subsample's rows with only the columns that have an entry there (sub.cols: their indices
// in the full matrix): the others' coefficients are 0 at the subsample's optimum (no data, only
// the penalty), and every pass and vector of the subsample solve is shorter (the 1-in-16 rows of a
// TF-IDF matrix touch 18.9k of its 50k columns).
bool take_rows(const LinearProblem& prob, RowSubsample& sub) {
  const SparseMatrixView& A = *prob.sparse;
  std::vector<Index> pos(static_cast<std::size_t>(A.rows), -1);
  Index m = 0;
  for (Index i = 0; i < A.rows; ++i) {
    if (warm_row(i)) pos[static_cast<std::size_t>(i)] = m++;
  }
  if (m == 0 || !take_labels(prob, pos, m, sub)) return false;
  sub.ptr.assign(1, 0);
  if (A.csr) {
    std::int64_t nnz = 0;
    for (Index i = 0; i < A.rows; ++i) {
      if (pos[static_cast<std::size_t>(i)] >= 0) nnz += A.indptr[i + 1] - A.indptr[i];
    }
    sub.idx.reserve(static_cast<std::size_t>(nnz));
    sub.val.reserve(static_cast<std::size_t>(nnz));
    sub.ptr.reserve(static_cast<std::size_t>(m + 1));
    std::vector<Index> col(static_cast<std::size_t>(A.cols), -1);  // the compact column index
    for (Index i = 0; i < A.rows; ++i) {
      if (pos[static_cast<std::size_t>(i)] < 0) continue;
      sub.idx.insert(sub.idx.end(), A.indices + A.indptr[i], A.indices + A.indptr[i + 1]);
      sub.val.insert(sub.val.end(), A.values + A.indptr[i], A.values + A.indptr[i + 1]);
      sub.ptr.push_back(static_cast<std::int64_t>(sub.idx.size()));
      for (std::int64_t e = A.indptr[i]; e < A.indptr[i + 1]; ++e) col[A.indices[e]] = 0;
    }
    for (Index j = 0; j < A.cols; ++j) {
      if (col[static_cast<std::size_t>(j)] < 0) continue;
      col[static_cast<std::size_t>(j)] = static_cast<Index>(sub.cols.size());
      sub.cols.push_back(j);
    }
    for (auto& j : sub.idx) j = col[static_cast<std::size_t>(j)];
  } else {  // CSC: each column's entries in the subsample (row order kept: pos increases)
    for (Index j = 0; j < A.cols; ++j) {
      for (std::int64_t e = A.indptr[j]; e < A.indptr[j + 1]; ++e) {
        const Index r = pos[static_cast<std::size_t>(A.indices[e])];
        if (r < 0) continue;
        sub.idx.push_back(r);
        sub.val.push_back(A.values[e]);
      }
      if (static_cast<std::int64_t>(sub.idx.size()) == sub.ptr.back()) continue;
      sub.ptr.push_back(static_cast<std::int64_t>(sub.idx.size()));
      sub.cols.push_back(j);
    }
  }
  if (sub.cols.empty()) return false;
  if (prob.penalty_factor != nullptr) {
    for (Index j : sub.cols)
      sub.factor.push_back((*prob.penalty_factor)[static_cast<std::size_t>(j)]);
  }
  sub.X.indptr = sub.ptr.data();
  sub.X.indices = sub.idx.data();
  sub.X.values = sub.val.data();
  sub.X.rows = m;
  sub.X.cols = static_cast<Index>(sub.cols.size());
  sub.X.csr = A.csr;
  return true;
}

// The warm start's theta (internal = raw coordinates for sparse input), or false when not used.
bool warm_eligible(const LinearProblem& prob) {
  return prob.warm_start && prob.sparse != nullptr && prob.sparse->rows >= kWarmMinRows &&
         prob.n_classes <= kWarmMaxClasses;
}

bool warm_theta(const LinearProblem& prob, Index d, int K, Vec& th) {
  if (!warm_eligible(prob)) return false;
  RowSubsample sub;
  if (!take_rows(prob, sub)) return false;
  LinearProblem q = prob;
  q.sparse = &sub.X;
  q.y = VectorView<const double>(sub.y);
  q.w = &sub.w;
  q.sample_weight = nullptr;
  if (prob.penalty_factor != nullptr) q.penalty_factor = &sub.factor;
  q.warm_start = false;
  q.polish = false;  // a starting point: the full solve's own rule decides the accuracy
  q.tol = std::max(prob.tol, kWarmTol);
  // The same per-row problem: the penalty shrinks with the subsample's share of the weight.
  if (std::isfinite(prob.C)) q.C = prob.C * prob.w->sum() / sub.w.sum();
  // Passes over ~1/16 of the data are too short to amortise a parallel region (the threshold of
  // the estimators' thread choice); the result is the same for any thread count.
  if (double(sub.X.nnz()) * K * 4.0 < double(1 << 23)) q.n_threads = 1;
  const LinearSolution r = solve_newton_cg(q);
  th = Vec::Zero(d * K + K);
  for (std::size_t j = 0; j < sub.cols.size(); ++j) {
    for (Index k = 0; k < K; ++k) th[sub.cols[j] * K + k] = r.coef(static_cast<Index>(j), k);
  }
  if (prob.fit_intercept) th.tail(K) = r.intercept;
  return th.allFinite();
}
}  // namespace

void sparse_margins(const SparseMatrixView& X, const Eigen::MatrixXd& B, const Eigen::VectorXd& b,
                    double* out, int n_threads) {
  const Index n = X.rows, K = B.cols();
  for (Index i = 0; i < n; ++i) {
    for (Index k = 0; k < K; ++k) out[i * K + k] = b[k];
  }
  if (X.csr) {
    parallel_blocks(n, 4096, n_threads, [&](Index, Index lo, Index hi) {
      for (Index i = lo; i < hi; ++i) {
        for (std::int64_t e = X.indptr[i]; e < X.indptr[i + 1]; ++e) {
          for (Index k = 0; k < K; ++k) out[i * K + k] += X.values[e] * B(X.indices[e], k);
        }
      }
    });
    return;
  }
  for (Index j = 0; j < X.cols; ++j) {  // CSC: column by column, in a fixed order
    for (std::int64_t e = X.indptr[j]; e < X.indptr[j + 1]; ++e) {
      for (Index k = 0; k < K; ++k) out[X.indices[e] * K + k] += X.values[e] * B(j, k);
    }
  }
}

namespace {

// The penalty per internal coordinate and the Hessian subsample's scale.
void set_penalty(const LinearProblem& prob, const Design& X, Problem& P) {
  const Index d = P.d, K = P.K;
  if (std::isfinite(prob.C)) {
    for (Index j = 0; j < d; ++j) {
      const double factor =
          prob.penalty_factor ? (*prob.penalty_factor)[static_cast<std::size_t>(j)] : 1.0;
      for (Index k = 0; k < K; ++k) {
        P.lambda[j * K + k] = factor * X.scale()[j] * X.scale()[j] / prob.C;
      }
    }
  }
  if (!X.sub_rows().empty()) {
    double sw = 0.0;
    for (Index i : X.sub_rows()) sw += (*prob.w)[i];
    if (sw > 0.0) P.sub_scale = P.sum_w / sw;
  }
}

// The Newton iterations from S; returns the iteration count (notes and n_cg into out).
int newton_iterations(const LinearProblem& prob, Problem& P, NewtonState& S, bool warm,
                      LinearSolution& out) {
  const Design& X = P.X;
  std::vector<double> Zs(S.Z.size()), D(X.fused_passes() ? 0 : S.Z.size());
  Vec Minv;
  NewtonState work;  // full_step's trial point
  Vec s;
  const double g0 = std::max(S.g.norm(), 1e-300);
  int it = 0;
  // Once the stopping rule holds on a small problem, one more step with a tight CG tolerance
  // ("polish") takes the solution from tol-accuracy to about tol^2 (what exact Newton's quadratic
  // convergence gives), so fits that differ only in round-off (row order, repeated rows vs
  // weights) agree closely. It costs about a Newton iteration, so larger problems (a pass over
  // the data above ~2^20 multiply-adds) stop at the stopping rule, as scikit-learn does.
  const bool may_polish = prob.polish && X.work_per_pass() <= kPolishWork;
  // In raw coordinates (no internal standardisation) the CG residual is the predicted raw
  // gradient, so CG can stop as soon as it predicts the stopping rule with a margin of 2.
  const double r_inf = X.sparse() || !prob.standardize ? 0.5 * prob.tol * P.sum_w : 0.0;
  bool polish = false;
  NewtonState before;
  while (it < prob.max_iter) {
    bool check = false;  // warm start: the rule holds; stop if the Newton decrement is negligible
    if (S.gmax <= prob.tol) {
      if (!X.fused_passes()) evaluate(P, S);  // confirm on exact margins (accumulated ones drift)
      if (S.gmax <= prob.tol) {
        if (polish || (!may_polish && !warm)) break;
        check = !may_polish;
        polish = may_polish;
        if (polish) before = S;
      }
    }
    if (X.fused_passes()) {
      invert_diagonal(P, S.diag, Minv);
    } else {
      inverse_diagonal(P, D, Minv);
    }
    if (polish) P.sub_scale = 0.0;  // the polish step uses the exact Hessian
    const double eta = polish ? 1e-4 : check ? 0.1 : std::min(0.5, std::sqrt(S.g.norm() / g0));
    const int n_cg = pcg(P, S.g, Minv, eta, polish || check ? 0.0 : r_inf, 500, s, Zs);
    out.n_cg += n_cg;
    if (check && -S.g.dot(s) <= kDecrementRel * std::abs(S.f)) break;
    ++it;
    const bool moved = P.sub_scale > 0.0 ? full_step(P, S, s, Zs, work) : line_search(P, S, s, Zs);
    if (polish) {
      evaluate(P, S);
      if (!(S.gmax <= before.gmax)) S = std::move(before);  // round-off won: keep the old point
      break;
    }
    if (!moved) {
      evaluate(P, S);
      out.notes.push_back("the line search made no progress at iteration " + std::to_string(it) +
                          " (numerical precision reached)");
      break;
    }
  }
  return it;
}

// The internal theta back in raw coordinates: beta = s o V, b_raw = b - mean . beta; softmax
// intercepts centred.
void to_raw(const LinearProblem& prob, const Design& X, const Vec& th, int K, LinearSolution& out) {
  const Index d = X.d();
  out.coef.resize(d, K);
  out.intercept.resize(K);
  for (Index k = 0; k < K; ++k) {
    double b = prob.fit_intercept ? th[d * K + k] : 0.0;
    for (Index j = 0; j < d; ++j) {
      out.coef(j, k) = th[j * K + k] * X.scale()[j];
      b -= X.mean()[j] * out.coef(j, k);
    }
    out.intercept[k] = prob.fit_intercept ? b : 0.0;
  }
  if (K > 1) {
    if (prob.fit_intercept) out.intercept.array() -= out.intercept.mean();
    if (!std::isfinite(prob.C)) {  // unpenalised softmax: fix the free shift of the coefficients
      const Vec row_mean = out.coef.rowwise().mean();
      out.coef.colwise() -= row_mean;
    }
  }
  out.impute = X.impute();
  if (!X.sparse()) {
    out.feature_mean = X.mean();
    out.feature_scale.resize(static_cast<std::size_t>(d));
    for (Index j = 0; j < d; ++j) out.feature_scale[j] = 1.0 / X.scale()[j];
  }
}

}  // namespace

LinearSolution solve_newton_cg(const LinearProblem& prob) {
  const int K = prob.n_classes == 2 ? 1 : prob.n_classes;
  LinearSolution out;
  Vec th0;
  // The warm start's subsample solve runs on one thread (its passes are short), so with more
  // threads the full problem's row copies are built meanwhile (their own loops then run on one
  // thread; the copies are the same).
  std::optional<Design> design;
  const Index d_in = prob.sparse != nullptr ? prob.sparse->cols : 0;
  if (warm_eligible(prob) && resolve_threads(prob.n_threads) > 1) {
    parallel_for(0, 2, prob.n_threads, [&](Index t) {
      if (t == 0) {
        out.warm_started = warm_theta(prob, d_in, K, th0);
      } else {
        design.emplace(prob, K);
      }
    });
  } else {
    out.warm_started = warm_theta(prob, d_in, K, th0);
    design.emplace(prob, K);
  }
  Design& X = *design;
  const Index n = X.n(), d = X.d();
  Loss loss(prob.y, *prob.w, K, prob.n_threads);
  Problem P{X, loss, Vec::Zero(d * K + K), d, K, prob.fit_intercept, prob.w->sum(), 0.0, {}};
  set_penalty(prob, X, P);
  NewtonState S;
  S.th = out.warm_started ? th0 : initial_theta(prob, d, K);
  S.g.resize(P.size());
  S.Z.resize(static_cast<std::size_t>(n * K));
  S.R.resize(S.Z.size());
  evaluate(P, S);
  const int it = newton_iterations(prob, P, S, out.warm_started, out);
  if (S.gmax > prob.tol) evaluate(P, S);
  out.converged = S.gmax <= prob.tol;
  out.f = S.f;
  out.gmax = S.gmax;
  out.n_iter = it;
  to_raw(prob, X, S.th, K, out);
  return out;
}

}  // namespace calibrisk::detail
