// SPDX-License-Identifier: Apache-2.0
// Bindings of the categorical level table (calibrisk/io/categories.hpp), used by
// calibrisk._categorical so that Python encodes labels with the same C++ code as the CSV reader.
#include <calibrisk/artifact/pipeline.hpp>
#include <calibrisk/io/categories.hpp>

#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include "bindings.hpp"

#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace calibrisk::pyb {
namespace py = pybind11;

namespace {

CodeHierarchy hierarchy_of(const py::object& h) {
  if (h.is_none()) return {};
  const auto lengths = h.cast<std::vector<int>>();
  return lengths.empty() ? CodeHierarchy::dotted() : CodeHierarchy::by_prefix(lengths);
}

py::object hierarchy_value(const CodeHierarchy& h) {
  if (!h.declared) return py::none();
  return py::cast(h.prefix_lengths);
}

// Labels from a Python sequence: str as UTF-8, None as missing (""). A str holding lone
// surrogates (not encodable as UTF-8) is passed on as its surrogate-escaped bytes so that the C++
// check names the column.
std::vector<std::string> labels_of(const py::sequence& seq) {
  std::vector<std::string> out;
  out.reserve(py::len(seq));
  for (const py::handle& v : seq) {
    if (v.is_none()) {
      out.emplace_back();
    } else if (PyUnicode_Check(v.ptr())) {
      Py_ssize_t n = 0;
      const char* s = PyUnicode_AsUTF8AndSize(v.ptr(), &n);
      if (s == nullptr) {
        PyErr_Clear();
        py::object b = py::reinterpret_steal<py::object>(
            PyUnicode_AsEncodedString(v.ptr(), "utf-8", "surrogateescape"));
        if (!b) {
          PyErr_Clear();
          out.emplace_back("\xFF");  // not UTF-8: rejected by the encoder
        } else {
          out.emplace_back(b.cast<std::string>());
        }
      } else {
        out.emplace_back(s, static_cast<std::size_t>(n));
      }
    } else if (PyBytes_Check(v.ptr())) {
      out.emplace_back(v.cast<std::string>());  // checked as UTF-8 by the encoder
    } else {
      throw InvalidInput("category labels must be str or None, got " +
                         std::string(py::str(py::type::handle_of(v).attr("__name__"))) + ".");
    }
  }
  return out;
}

py::array_t<double> encode_all(const CategoryLevels& l, const std::vector<std::string>& labels,
                               Index* unseen) {
  py::array_t<double> codes(static_cast<py::ssize_t>(labels.size()));
  double* c = codes.mutable_data();
  Index n = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const auto [code, how] = l.lookup(labels[i]);
    c[i] = code;
    n += how == CategoryMatch::kAncestor || how == CategoryMatch::kUnseen;
  }
  if (unseen != nullptr) *unseen = n;
  return codes;
}

}  // namespace

