// SPDX-License-Identifier: Apache-2.0
// exp(x) for x <= 0 and log1p(x) for 0 <= x <= 1 from IEEE basic operations only (no library
// call, no FMA, no branch): a loop over rows that calls them vectorises (SSE2 or, when the CPU
// has it, AVX2), and every path, the scalar one included, gives the same bits on every machine and
// compiler, which std::exp and std::log1p do not promise. About 1 ulp
// (tests/unit/core/test_branchfree_math.cpp). Used by the logistic solver's loss
// (src/linear/newton_cg.cpp). Internal to calibrisk. The bits hold only where the compiler may not
// contract a * b + c into an FMA: no -ffast-math, no -mfma / -march with FMA, and vector clones
// declared with target("avx2") (which has no FMA), as newton_cg.cpp does.
#pragma once

#include <cstdint>
#include <cstring>

namespace calibrisk::detail {

inline double from_bits(std::uint64_t u) {
  double d;
  std::memcpy(&d, &u, sizeof d);
  return d;
}
inline std::uint64_t to_bits(double d) {
  std::uint64_t u;
  std::memcpy(&u, &d, sizeof u);
  return u;
}
// c ? a : b by bit masks: both arms are computed, so the compiler cannot sink an arm's arithmetic
// into a branch (which it would not if-convert, its operations possibly trapping).
inline double pick(bool c, double a, double b) {
  const std::uint64_t m = 0 - static_cast<std::uint64_t>(c);
  return from_bits((to_bits(a) & m) | (to_bits(b) & ~m));
}

// Cephes' exp (S. L. Moshier): x = n ln 2 + r with |r| <= ln 2 / 2 (ln 2 in two parts, n ln2_hi
// exact), exp(r) = 1 + 2 r P(r^2) / (Q(r^2) - r P(r^2)), times 2^n built in two normal factors
// (n >= -1075 after the clamp, below which exp rounds to 0 or the smallest subnormal anyway).
inline double exp_nonpositive(double x) {
  constexpr double kShift =
      6755399441055744.0;  // 1.5 * 2^52: x log2(e) + kShift rounds to an integer
  x = pick(x < -745.0, -745.0, x);
  const double t = x * 1.4426950408889634074 + kShift;
  const double n = t - kShift;
  const std::uint64_t m = to_bits(kShift) - to_bits(t);  // -n, in [0, 1075]
  double r = x - n * 6.93145751953125e-1;
  r = r - n * 1.42860682030941723212e-6;
  const double rr = r * r;
  const double px = r * ((1.26177193074810590878e-4 * rr + 3.02994407707441961300e-2) * rr +
                         9.99999999999999999910e-1);
  const double qx = ((3.00198505138664455042e-6 * rr + 2.52448340349684104192e-3) * rr +
                     2.27265548208155028766e-1) *
                        rr +
                    2.00000000000000000009e0;
  const double er = 1.0 + 2.0 * (px / (qx - px));
  const std::uint64_t a = m >> 1, b = m - a;
  return er * from_bits((1023 - a) << 52) * from_bits((1023 - b) << 52);
}

// fdlibm's / musl's log1p for 0 <= x <= 1 (k = 0 or 1 there), the branches written as selects:
// f = (1 + x) / 2^k - 1 (x itself below sqrt(2) - 1) with the rounding of 1 + x corrected by c,
// log(1 + f) = 2 atanh(f / (2 + f)) by the Remez polynomial in s^2 = (f / (2 + f))^2.
inline double log1p_unit(double x) {
  const bool small = x < from_bits(0x3fda827a00000000ULL);  // 1 + x < sqrt(2)
  const double u = 1.0 + x;
  // k = 1 only off the small path: fdlibm's two cut-offs overlap (x in [0.41421318, 0.41421366)
  // is small although 1 + x passes the second), and such an x is taken as it is, with k = 0.
  const bool big = !small && u >= from_bits(0x3ff6a09e00000000ULL);
  const double k = pick(big, 1.0, 0.0);
  const double c = pick(small, 0.0, (x - (u - 1.0)) / u);
  const double f = pick(small, x, pick(big, 0.5 * u, u) - 1.0);
  const double hfsq = 0.5 * f * f;
  const double s = f / (2.0 + f);
  const double z = s * s, w = z * z;
  const double t1 = w * (3.999999999940941908e-01 +
                         w * (2.222219843214978396e-01 + w * 1.531383769920937332e-01));
  const double t2 = z * (6.666666666666735130e-01 +
                         w * (2.857142874366239149e-01 +
                              w * (1.818357216161805012e-01 + w * 1.479819860511658591e-01)));
  const double R = t2 + t1;
  return s * (hfsq + R) + (k * 1.90821492927058770002e-10 + c) - hfsq + f +
         k * 6.93147180369123816490e-01;
}

}  // namespace calibrisk::detail
