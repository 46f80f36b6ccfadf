// SPDX-License-Identifier: Apache-2.0
// Python bindings of the calibration module: the four calibrators (private classes wrapped by
// calibrisk/calibration.py) and prior correction. They are saved (to_bytes / from_bytes / pickle)
// through the artifact codec.
#include <calibrisk/artifact/io.hpp>
#include <calibrisk/calibration/beta.hpp>
#include <calibrisk/calibration/calibrated.hpp>
#include <calibrisk/calibration/isotonic.hpp>
#include <calibrisk/calibration/multiclass.hpp>
#include <calibrisk/calibration/platt.hpp>
#include <calibrisk/calibration/prior.hpp>
#include <calibrisk/calibration/venn_abers.hpp>

#include <pybind11/eigen.h>
#include <pybind11/stl.h>

#include "arrays.hpp"
#include "bind_params.hpp"
#include "bindings.hpp"
#include "codec_pickle.hpp"

#include <string>
#include <type_traits>
#include <vector>

namespace calibrisk::pyb {

namespace {

py::array_t<double> new_array(Index n) { return py::array_t<double>(static_cast<py::ssize_t>(n)); }

VectorView<double> out_view(py::array_t<double>& a) {
  return VectorView<double>(a.mutable_data(), static_cast<Index>(a.shape(0)));
}

// fit(scores, y, sample_weight=None) and predict(scores) shared by the four calibrators.
template <class Cal, class PyCls>
void def_fit_predict(PyCls& cls, const std::string& name) {
  cls.def(
      "fit",
      [name](Cal& c, const py::object& s, const py::object& y, const py::object& w) -> Cal& {
        const std::string where = name + ".fit";
        VectorArg sa = as_vector(s, where, "scores");
        VectorArg ya = as_vector(y, where, "y");
        VectorArg wa = as_vector(w, where, "sample_weight", true);
        py::gil_scoped_release release;
        c.fit(sa.view, ya.view, wa.view);
        return c;
      },
      py::arg("scores"), py::arg("y"), py::arg("sample_weight") = py::none(),
      py::return_value_policy::reference_internal);
  cls.def(
      "predict",
      [name](const Cal& c, const py::object& s) {
        VectorArg sa = as_vector(s, name + ".predict", "scores");
        py::array_t<double> out = new_array(sa.view.size());
        VectorView<double> ov = out_view(out);
        {
          py::gil_scoped_release release;
          c.predict(sa.view, ov);
        }
        return out;
      },
      py::arg("scores"));
  cls.def_property_readonly("is_fitted", &Cal::is_fitted);
}

py::list notes_of(const FitInfo& f) {
  py::list l;
  for (const auto& s : f.notes) l.append(s);
  return l;
}

// The calibrator's codec section ("/calibrator"). A standalone calibrator has no pipeline input;
// it is written as what the calibrator itself reads (a Platt calibrator's input, else
// probabilities) and ignored when decoding.
template <class Cal>
struct CalibratorCodec {
  static std::string encode(const Cal& c) {
    CalibratorInput input = CalibratorInput::kProbability;
    if constexpr (std::is_same_v<Cal, PlattCalibrator>) {
      if (c.params().input == ScoreKind::kMargin) input = CalibratorInput::kMargin;
    }
    return encode_calibrator(PipelineCalibrator(c), input);
  }
  static Cal decode(const std::string& text) {
    return take_alternative<Cal>(decode_calibrator(text), "/calibrator/type", type_name());
  }
  static const char* type_name() {
    if constexpr (std::is_same_v<Cal, PlattCalibrator>) return "platt";
    if constexpr (std::is_same_v<Cal, IsotonicCalibrator>) return "isotonic";
    return "beta";
  }
};

struct VennAbersCodec {
  static std::string encode(const VennAbersCalibrator& c) { return encode_venn_abers(c); }
  static VennAbersCalibrator decode(const std::string& text) { return decode_venn_abers(text); }
};

// fit(scores (n, K), y, sample_weight=None) and predict_proba(scores) -> (n, K) shared by the
// multiclass calibrators.
template <class Cal, class PyCls>
void def_multiclass_fit_predict(PyCls& cls, const std::string& name) {
  cls.def(
      "fit",
      [name](Cal& c, const py::object& s, const py::object& y, const py::object& w) -> Cal& {
        const std::string where = name + ".fit";
        MatrixArg sa = as_matrix(s, where, "scores");
        VectorArg ya = as_vector(y, where, "y");
        VectorArg wa = as_vector(w, where, "sample_weight", true);
        py::gil_scoped_release release;
        c.fit(sa.view, ya.view, wa.view);
        return c;
      },
      py::arg("scores"), py::arg("y"), py::arg("sample_weight") = py::none(),
      py::return_value_policy::reference_internal);
  cls.def(
      "predict_proba",
      [name](const Cal& c, const py::object& s) {
        MatrixArg sa = as_matrix(s, name + ".predict_proba", "scores");
        py::array_t<double> out(
            {static_cast<py::ssize_t>(sa.view.rows()), static_cast<py::ssize_t>(sa.view.cols())});
        MatrixView<double> ov =
            MatrixView<double>::row_major(out.mutable_data(), sa.view.rows(), sa.view.cols());
        {
          py::gil_scoped_release release;
          c.predict_proba(sa.view, ov);
        }
        return out;
      },
      py::arg("scores"));
  cls.def_property_readonly("is_fitted", &Cal::is_fitted);
  cls.def_property_readonly("notes", [](const Cal& c) { return notes_of(c.fit_info()); });
  cls.def_property_readonly("converged", [](const Cal& c) { return c.fit_info().converged; });
  cls.def_property_readonly("n_iter", [](const Cal& c) { return c.fit_info().n_iter; });
}

template <class Cal>
struct MulticlassCodec {
  static std::string encode(const Cal& c) { return encode_multiclass_calibrator(c); }
  static Cal decode(const std::string& text) {
    MulticlassCalibrator m = decode_multiclass_calibrator(text);
    if (auto* p = std::get_if<Cal>(&m)) return std::move(*p);
    throw ModelFormatError(
        "load: /calibrator/type is not the calibrator being unpickled; the "
        "bytes belong to another multiclass calibrator.");
  }
};

}  // namespace

void bind_calibration(py::module_& m) {
  bind_params<PlattParams>(m, "PlattParams", "Hyper-parameters of the Platt (sigmoid) calibrator.");
  bind_params<IsotonicParams>(m, "IsotonicParams", "Hyper-parameters of the isotonic calibrator.");
  bind_params<BetaParams>(m, "BetaParams", "Hyper-parameters of the beta calibrator.");
  bind_params<VennAbersParams>(m, "VennAbersParams", "Venn-ABERS has no hyper-parameters.");
  bind_params<CalibratedParams>(m, "CalibratedParams",
                                "Hyper-parameters of cross-fitted calibration (C++ names).");
  // ---------------------------------------------------------------- Platt
  py::class_<PlattCalibrator> platt(m, "_PlattCalibrator");
  platt.def(py::init<const PlattParams&>(), py::arg("params") = PlattParams{});
  def_fit_predict<PlattCalibrator>(platt, "PlattCalibrator");
  platt.def_property_readonly("a", &PlattCalibrator::a)
      .def_property_readonly("b", &PlattCalibrator::b)
      .def_property_readonly("objective", &PlattCalibrator::objective)
      .def_property_readonly("n_iter", [](const PlattCalibrator& c) { return c.fit_info().n_iter; })
      .def_property_readonly("converged",
                             [](const PlattCalibrator& c) { return c.fit_info().converged; })
      .def_property_readonly("notes",
                             [](const PlattCalibrator& c) { return notes_of(c.fit_info()); });
  def_codec<CalibratorCodec<PlattCalibrator>, PlattCalibrator>(m, "_PlattCalibrator");

  // ---------------------------------------------------------------- Isotonic
  py::class_<IsotonicCalibrator> iso(m, "_IsotonicCalibrator");
  iso.def(py::init<const IsotonicParams&>(), py::arg("params") = IsotonicParams{});
  def_fit_predict<IsotonicCalibrator>(iso, "IsotonicCalibrator");
  def_codec<CalibratorCodec<IsotonicCalibrator>, IsotonicCalibrator>(m, "_IsotonicCalibrator");

  // ---------------------------------------------------------------- Beta
  py::class_<BetaCalibrator> beta(m, "_BetaCalibrator");
  beta.def(py::init<const BetaParams&>(), py::arg("params") = BetaParams{});
  def_fit_predict<BetaCalibrator>(beta, "BetaCalibrator");
  beta.def_property_readonly("notes",
                             [](const BetaCalibrator& c) { return notes_of(c.fit_info()); })
      .def_property_readonly("converged",
                             [](const BetaCalibrator& c) { return c.fit_info().converged; });
  def_codec<CalibratorCodec<BetaCalibrator>, BetaCalibrator>(m, "_BetaCalibrator");

  // ---------------------------------------------------------------- Venn-ABERS
  py::class_<VennAbersCalibrator> va(m, "_VennAbersCalibrator");
  va.def(py::init<>());
  def_fit_predict<VennAbersCalibrator>(va, "VennAbersCalibrator");
  va.def(
      "predict_interval",
      [](const VennAbersCalibrator& c, const py::object& s) {
        VectorArg sa = as_vector(s, "VennAbersCalibrator.predict_interval", "scores");
        py::array_t<double> p = new_array(sa.view.size()), p0 = new_array(sa.view.size()),
                            p1 = new_array(sa.view.size());
        VectorView<double> pv = out_view(p), p0v = out_view(p0), p1v = out_view(p1);
        {
          py::gil_scoped_release release;
          c.predict(sa.view, pv, p0v, p1v);
        }
        return py::make_tuple(p0, p1, p);
      },
      py::arg("scores"));
  def_codec<VennAbersCodec, VennAbersCalibrator>(m, "_VennAbersCalibrator");

  // ---------------------------------------------------------------- multiclass
  m.attr("MAX_CLASSES") = kMaxClasses;
  m.attr("MAX_DIRICHLET_CLASSES") = kMaxDirichletClasses;
  bind_params<TemperatureParams>(m, "TemperatureParams",
                                 "Hyper-parameters of temperature scaling.");
  bind_params<OneVsRestParams>(m, "OneVsRestParams",
                               "Hyper-parameters of one-vs-rest multiclass calibration.");
  bind_params<DirichletParams>(m, "DirichletParams",
                               "Hyper-parameters of Dirichlet calibration (ODIR).");
  py::class_<TemperatureScaling> temp(m, "_TemperatureScaling");
  temp.def(py::init<const TemperatureParams&>(), py::arg("params") = TemperatureParams{});
  def_multiclass_fit_predict<TemperatureScaling>(temp, "TemperatureScaling");
  temp.def_property_readonly("temperature", &TemperatureScaling::temperature)
      .def_property_readonly("beta", &TemperatureScaling::inverse_temperature);
  def_codec<MulticlassCodec<TemperatureScaling>, TemperatureScaling>(m, "_TemperatureScaling");

  py::class_<OneVsRestCalibrator> ovr(m, "_OneVsRestCalibrator");
  ovr.def(py::init<const OneVsRestParams&>(), py::arg("params") = OneVsRestParams{});
  def_multiclass_fit_predict<OneVsRestCalibrator>(ovr, "OneVsRestCalibrator");
  def_codec<MulticlassCodec<OneVsRestCalibrator>, OneVsRestCalibrator>(m, "_OneVsRestCalibrator");

  py::class_<DirichletCalibrator> dir(m, "_DirichletCalibrator");
  dir.def(py::init<const DirichletParams&>(), py::arg("params") = DirichletParams{});
  def_multiclass_fit_predict<DirichletCalibrator>(dir, "DirichletCalibrator");
  dir.def_property_readonly("coef", &DirichletCalibrator::coef)
      .def_property_readonly("intercept", &DirichletCalibrator::intercept)
      .def_property_readonly("objective", &DirichletCalibrator::objective);
  def_codec<MulticlassCodec<DirichletCalibrator>, DirichletCalibrator>(m, "_DirichletCalibrator");

  // ---------------------------------------------------------------- prior correction
  m.def(
      "_prior_correction",
      [](const py::object& p, double w0, double w1) {
        VectorArg pa = as_vector(p, "prior_correction", "p");
        py::array_t<double> out = new_array(pa.view.size());
        VectorView<double> ov = out_view(out);
        {
          py::gil_scoped_release release;
          const Eigen::VectorXd r = prior_correction(pa.view, w0, w1);
          for (Index i = 0; i < r.size(); ++i) ov[i] = r[i];
        }
        return out;
      },
      py::arg("p"), py::arg("w0"), py::arg("w1"));
}

}  // namespace calibrisk::pyb