void bind_categories(py::module_& m) {
  py::class_<CategoryLevels>(m, "_CategoryLevels",
                             "The level table of one categorical column (C++ CategoryLevels).")
      .def_property_readonly("column", &CategoryLevels::column)
      .def_property_readonly("labels", &CategoryLevels::labels)
      .def_property_readonly("counts", &CategoryLevels::counts)
      .def_property_readonly("hierarchy",
                             [](const CategoryLevels& l) { return hierarchy_value(l.hierarchy()); })
      .def_property_readonly("pooled", &CategoryLevels::pooled)
      .def("__len__", [](const CategoryLevels& l) { return l.size(); })
      .def(
          "encode",
          [](const CategoryLevels& l, const py::sequence& labels) {
            const std::vector<std::string> v = labels_of(labels);
            Index unseen = 0;
            py::array_t<double> codes = encode_all(l, v, &unseen);
            return py::make_tuple(codes, unseen);
          },
          py::arg("labels"),
          "Codes of `labels` (str or None) under the unseen policy, and how many were not "
          "levels.");
  m.def(
      "_category_fit",
      [](const std::string& column, const py::sequence& labels, const py::object& hierarchy,
         Index min_count, Index max_levels) {
        const std::vector<std::string> v = labels_of(labels);
        std::vector<std::string_view> views(v.begin(), v.end());
        CategoryOptions o;
        o.hierarchy = hierarchy_of(hierarchy);
        o.min_count = min_count;
        o.max_levels = max_levels;
        CategoryLevels l = CategoryLevels::fit(column, views, o);
        py::array_t<double> codes = encode_all(l, v, nullptr);
        return py::make_tuple(std::move(l), codes);
      },
      py::arg("column"), py::arg("labels"), py::arg("hierarchy") = py::none(),
      py::arg("min_count") = kDefaultHierarchyMinCount, py::arg("max_levels") = kMaxCategoryLevels,
      "Fits the levels of a column from its labels; returns (levels, codes).");
  m.def(
      "_category_levels",
      [](const std::string& column, std::vector<std::string> labels, const py::object& h,
         std::vector<std::string> pooled) {
        return CategoryLevels::from_levels(column, std::move(labels), hierarchy_of(h),
                                           std::move(pooled));
      },
      py::arg("column"), py::arg("labels"), py::arg("hierarchy") = py::none(),
      py::arg("pooled") = std::vector<std::string>{});
  m.def(
      "_number_labels",
      [](const py::array_t<double, py::array::forcecast>& x) {
        std::vector<py::object> out;
        const auto r = x.unchecked<1>();
        out.reserve(static_cast<std::size_t>(r.shape(0)));
        for (py::ssize_t i = 0; i < r.shape(0); ++i) {
          const std::string s = number_label(r(i));
          out.push_back(s.empty() ? py::object(py::none()) : py::object(py::str(s)));
        }
        return out;
      },
      py::arg("values"), "Labels of numbers as the CSV reader reads them (NaN -> None).");
  m.def(
      "_pipeline_with_labels",
      [](const Pipeline& p, const py::dict& by_feature) {
        PipelineParts parts = p.parts();
        for (const auto& [k, v] : by_feature) {
          const auto j = k.cast<Index>();
          if (j < 0 || j >= p.n_features()) {
            throw InvalidInput("feature index " + std::to_string(j) + " is outside [0, " +
                               std::to_string(p.n_features()) + ").");
          }
          const auto t = v.cast<py::tuple>();
          FeatureInfo& f = parts.schema.features[static_cast<std::size_t>(j)];
          f.labels = t[0].cast<std::vector<std::string>>();
          f.hierarchy = hierarchy_of(t[1]);
          f.pooled_labels =
              t.size() > 2 ? t[2].cast<std::vector<std::string>>() : std::vector<std::string>{};
          f.categorical = true;
          f.unseen_as_missing = true;
        }
        return Pipeline(std::move(parts));
      },
      py::arg("pipeline"), py::arg("by_feature"),
      "The pipeline with label tables {feature index: (labels, hierarchy, pooled)} in its schema.");
  m.def(
      "_pipeline_levels",
      [](const Pipeline& p) {
        py::dict d;
        for (Index j = 0; j < p.n_features(); ++j) {
          if (const CategoryLevels* l = p.category_levels(j)) d[py::int_(j)] = *l;
        }
        return d;
      },
      py::arg("pipeline"), "{feature index: _CategoryLevels} of the labelled features.");
  m.def(
      "_pipeline_encode_rows",
      [](const Pipeline& p, const std::vector<std::vector<std::string>>& rows) {
        return p.encode_rows(rows);
      },
      py::arg("pipeline"), py::arg("rows"));
  m.def(
      "_pipeline_check_text_rows",
      [](const Pipeline& p, const std::vector<std::vector<std::string>>& rows) {
        const InputReport r = p.check_inputs(rows);
        py::dict unseen;
        for (const auto& f : r.features) unseen[py::str(f.name)] = f.n_unseen_category;
        return py::make_tuple(r.errors, unseen, r.summary());
      },
      py::arg("pipeline"), py::arg("rows"));
}

}  // namespace calibrisk::pyb
