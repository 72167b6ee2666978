// Statistics for comparing two sets of repetitions: the median and the two-sided Mann-Whitney U test
// (Wilcoxon rank-sum), written from the textbook definition. No I/O.
#pragma once
#include <cstdint>
#include <vector>

namespace tb {

// The median (the mean of the two middle values for an even count); NaN for no values.
double median(std::vector<double> v);

// Ranks 1..N of the values in their sorted order, ties given the mean of the ranks they span (midranks).
std::vector<double> midranks(const std::vector<double>& v);

// Exact null distribution of U for untied samples of sizes n1, n2: P(U <= u), counting the C(n1+n2, n1)
// equally likely orders of the pooled sample. Exact (integer counts in double) while C(n1+n2, n1) < 2^53.
double u_exact_cdf(int n1, int n2, double u);

// The smallest two-sided p-value any rank test on samples of sizes n1 and n2 can give: the two most
// extreme of C(n1+n2, n1) orders, 2 / C(n1+n2, n1) (1 when a side is empty). n1 = n2 = 3: 0.1.
double min_two_sided_p(int n1, int n2);

// How the p-value was computed.
enum class UMethod {
  exact,   // untied data and n1 * n2 <= kExactMaxProduct: the exact null distribution (u_exact_cdf)
  normal,  // ties, or larger samples: the normal approximation with tie and continuity corrections
  none,    // a side has no samples: p = 1
};
inline constexpr int kExactMaxProduct = 400;  // n1 = n2 = 20
const char* method_name(UMethod m);

struct MannWhitney {
  int n1 = 0, n2 = 0;
  double u1 = 0;      // U of the first sample: pairs (x_i, y_j) with x_i > y_j, a tie counting 1/2 (= R1 - n1(n1+1)/2)
  double u2 = 0;      // U of the second sample, n1 * n2 - u1
  double u = 0;       // min(u1, u2), the statistic textbook tables list
  double z = 0;       // normal method: the corrected z of u2 - n1 n2 / 2 (positive: the second sample ranks higher)
  double p = 1;       // two-sided
  double min_p = 1;   // min_two_sided_p(n1, n2)
  bool ties = false;  // the pooled sample has tied values
  UMethod method = UMethod::none;
};

// The two-sided Mann-Whitney U test of x against y. Untied and n1 * n2 <= kExactMaxProduct: exact,
// p = min(1, 2 P(U <= min(U1, U2))). Otherwise the normal approximation: mean n1 n2 / 2, variance
// n1 n2 / 12 * ((N + 1) - sum(t^3 - t) / (N (N - 1))) over tie groups of size t, z = (|U1 - mean| - 1/2) / sd
// (0 when negative), p = erfc(|z| / sqrt 2); p = 1 when every value is tied.
MannWhitney mann_whitney(const std::vector<double>& x, const std::vector<double>& y);

}  // namespace tb
