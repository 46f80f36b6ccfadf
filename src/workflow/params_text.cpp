// SPDX-License-Identifier: Apache-2.0
// Text forms of model parameters and policies for provenance and by-name setting (see
// params_text.hpp). The field tables below list the Params fields once for the workflow; they
// agree with the CLI's --param tables (tests/unit/workflow checks every name and text).
#include <calibrisk/workflow/params_text.hpp>

#include <calibrisk/core/error.hpp>
#include <calibrisk/io/text.hpp>
#include <calibrisk/linear/logistic.hpp>
#include <calibrisk/threshold/select.hpp>
#include <calibrisk/trees/booster.hpp>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <limits>
#include <sstream>

namespace calibrisk {
namespace {

// The text of a policy number: 15 significant digits (the CLI's --policy echo).
std::string fmt15(double v) {
  std::ostringstream os;
  os.precision(15);
  os << v;
  return os.str();
}

[[noreturn]] void bad_text(const std::string& name, const std::string& text,
                           const std::string& form) {
  throw InvalidParams("parameter " + name + " must be " + form + ", got " +
                      quote_for_message(text) + ".");
}

double to_double(const std::string& name, const std::string& t) {
  if (t == "inf" || t == "+inf" || t == "infinity") return std::numeric_limits<double>::infinity();
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(t.c_str(), &end);
  if (t.empty() || end != t.c_str() + t.size() || errno == ERANGE || !std::isfinite(v)) {
    bad_text(name, t, "a number");
  }
  return v;
}

template <class Int>
Int to_integer(const std::string& name, const std::string& t) {
  Int v = 0;
  const auto r = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || r.ec != std::errc() || r.ptr != t.data() + t.size()) {
    bad_text(name, t, "a whole number in range");
  }
  return v;
}

bool to_bool(const std::string& name, const std::string& t) {
  if (t == "true" || t == "1") return true;
  if (t == "false" || t == "0") return false;
  bad_text(name, t, "true or false");
}

// One field: its name, its text, and how to set it from text.
struct Field {
  std::string name;
  std::function<std::string()> get;
  std::function<void(const std::string&)> set;
};

Field int_f(const char* n, int& f) {
  return {n, [&f] { return std::to_string(f); },
          [&f, n](const std::string& t) { f = to_integer<int>(n, t); }};
}
Field index_f(const char* n, std::ptrdiff_t& f) {
  return {n, [&f] { return std::to_string(f); },
          [&f, n](const std::string& t) { f = to_integer<std::ptrdiff_t>(n, t); }};
}
Field u64_f(const char* n, std::uint64_t& f) {
  return {n, [&f] { return std::to_string(f); },
          [&f, n](const std::string& t) { f = to_integer<std::uint64_t>(n, t); }};
}
Field double_f(const char* n, double& f) {
  return {n, [&f] { return format_double(f); },
          [&f, n](const std::string& t) { f = to_double(n, t); }};
}
Field bool_f(const char* n, bool& f) {
  return {n, [&f] { return std::string(f ? "true" : "false"); },
          [&f, n](const std::string& t) { f = to_bool(n, t); }};
}

Field class_weight_f(ClassWeight& cw) {
  return {"class_weight",
          [&cw]() -> std::string {
            if (cw.kind == ClassWeight::Kind::kBalanced) return "balanced";
            if (cw.kind == ClassWeight::Kind::kExplicit) {
              return format_double(cw.w0) + ":" + format_double(cw.w1);
            }
            return "none";
          },
          [&cw](const std::string& t) {
            if (t == "none" || t.empty()) {
              cw = ClassWeight::none();
            } else if (t == "balanced") {
              cw = ClassWeight::balanced();
            } else {
              const auto colon = t.find(':');
              if (colon == std::string::npos)
                bad_text("class_weight", t, "none, balanced or W0:W1");
              cw = ClassWeight::explicit_weights(to_double("class_weight", t.substr(0, colon)),
                                                 to_double("class_weight", t.substr(colon + 1)));
            }
          }};
}

std::vector<Field> fields_of(GBDTParams& p) {
  Field mono{"monotonic_cst",
             [&p] {
               std::string s;
               for (int c : p.monotonic_cst) s += (s.empty() ? "" : ",") + std::to_string(c);
               return s;
             },
             [&p](const std::string& t) {
               p.monotonic_cst.clear();
               std::istringstream is(t);
               std::string item;
               while (std::getline(is, item, ',')) {
                 p.monotonic_cst.push_back(to_integer<int>("monotonic_cst", item));
               }
             }};
  return {int_f("n_estimators", p.n_estimators),
          double_f("learning_rate", p.learning_rate),
          int_f("max_leaf_nodes", p.max_leaf_nodes),
          int_f("max_depth", p.max_depth),
          int_f("max_bins", p.max_bins),
          int_f("min_samples_leaf", p.min_samples_leaf),
          double_f("min_child_weight", p.min_child_weight),
          double_f("l2_regularization", p.l2_regularization),
          double_f("min_gain_to_split", p.min_gain_to_split),
          double_f("subsample", p.subsample),
          double_f("colsample_bytree", p.colsample_bytree),
          class_weight_f(p.class_weight),
          double_f("scale_pos_weight", p.scale_pos_weight),
          mono,
          bool_f("early_stopping", p.early_stopping),
          double_f("validation_fraction", p.validation_fraction),
          int_f("n_iter_no_change", p.n_iter_no_change),
          double_f("tol", p.tol),
          index_f("bin_subsample", p.bin_subsample),
          index_f("max_model_nodes", p.max_model_nodes),
          u64_f("random_state", p.random_state),
          int_f("n_threads", p.n_threads)};
}

std::vector<Field> fields_of(LogisticRegressionParams& p) {
  Field missing{"missing",
                [&p]() -> std::string {
                  return p.missing == MissingStrategy::kMean ? "mean" : "mean_with_indicator";
                },
                [&p](const std::string& t) {
                  if (t == "mean") {
                    p.missing = MissingStrategy::kMean;
                  } else if (t == "mean_with_indicator") {
                    p.missing = MissingStrategy::kMeanWithIndicator;
                  } else {
                    bad_text("missing", t, "mean or mean_with_indicator");
                  }
                }};
  return {double_f("C", p.C),
          bool_f("fit_intercept", p.fit_intercept),
          int_f("max_iter", p.max_iter),
          double_f("tol", p.tol),
          class_weight_f(p.class_weight),
          missing,
          bool_f("standardize", p.standardize),
          index_f("newton_max_columns", p.newton_max_columns),
          int_f("n_threads", p.n_threads)};
}

template <class P>
std::vector<std::pair<std::string, std::string>> texts(const P& params) {
  P copy = params;  // the table binds references; read through a copy of a const struct
  std::vector<std::pair<std::string, std::string>> out;
  for (const Field& f : fields_of(copy)) {
    // The thread count is an execution setting: it stays out of the model file.
    if (f.name != "n_threads") out.emplace_back(f.name, f.get());
  }
  return out;
}

template <class P>
void set_by_name(P& params, const std::string& name, const std::string& text,
                 const char* struct_name) {
  std::string valid;
  for (const Field& f : fields_of(params)) {
    if (f.name == name) return f.set(text);
    valid += (valid.empty() ? "" : ", ") + f.name;
  }
  throw InvalidParams(quote_for_message(name) + " is not a parameter of " + struct_name +
                      "; valid keys: " + valid + ".");
}

}  // namespace

