#include "harness/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace tb {

double median(std::vector<double> v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(v.begin(), v.end());
  const size_t h = v.size() / 2;
  return v.size() % 2 ? v[h] : (v[h - 1] + v[h]) / 2;
}

std::vector<double> midranks(const std::vector<double>& v) {
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> rank(v.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    const double r = (double(i + 1) + double(j + 1)) / 2;  // positions i..j (0-based) hold ranks i+1..j+1
    for (size_t k = i; k <= j; ++k) rank[order[k]] = r;
    i = j + 1;
  }
  return rank;
}

// f(m, n, u): orders of m x's and n y's in which U (x over y) is u. The largest of the pooled values is an x,
// which beats all n y's (f(m-1, n, u-n)), or a y, which beats no x (f(m, n-1, u)); f(0, n, 0) = f(m, 0, 0) = 1.
double u_exact_cdf(int n1, int n2, double u) {
  if (n1 <= 0 || n2 <= 0) return u >= 0 ? 1.0 : 0.0;
  if (u < 0) return 0.0;
  std::vector<std::vector<double>> prev(size_t(n2) + 1), cur(size_t(n2) + 1);
  for (int n = 0; n <= n2; ++n) prev[size_t(n)] = {1.0};  // m = 0: one order, U = 0
  for (int m = 1; m <= n1; ++m) {
    cur[0] = {1.0};
    for (int n = 1; n <= n2; ++n) {
      std::vector<double>& f = cur[size_t(n)];
      f.assign(size_t(m) * size_t(n) + 1, 0.0);
      const std::vector<double>& a = prev[size_t(n)];     // f(m-1, n, .), U up to (m-1) n
      const std::vector<double>& b = cur[size_t(n) - 1];  // f(m, n-1, .), U up to m (n-1)
      for (size_t k = 0; k < a.size(); ++k) f[k + size_t(n)] += a[k];
      for (size_t k = 0; k < b.size(); ++k) f[k] += b[k];
    }
    std::swap(prev, cur);
  }
  const std::vector<double>& f = prev[size_t(n2)];
  double below = 0, all = 0;
  for (size_t k = 0; k < f.size(); ++k) {
    all += f[k];
    if (double(k) <= u) below += f[k];
  }
  return below / all;
}

double min_two_sided_p(int n1, int n2) {
  if (n1 <= 0 || n2 <= 0) return 1.0;
  double c = 1;  // C(n1 + n2, n1), as a product of ratios that stay integers
  for (int k = 1; k <= std::min(n1, n2); ++k) c = c * double(std::max(n1, n2) + k) / double(k);
  return std::min(1.0, 2.0 / c);
}

const char* method_name(UMethod m) {
  switch (m) {
    case UMethod::exact: return "exact";
    case UMethod::normal: return "normal";
    case UMethod::none: return "none";
  }
  return "?";
}

MannWhitney mann_whitney(const std::vector<double>& x, const std::vector<double>& y) {
  MannWhitney r;
  r.n1 = int(x.size());
  r.n2 = int(y.size());
  r.min_p = min_two_sided_p(r.n1, r.n2);
  if (x.empty() || y.empty()) return r;
  std::vector<double> pooled(x);
  pooled.insert(pooled.end(), y.begin(), y.end());
  const std::vector<double> rank = midranks(pooled);
  double r1 = 0;
  for (size_t i = 0; i < x.size(); ++i) r1 += rank[i];
  const double n1 = r.n1, n2 = r.n2, n = n1 + n2;
  r.u1 = r1 - n1 * (n1 + 1) / 2;
  r.u2 = n1 * n2 - r.u1;
  r.u = std::min(r.u1, r.u2);
  // Tie groups: sum of t^3 - t over runs of equal values in sorted order.
  std::vector<double> s(pooled);
  std::sort(s.begin(), s.end());
  double tie_sum = 0;
  for (size_t i = 0; i < s.size();) {
    size_t j = i;
    while (j + 1 < s.size() && s[j + 1] == s[i]) ++j;
    const double t = double(j - i + 1);
    tie_sum += t * t * t - t;
    i = j + 1;
  }
  r.ties = tie_sum > 0;
  if (!r.ties && r.n1 * r.n2 <= kExactMaxProduct) {
    r.method = UMethod::exact;
    r.p = std::min(1.0, 2 * u_exact_cdf(r.n1, r.n2, r.u));
    return r;
  }
  r.method = UMethod::normal;
  const double mean = n1 * n2 / 2;
  const double var = n1 * n2 / 12 * ((n + 1) - tie_sum / (n * (n - 1)));
  if (var <= 0) {  // every value tied: no evidence either way
    r.p = 1;
    return r;
  }
  const double d = std::max(0.0, std::fabs(r.u2 - mean) - 0.5);
  r.z = std::copysign(d / std::sqrt(var), r.u2 - mean);
  r.p = std::min(1.0, std::erfc(std::fabs(r.z) / std::sqrt(2.0)));
  return r;
}

}  // namespace tb
