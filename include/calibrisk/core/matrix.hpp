// SPDX-License-Identifier: Apache-2.0
/// @file matrix.hpp
/// Non-owning strided views over caller memory: the way every array enters calibrisk.
#pragma once

#include <Eigen/Core>

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

namespace calibrisk {

/// Signed index type, as `Eigen::Index`; OpenMP loops want a signed counter.
using Index = std::ptrdiff_t;

/// Most levels (distinct categories) one categorical column may have, everywhere: the label
/// encoder, the trees' category codes and logistic regression's expansion.
inline constexpr Index kMaxCategoryLevels = 1'000'000;

/// A 2-D non-owning view `(rows, cols)` with arbitrary element strides.
///
/// `T` is `const float` / `const double` for inputs and `double` for outputs. Element (i, j) lives
/// at `data[i * row_stride + j * col_stride]`, so both C-ordered (row-major) and Fortran-ordered
/// (column-major) arrays, and slices of them, are viewed without a copy. `X` is always
/// `(n_samples, n_features)`. The view never owns or frees memory; the caller keeps it alive.
template <class T>
class MatrixView {
 public:
  using value_type = std::remove_const_t<T>;

  MatrixView() = default;
  /// @param data        first element; may be null only when rows * cols == 0
  /// @param rows, cols  shape, both >= 0
  /// @param row_stride  distance in elements between (i, j) and (i + 1, j)
  /// @param col_stride  distance in elements between (i, j) and (i, j + 1)
  MatrixView(T* data, Index rows, Index cols, Index row_stride, Index col_stride) noexcept
      : data_(data), rows_(rows), cols_(cols), row_stride_(row_stride), col_stride_(col_stride) {}

  /// A C-ordered (row-major) contiguous block.
  static MatrixView row_major(T* data, Index rows, Index cols) noexcept {
    return MatrixView(data, rows, cols, cols, 1);
  }
  /// A Fortran-ordered (column-major) contiguous block, as Eigen's default matrices.
  static MatrixView col_major(T* data, Index rows, Index cols) noexcept {
    return MatrixView(data, rows, cols, 1, rows);
  }

  /// Implicit conversion from a mutable view to a const one.
  template <class U, class = std::enable_if_t<std::is_same_v<const U, T> && !std::is_same_v<U, T>>>
  MatrixView(const MatrixView<U>& other) noexcept  // NOLINT(google-explicit-constructor)
      : MatrixView(other.data(), other.rows(), other.cols(), other.row_stride(),
                   other.col_stride()) {}

  T* data() const noexcept { return data_; }
  Index rows() const noexcept { return rows_; }
  Index cols() const noexcept { return cols_; }
  Index size() const noexcept { return rows_ * cols_; }
  Index row_stride() const noexcept { return row_stride_; }
  Index col_stride() const noexcept { return col_stride_; }
  bool empty() const noexcept { return rows_ == 0 || cols_ == 0; }
  /// True when rows are contiguous (C order): `row(i)` can be read as a plain pointer.
  bool is_row_major() const noexcept { return col_stride_ == 1 || cols_ <= 1; }
  /// True when columns are contiguous (Fortran order).
  bool is_col_major() const noexcept { return row_stride_ == 1 || rows_ <= 1; }

  T& operator()(Index i, Index j) const noexcept {
    return data_[i * row_stride_ + j * col_stride_];
  }
  /// Pointer to the first element of row i; contiguous only when `is_row_major()`.
  T* row_ptr(Index i) const noexcept { return data_ + i * row_stride_; }
  /// Pointer to the first element of column j; contiguous only when `is_col_major()`.
  T* col_ptr(Index j) const noexcept { return data_ + j * col_stride_; }

  /// Rows [begin, begin + count) as a view.
  MatrixView middle_rows(Index begin, Index count) const noexcept {
    return MatrixView(data_ + begin * row_stride_, count, cols_, row_stride_, col_stride_);
  }

