// SPDX-License-Identifier: Apache-2.0
// Python bindings of the step-wise distributed tree fit (src/trees/distributed.hpp), used by
// calibrisk.dask.DaskGradientBoostingClassifier: the bin sample of a partition, the broadcast bin
// mapper (picklable), the worker shard and the driver. Private: names start with "_Dist".
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "trees/distributed.hpp"
#include "trees/holdout.hpp"

namespace calibrisk::pyb {

namespace {

using detail::RoutingTree;
using detail::SplitMessage;
using detail::TrainShard;
using detail::TreeDriver;

constexpr py::ssize_t kSplitCols = 11;  // parent, left, right, feature, bin, missing, cat, 4 words

py::array_t<std::int64_t> encode_splits(const std::vector<SplitMessage>& splits) {
  py::array_t<std::int64_t> a({static_cast<py::ssize_t>(splits.size()), kSplitCols});
  auto m = a.mutable_unchecked<2>();
  for (std::size_t k = 0; k < splits.size(); ++k) {
    const SplitMessage& s = splits[k];
    const auto r = static_cast<py::ssize_t>(k);
    const std::int64_t v[7] = {s.parent, s.left,         s.right,      s.feature,
                               s.bin,    s.missing_left, s.categorical};
    for (py::ssize_t c = 0; c < 7; ++c) m(r, c) = v[c];
    for (py::ssize_t w = 0; w < 4; ++w) {
      std::int64_t bits;
      std::memcpy(&bits, &s.cat_left.w[static_cast<std::size_t>(w)], sizeof bits);
      m(r, 7 + w) = bits;
    }
  }
  return a;
}

std::vector<SplitMessage> decode_splits(
    const py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>& a) {
  if (a.ndim() != 2 || a.shape(1) != kSplitCols) {
    throw InvalidInput("_DistShard.step: splits must be an (k, 11) int64 array.");
  }
  auto m = a.unchecked<2>();
  std::vector<SplitMessage> out(static_cast<std::size_t>(a.shape(0)));
  for (py::ssize_t r = 0; r < a.shape(0); ++r) {
    SplitMessage& s = out[static_cast<std::size_t>(r)];
    s.parent = static_cast<std::int32_t>(m(r, 0));
    s.left = static_cast<std::int32_t>(m(r, 1));
    s.right = static_cast<std::int32_t>(m(r, 2));
    s.feature = static_cast<std::int32_t>(m(r, 3));
    s.bin = static_cast<std::int32_t>(m(r, 4));
    s.missing_left = m(r, 5) != 0;
    s.categorical = m(r, 6) != 0;
    for (py::ssize_t w = 0; w < 4; ++w) {
      const std::int64_t bits = m(r, 7 + w);
      std::memcpy(&s.cat_left.w[static_cast<std::size_t>(w)], &bits, sizeof bits);
    }
  }
  return out;
}

template <class T>
py::array_t<T> to_array(const std::vector<T>& v) {
  py::array_t<T> a(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), a.mutable_data());
  return a;
}

template <class T>
std::vector<T> from_array(const py::handle& h) {
  const auto a = py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(h);
  if (!a) throw InvalidInput("calibrisk distributed fit: expected a numeric array.");
  return std::vector<T>(a.data(), a.data() + a.size());
}

py::tuple encode_tree(const RoutingTree& t) {
  py::array_t<std::uint64_t> cats({static_cast<py::ssize_t>(t.cat_left.size()), py::ssize_t{4}});
  for (std::size_t k = 0; k < t.cat_left.size(); ++k) {
    for (std::size_t w = 0; w < 4; ++w) cats.mutable_data()[4 * k + w] = t.cat_left[k].w[w];
  }
  return py::make_tuple(to_array(t.tree.left), to_array(t.tree.right), to_array(t.tree.feature),
                        to_array(t.tree.missing_left), to_array(t.tree.value), to_array(t.bin),
                        cats, to_array(t.shard_node), encode_splits(t.tail));
}

RoutingTree decode_tree(const py::tuple& t) {
  if (t.size() != 7 && t.size() != 9) {
    throw InvalidInput("_DistShard.add_tree: a tree is a tuple of 7 or 9 arrays.");
  }
  RoutingTree r;
  r.tree.left = from_array<std::int32_t>(t[0]);
  r.tree.right = from_array<std::int32_t>(t[1]);
  r.tree.feature = from_array<std::int32_t>(t[2]);
  r.tree.missing_left = from_array<std::uint8_t>(t[3]);
  r.tree.value = from_array<double>(t[4]);
  r.bin = from_array<std::int32_t>(t[5]);
  const auto words = from_array<std::uint64_t>(t[6]);
  r.cat_left.resize(words.size() / 4);
  for (std::size_t k = 0; k < r.cat_left.size(); ++k) {
    for (std::size_t w = 0; w < 4; ++w) r.cat_left[k].w[w] = words[4 * k + w];
  }
  if (t.size() == 9) {
    r.shard_node = from_array<std::int32_t>(t[7]);
    const auto tail =
        py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(t[8]);
    if (!tail) throw InvalidInput("_DistShard.add_tree: the tail splits must be an int64 array.");
    r.tail = decode_splits(tail);
  }
  const std::size_t n = r.tree.left.size();
  if (r.tree.right.size() != n || r.tree.feature.size() != n || r.tree.missing_left.size() != n ||
      r.tree.value.size() != n || r.bin.size() != n) {
    throw InvalidInput("_DistShard.add_tree: the tree's arrays differ in length.");
  }
  return r;
}

py::tuple mapper_state(const BinMapper& m) {
  // The categorical level tables (cardinality, code <-> bin, pooled bin) travel with the edges.
  return py::make_tuple(m.edges, m.has_missing, m.is_constant, m.offsets, m.max_bins, m.cardinality,
                        m.code_bin, m.bin_code, m.pooled_bin);
}

BinMapper mapper_from_state(const py::tuple& t) {
  if (t.size() != 5 && t.size() != 9) throw InvalidInput("_DistBinMapper: bad pickled state.");
  BinMapper m;
  m.edges = t[0].cast<std::vector<std::vector<double>>>();
  m.has_missing = t[1].cast<std::vector<std::uint8_t>>();
  m.is_constant = t[2].cast<std::vector<std::uint8_t>>();
  m.offsets = t[3].cast<std::vector<Index>>();
  m.max_bins = t[4].cast<int>();
  if (t.size() == 9) {
    m.cardinality = t[5].cast<std::vector<std::int32_t>>();
    m.code_bin = t[6].cast<std::vector<std::vector<std::uint16_t>>>();
    m.bin_code = t[7].cast<std::vector<std::vector<std::int32_t>>>();
    m.pooled_bin = t[8].cast<std::vector<std::int32_t>>();
  }
  return m;
}

void bind_shard(py::module_& m) {
  py::class_<TrainShard>(m, "_DistShard", "One partition of a distributed tree fit (a worker).")
      .def(py::init([](const BinMapper& mapper, const py::object& X, const py::object& y,
                       const py::object& w, Index offset, double m0, double m1) {
             const std::string where = "_DistShard";
             FeatureArg xa = as_features(X, where);
             VectorArg ya = as_vector(y, where, "y");
             VectorArg wa = as_vector(w, where, "sample_weight", true);
             py::gil_scoped_release release;
             return TrainShard(mapper, xa.view, ya.view, wa.view, offset, m0, m1, 1);
           }),
           py::arg("mapper"), py::arg("X"), py::arg("y01"), py::arg("sample_weight"),
           py::arg("row_offset"), py::arg("m0"), py::arg("m1"))
      .def_property_readonly("n_rows", &TrainShard::n_rows)
      .def_property_readonly("max_weight", &TrainShard::max_weight)
      .def("class_partials",
           [](const TrainShard& s, int c) { return to_array(s.class_weight_sum(c).partials()); })
      .def("loss_partials", [](const TrainShard& s) { return to_array(s.loss_sum().partials()); })
      .def("reset_margins", &TrainShard::reset_margins)
      .def("begin_round",
           [](TrainShard& s, int t, double subsample, std::uint64_t seed, double w_max) {
             GBDTParams p;
             p.subsample = subsample;
             p.random_state = seed;
             std::uint64_t key = 0;
             Index row = -1;
             HistBin tot;
             {
               py::gil_scoped_release release;
               tot = s.begin_round(t, p, w_max, &key, &row);
             }
             return py::make_tuple(tot.g, tot.h, tot.n, key, row);
           })
      .def("add_row",
           [](TrainShard& s, Index row) {
             HistBin t;
             const bool held = s.add_row(row, &t);
             return py::make_tuple(held, t.g, t.h);
           })
      .def("add_tree", [](TrainShard& s, const py::tuple& t) {
        const RoutingTree r = decode_tree(t);
        py::gil_scoped_release release;
        s.add_tree(r);
      });
}

// One step on all the shards of a worker, summed (exact int64 sums: any grouping gives the same
// bits): one C++ call, one reply array, instead of one per shard added up in numpy.
py::tuple step_shards(
    const std::vector<TrainShard*>& shards,
    const py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>& splits,
    const py::array_t<std::int32_t, py::array::c_style | py::array::forcecast>& nodes,
    const py::array_t<std::int32_t, py::array::c_style | py::array::forcecast>& feats,
    Index total_bins, const py::object& buffer) {
  const std::vector<SplitMessage> sp = decode_splits(splits);
  const std::vector<std::int32_t> ns = from_array<std::int32_t>(nodes);
  const std::vector<std::int32_t> fs = from_array<std::int32_t>(feats);
  const auto nb = static_cast<std::size_t>(total_bins);
  py::array_t<std::int64_t> counts(static_cast<py::ssize_t>(2 * sp.size()));
  const auto rows = static_cast<py::ssize_t>(ns.size() * nb);
  // The histograms go into `buffer` when it is large enough (a view of it is returned: the
  // caller's reusable reply memory, instead of fresh pages every step).
  py::array_t<std::int64_t> hist;
  if (!buffer.is_none()) {
    auto b = py::array_t<std::int64_t, py::array::c_style>::ensure(buffer);
    if (!b || b.ndim() != 2 || b.shape(1) != 3 || !b.writeable()) {
      throw InvalidInput("_dist_step_shards: buffer must be a writeable (n, 3) int64 array.");
    }
    if (b.shape(0) >= rows) {
      hist = py::array_t<std::int64_t>({rows, py::ssize_t{3}}, b.mutable_data(), b);
    }
  }
  if (!hist) hist = py::array_t<std::int64_t>({rows, py::ssize_t{3}});
  std::int64_t* const c = counts.mutable_data();
  std::int64_t* const out = hist.mutable_data();
  {
    py::gil_scoped_release release;
    std::fill(c, c + 2 * sp.size(), 0);
    std::fill(out, out + 3 * ns.size() * nb, 0);
    std::vector<Index> part(2 * sp.size());
    std::vector<HistBin> h(nb);
    for (TrainShard* s : shards) {
      s->apply_splits(sp, part.data());
      for (std::size_t k = 0; k < part.size(); ++k) c[k] += part[k];
      for (std::size_t q = 0; q < ns.size(); ++q) {
        s->histogram(ns[q], fs, h.data());
        std::int64_t* d = out + 3 * q * nb;
        for (const HistBin& b : h) {
          d[0] += b.g;
          d[1] += b.h;
          d[2] += b.n;
          d += 3;
        }
      }
    }
  }
  return py::make_tuple(counts, hist);
}

void bind_driver(py::module_& m) {
  m.def("_dist_step_shards", &step_shards, py::arg("shards"), py::arg("splits"), py::arg("nodes"),
        py::arg("features"), py::arg("total_bins"), py::arg("buffer") = py::none(),
        "On every shard of a worker, in order: applies the splits, then the histograms of nodes, "
        "summed over the shards: (counts (2k,), hist (len(nodes) x total_bins, 3)); hist is a "
        "view of `buffer` ((n, 3) int64) when it has room.");
  py::class_<TreeDriver>(m, "_DistDriver", "The driver of a distributed tree fit.")
      .def(py::init<BinMapper, const GBDTParams&, double>(), py::arg("mapper"), py::arg("params"),
           py::arg("w_max"))
      .def_property_readonly("allowed", [](const TreeDriver& d) { return to_array(d.allowed()); })
      .def(
          "round_features",
          [](const TreeDriver& d, int t) { return to_array(d.round_features(t)); }, py::arg("t"),
          "The features round t's tree may split on (ascending).")
      .def(
          "grow",
          [](TreeDriver& d, int t, std::int64_t g, std::int64_t h, std::int64_t n,
             const py::function& step, const py::object& root_hist) {
            TreeDriver::StepFn fn = [&](const std::vector<SplitMessage>& splits,
                                        const std::vector<std::int32_t>& nodes,
                                        const std::vector<std::int32_t>& features,
                                        TreeDriver::Reply& reply) {
              // One (counts, hist) pair, or a list of them (one per worker): summed here
              // into the reply (exact int64 sums, any order) without numpy temporaries.
              const py::object r = step(encode_splits(splits), to_array(nodes), to_array(features));
              const py::list parts =
                  py::isinstance<py::tuple>(r) ? py::list(py::make_tuple(r)) : py::list(r);
              for (std::size_t k = 0; k < parts.size(); ++k) {
                const py::tuple pr = parts[k].cast<py::tuple>();
                const auto counts =
                    py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(
                        pr[0]);
                const auto hist =
                    py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(
                        pr[1]);
                if (!counts || !hist || hist.size() % 3 != 0) {
                  throw InvalidInput("_DistDriver.grow: a step must return int64 arrays.");
                }
                const std::int64_t* c = counts.data();
                const std::int64_t* h = hist.data();
                const auto nc = static_cast<std::size_t>(counts.size());
                const auto nh = static_cast<std::size_t>(hist.size() / 3);
                if (k == 0) {
                  reply.counts.assign(c, c + nc);
                  reply.hist.resize(nh);
                  for (HistBin& b : reply.hist) {
                    b.g = h[0];
                    b.h = h[1];
                    b.n = h[2];
                    h += 3;
                  }
                  continue;
                }
                if (nc != reply.counts.size() || nh != reply.hist.size()) {
                  throw InvalidInput(
                      "_DistDriver.grow: the workers' step replies differ in length.");
                }
                for (std::size_t q = 0; q < nc; ++q) reply.counts[q] += c[q];
                for (HistBin& b : reply.hist) {
                  b.g += h[0];
                  b.h += h[1];
                  b.n += h[2];
                  h += 3;
                }
              }
            };
            HistBin root;
            root.g = g;
            root.h = h;
            root.n = n;
            std::vector<HistBin> rh;
            if (!root_hist.is_none()) {
              const auto a = from_array<std::int64_t>(root_hist);
              rh.resize(a.size() / 3);
              for (std::size_t b = 0; b < rh.size(); ++b) {
                rh[b].g = a[3 * b];
                rh[b].h = a[3 * b + 1];
                rh[b].n = a[3 * b + 2];
              }
            }
            return encode_tree(d.grow(t, root, fn, root_hist.is_none() ? nullptr : &rh));
          },
          py::arg("t"), py::arg("g"), py::arg("h"), py::arg("n"), py::arg("step"),
          py::arg("root_hist") = py::none(),
          "Grows round t's tree; step(splits, nodes, features) -> (counts, hist (len(nodes) x "
          "total_bins, 3)), or a list of such pairs (one per worker, summed).")
      .def("set_split_ahead", &TreeDriver::set_split_ahead, py::arg("on"),
           "Whether steps split the best open leaves ahead (default True; False to compare).")
      .def("keep", &TreeDriver::keep)
      .def_property_readonly("n_trees", &TreeDriver::n_trees)
      .def("model", &TreeDriver::model, py::arg("base_score"));
}

// The categorical level tables of a distributed fit: every partition counts the codes of the
// categorical columns (exact integers), the client sums the counts and turns the numeric mapper
// into the single-process one (detail::make_categorical_from_counts).
void bind_categorical(py::module_& m) {
  m.def(
      "_dist_category_counts",
      [](const py::object& X, const std::vector<int>& features, const py::object& rows) {
        FeatureArg xa = as_features(X, "_dist_category_counts");
        std::vector<Index> r;
        if (!rows.is_none()) {
          const auto v = from_array<std::int64_t>(rows);
          r.assign(v.begin(), v.end());
        }
        py::list counts;
        py::list missing;
        for (const int f : features) {
          if (f < 0 || f >= xa.view.cols()) {
            throw InvalidInput("_dist_category_counts: column " + std::to_string(f) +
                               " is outside X's " + std::to_string(xa.view.cols()) + " columns.");
          }
          bool seen = false;
          std::vector<Index> c;
          {
            py::gil_scoped_release release;
            c = detail::category_code_counts(xa.view, f, r, &seen);
          }
          counts.append(to_array(std::vector<std::int64_t>(c.begin(), c.end())));
          missing.append(seen);
        }
        return py::make_tuple(counts, missing);
      },
      py::arg("X"), py::arg("features"), py::arg("rows") = py::none(),
      "Per categorical column: the code counts over `rows` (all when None) and whether a row "
      "is missing.");
  m.def(
      "_dist_make_categorical",
      [](const BinMapper& mapper, const std::vector<int>& features, const py::list& counts,
         const std::vector<bool>& missing, int min_data_per_category) {
        BinMapper out = mapper;
        std::vector<std::vector<Index>> c;
        for (const py::handle h : counts) {
          const auto v = from_array<std::int64_t>(h);
          c.emplace_back(v.begin(), v.end());
        }
        const std::vector<std::uint8_t> miss(missing.begin(), missing.end());
        detail::make_categorical_from_counts(out, {features, min_data_per_category}, c, miss);
        return out;
      },
      py::arg("mapper"), py::arg("features"), py::arg("counts"), py::arg("missing"),
      py::arg("min_data_per_category"),
      "The mapper with its categorical features binned from the summed code counts.");
}

// The early-stopping hold-out of a distributed fit (trees/holdout.hpp): per class, every
// partition sends its bottom-k rows by hold-out key, the client keeps the global bottom-k; the
// shards of the training rows number their rows globally (set_global_rows).
void bind_holdout(py::module_& m) {
  m.def(
      "_dist_holdout_counts",
      [](Index n0, Index n1, double fraction) {
        return py::make_tuple(detail::holdout_count(n0, fraction),
                              detail::holdout_count(n1, fraction));
      },
      py::arg("n0"), py::arg("n1"), py::arg("fraction"));
  m.def(
      "_dist_holdout_candidates",
      [](const py::object& y01, Index offset, Index k0, Index k1, std::uint64_t seed) {
        const auto y = from_array<double>(y01);
        std::vector<Index> cls[2];
        for (std::size_t i = 0; i < y.size(); ++i) {
          cls[y[i] == 1.0 ? 1 : 0].push_back(offset + static_cast<Index>(i));
        }
        py::list out;
        const Index k[2] = {k0, k1};
        for (int c = 0; c < 2; ++c) {
          const std::vector<Index> rows = detail::holdout_bottom_k(cls[c], k[c], seed);
          std::vector<std::uint64_t> keys(rows.size());
          for (std::size_t q = 0; q < rows.size(); ++q)
            keys[q] = detail::holdout_key(seed, rows[q]);
          out.append(py::make_tuple(to_array(keys),
                                    to_array(std::vector<std::int64_t>(rows.begin(), rows.end()))));
        }
        return out;
      },
      py::arg("y01"), py::arg("row_offset"), py::arg("k0"), py::arg("k1"), py::arg("seed"),
      "Per class: this partition's bottom-k (hold-out keys, global rows).");
  m.def(
      "_dist_bin_candidates_of",
      [](const py::object& rows, Index k, std::uint64_t seed) {
        const auto r64 = from_array<std::int64_t>(rows);
        std::vector<Index> r(r64.begin(), r64.end());
        r = detail::bin_sample_rows(std::move(r), k, seed);
        std::vector<std::uint64_t> keys(r.size());
        for (std::size_t q = 0; q < r.size(); ++q) keys[q] = detail::bin_sample_key(seed, r[q]);
        return py::make_tuple(to_array(keys),
                              to_array(std::vector<std::int64_t>(r.begin(), r.end())));
      },
      py::arg("rows"), py::arg("k"), py::arg("seed"),
      "_dist_bin_candidates over the given global rows (the training rows of a partition).");
  py::class_<TrainShard> shard = m.attr("_DistShard");
  shard.def(
      "set_global_rows",
      [](TrainShard& s, const py::object& rows) {
        const auto r = from_array<std::int64_t>(rows);
        s.set_global_rows(std::vector<Index>(r.begin(), r.end()));
      },
      py::arg("rows"));
}

}  // namespace