std::string format_double(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  std::ostringstream os;
  os.precision(17);
  os << v;
  // Prefer the shortest form that reads back exactly.
  for (int prec = 1; prec <= 17; ++prec) {
    std::ostringstream t;
    t.precision(prec);
    t << v;
    if (std::strtod(t.str().c_str(), nullptr) == v) return t.str();
  }
  return os.str();
}

std::string policy_text(const ThresholdPolicy& p) {
  switch (p.kind) {
    case PolicyKind::kMinRecall:
      return "min-recall=" + fmt15(p.value);
    case PolicyKind::kMinPrecision:
      return "min-precision=" + fmt15(p.value);
    case PolicyKind::kMaxAlertRate:
      return "max-alert-rate=" + fmt15(p.value);
    case PolicyKind::kMinCost:
      return "cost-fp=" + fmt15(p.cost_fp) + ",cost-fn=" + fmt15(p.cost_fn);
    case PolicyKind::kMaxFBeta:
      return "max-f=" + fmt15(p.value);
  }
  return "?";
}

std::vector<std::pair<std::string, std::string>> parameter_text(const GBDTParams& p) {
  return texts(p);
}
std::vector<std::pair<std::string, std::string>> parameter_text(const LogisticRegressionParams& p) {
  return texts(p);
}

void set_parameter(GBDTParams& p, const std::string& name, const std::string& text) {
  set_by_name(p, name, text, "gbdt (GBDTParams)");
}
void set_parameter(LogisticRegressionParams& p, const std::string& name, const std::string& text) {
  set_by_name(p, name, text, "lr (LogisticRegressionParams)");
}

}  // namespace calibrisk