  /// An Eigen map with dynamic strides over the same memory: linear algebra without a copy.
  auto eigen() const noexcept {
    using Mat = Eigen::Matrix<value_type, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
    using MapT = std::conditional_t<std::is_const_v<T>, const Mat, Mat>;
    using Stride = Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>;
    // For a column-major map the outer stride steps between columns, the inner one between rows.
    return Eigen::Map<MapT, Eigen::Unaligned, Stride>(data_, rows_, cols_,
                                                      Stride(col_stride_, row_stride_));
  }

 private:
  T* data_ = nullptr;
  Index rows_ = 0;
  Index cols_ = 0;
  Index row_stride_ = 0;
  Index col_stride_ = 0;
};

/// A 1-D non-owning strided view; the twin of `MatrixView`.
template <class T>
class VectorView {
 public:
  using value_type = std::remove_const_t<T>;

  VectorView() = default;
  VectorView(T* data, Index size, Index stride = 1) noexcept
      : data_(data), size_(size), stride_(stride) {}
  /// Views a std::vector (const or not) without copying.
  template <class U, class A, class = std::enable_if_t<std::is_same_v<std::remove_const_t<T>, U>>>
  VectorView(std::vector<U, A>& v) noexcept  // NOLINT(google-explicit-constructor)
      : VectorView(v.data(), static_cast<Index>(v.size())) {}
  template <class U, class A,
            class = std::enable_if_t<std::is_const_v<T> && std::is_same_v<const U, T>>>
  VectorView(const std::vector<U, A>& v) noexcept  // NOLINT(google-explicit-constructor)
      : VectorView(v.data(), static_cast<Index>(v.size())) {}
  /// Views a contiguous Eigen vector without copying.
  template <class Derived, class U = T, std::enable_if_t<std::is_const_v<U>, int> = 0>
  VectorView(
      const Eigen::PlainObjectBase<Derived>& v) noexcept  // NOLINT(google-explicit-constructor)
      : VectorView(v.data(), v.size()) {}
  template <class Derived, class U = T, std::enable_if_t<!std::is_const_v<U>, int> = 0>
  VectorView(Eigen::PlainObjectBase<Derived>& v) noexcept  // NOLINT(google-explicit-constructor)
      : VectorView(v.data(), v.size()) {}
  /// Implicit conversion from a mutable view to a const one.
  template <class U, class = std::enable_if_t<std::is_same_v<const U, T> && !std::is_same_v<U, T>>>
  VectorView(const VectorView<U>& other) noexcept  // NOLINT(google-explicit-constructor)
      : VectorView(other.data(), other.size(), other.stride()) {}

  T* data() const noexcept { return data_; }
  Index size() const noexcept { return size_; }
  Index stride() const noexcept { return stride_; }
  bool empty() const noexcept { return size_ == 0; }
  bool is_contiguous() const noexcept { return stride_ == 1 || size_ <= 1; }
  T& operator[](Index i) const noexcept { return data_[i * stride_]; }

  /// Elements [begin, begin + count) as a view.
  VectorView segment(Index begin, Index count) const noexcept {
    return VectorView(data_ + begin * stride_, count, stride_);
  }

  /// An Eigen map with a dynamic inner stride over the same memory.
  auto eigen() const noexcept {
    using Vec = Eigen::Matrix<value_type, Eigen::Dynamic, 1>;
    using MapT = std::conditional_t<std::is_const_v<T>, const Vec, Vec>;
    using Stride = Eigen::InnerStride<Eigen::Dynamic>;
    return Eigen::Map<MapT, Eigen::Unaligned, Stride>(data_, size_, Stride(stride_));
  }