void bind_distributed(py::module_& m) {
  py::class_<BinMapper>(m, "_DistBinMapper", "A fitted (numeric) bin mapper, picklable.")
      .def_property_readonly("total_bins", &BinMapper::total_bins)
      .def_property_readonly("n_features", &BinMapper::n_features)
      .def(py::pickle([](const BinMapper& b) { return mapper_state(b); },
                      [](const py::tuple& t) { return mapper_from_state(t); }));
  m.def(
      "_dist_bin_candidates",
      [](Index n_rows, Index offset, Index k, std::uint64_t seed) {
        // This partition's share of the global bin sample: its bottom-k rows by key (all when
        // k <= 0 or it has at most k rows); the union's bottom-k is the global sample.
        std::vector<Index> rows(static_cast<std::size_t>(n_rows));
        for (Index i = 0; i < n_rows; ++i) rows[static_cast<std::size_t>(i)] = offset + i;
        rows = detail::bin_sample_rows(std::move(rows), k, seed);
        std::vector<std::uint64_t> keys(rows.size());
        for (std::size_t q = 0; q < rows.size(); ++q) {
          keys[q] = detail::bin_sample_key(seed, rows[q]);
        }
        return py::make_tuple(to_array(keys),
                              to_array(std::vector<std::int64_t>(rows.begin(), rows.end())));
      },
      py::arg("n_rows"), py::arg("row_offset"), py::arg("k"), py::arg("seed"));
  m.def(
      "_dist_bin_mapper",
      [](const py::object& sample, int max_bins) {
        FeatureArg xa = as_features(sample, "_dist_bin_mapper", "sample");
        py::gil_scoped_release release;
        // all the client's threads: the edges do not depend on the thread count
        return detail::bin_mapper_from_sample(xa.view, max_bins, 0);
      },
      py::arg("sample"), py::arg("max_bins"));
  m.def(
      "_dist_class_multipliers",
      [](const GBDTParams& p, Index n0, Index n1) {
        return detail::binary_class_multipliers(p, n0, n1);
      },
      py::arg("params"), py::arg("n0"), py::arg("n1"));
  m.def(
      "_dist_check_model_size",
      [](const GBDTParams& p, Index n_train) { detail::check_model_size(p, n_train); },
      py::arg("params"), py::arg("n_train"),
      "InvalidParamsError when the fit could grow more than max_model_nodes nodes (as fit).");
  m.def(
      "_dist_exact_sum",
      [](const std::vector<double>& partials) {
        detail::ExactSum s;
        for (const double v : partials) s.add(v);
        return s.value();
      },
      py::arg("partials"), "The correctly rounded sum of exact partials (any order).");
  bind_shard(m);
  bind_driver(m);
  bind_categorical(m);
  bind_holdout(m);
}

}  // namespace calibrisk::pyb