 private:
  T* data_ = nullptr;
  Index size_ = 0;
  Index stride_ = 1;
};

/// Views an Eigen matrix (any storage order) without copying.
template <class Scalar, int Options>
MatrixView<const Scalar> view(
    const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Options>& m) noexcept {
  if constexpr ((Options & Eigen::RowMajor) != 0) {
    return MatrixView<const Scalar>::row_major(m.data(), m.rows(), m.cols());
  } else {
    return MatrixView<const Scalar>::col_major(m.data(), m.rows(), m.cols());
  }
}

/// Views an Eigen matrix (any storage order) mutably without copying.
template <class Scalar, int Options>
MatrixView<Scalar> view_mut(
    Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Options>& m) noexcept {
  if constexpr ((Options & Eigen::RowMajor) != 0) {
    return MatrixView<Scalar>::row_major(m.data(), m.rows(), m.cols());
  } else {
    return MatrixView<Scalar>::col_major(m.data(), m.rows(), m.cols());
  }
}

/// Row-major double matrix, the natural owner of a C-ordered table.
using RowMatrixXd = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
/// Row-major float matrix.
using RowMatrixXf = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// A feature matrix of either element type, float32 or float64, as it came from the caller.
///
/// Models accept both without converting the whole table; `visit` calls a generic lambda with
/// the typed view, so a kernel is written once as a template and instantiated for both.
class FeatureMatrix {
 public:
  FeatureMatrix() = default;
  FeatureMatrix(MatrixView<const double> m) noexcept  // NOLINT(google-explicit-constructor)
      : d_(m), is_float_(false) {}
  FeatureMatrix(MatrixView<const float> m) noexcept  // NOLINT(google-explicit-constructor)
      : f_(m), is_float_(true) {}
  FeatureMatrix(MatrixView<double> m) noexcept  // NOLINT(google-explicit-constructor)
      : FeatureMatrix(MatrixView<const double>(m)) {}
  FeatureMatrix(MatrixView<float> m) noexcept  // NOLINT(google-explicit-constructor)
      : FeatureMatrix(MatrixView<const float>(m)) {}

  bool is_float() const noexcept { return is_float_; }
  Index rows() const noexcept { return is_float_ ? f_.rows() : d_.rows(); }
  Index cols() const noexcept { return is_float_ ? f_.cols() : d_.cols(); }
  const MatrixView<const double>& as_double() const noexcept { return d_; }
  const MatrixView<const float>& as_float() const noexcept { return f_; }

  /// Calls `fn(view)` with the typed view (`MatrixView<const float>` or `<const double>`).
  template <class Fn>
  decltype(auto) visit(Fn&& fn) const {
    if (is_float_) return fn(f_);
    return fn(d_);
  }

 private:
  MatrixView<const double> d_;
  MatrixView<const float> f_;
  bool is_float_ = false;
};

/// A non-owning compressed sparse row (CSR) or column (CSC) matrix `(rows, cols)`: scipy.sparse's
/// `csr_matrix` / `csc_matrix` layout, viewed without a copy.
///
/// CSR: row i holds the entries `indptr[i] .. indptr[i + 1] - 1`; entry k sits in column
/// `indices[k]` with value `values[k]` (`indptr` has rows + 1 values). CSC is the same with rows
/// and columns swapped (`indptr` has cols + 1 values, `indices` are row numbers). Entries not
/// stored are 0 (never "missing"). Check a view from outside with `validate_sparse`
/// (core/sparse.hpp): indptr non-decreasing from 0 to nnz, indices in range and strictly
/// increasing within a row (column), values finite.
struct SparseMatrixView {
  const std::int64_t* indptr = nullptr;   ///< outer() + 1 offsets into indices/values
  const std::int64_t* indices = nullptr;  ///< inner index of each stored entry
  const double* values = nullptr;         ///< value of each stored entry
  Index rows = 0;
  Index cols = 0;
  bool csr = true;  ///< true: compressed rows; false: compressed columns

  /// Rows for CSR, columns for CSC: the dimension indptr runs over.
  Index outer() const noexcept { return csr ? rows : cols; }
  Index inner() const noexcept { return csr ? cols : rows; }
  /// Stored entries (0 for an empty view).
  Index nnz() const noexcept { return indptr == nullptr ? 0 : indptr[outer()]; }
};

}  // namespace calibrisk
