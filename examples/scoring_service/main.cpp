// SPDX-License-Identifier: Apache-2.0
// A small HTTP scoring service over a calibrisk pipeline file (cpp-httplib):
//   GET  /health  -> 200 {"status": "ok", model, calibrator, threshold, feature names, ...}
//   POST /score   -> 200 {"risks": [...], "flags": [...], "threshold": t, "drift": [...]}
//                    rows as arrays in schema order or as objects keyed by feature name
//                    (null / absent = missing); malformed or oversized payloads -> 400 {"error"}.
// Usage: scoring_service --model FILE [--host 127.0.0.1] [--port 0] [--max-body-bytes N]
//        [--max-rows N]. Port 0 picks a free port; the first stdout line is "listening on H:P".
// SIGINT / SIGTERM stop it cleanly (a signal-waiting thread calls Server::stop).
#include <calibrisk/artifact/io.hpp>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <pthread.h>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

using json = nlohmann::json;

struct Options {
  std::string model, host = "127.0.0.1";
  int port = 0;
  std::size_t max_body = 1 << 20;  // 1 MiB
  std::size_t max_rows = 10000;
};

// Thrown for a bad request; becomes HTTP 400 with the message.
struct BadRequest {
  std::string message;
};

double value_of(const json& v, std::size_t row, const std::string& col) {
  if (v.is_null()) return std::numeric_limits<double>::quiet_NaN();
  if (!v.is_number()) {
    throw BadRequest{"rows[" + std::to_string(row) + "][" + col + "] is " + v.type_name() +
                     "; values must be numbers or null (missing)."};
  }
  const double d = v.get<double>();
  if (!std::isfinite(d)) {
    throw BadRequest{"rows[" + std::to_string(row) + "][" + col + "] is not finite."};
  }
  return d;
}

// Parses {"rows": [...]} into a row-major matrix in schema order.
calibrisk::RowMatrixXd parse_rows(const std::string& body, const calibrisk::Pipeline& pipe,
                                  const Options& o) {
  json doc;
  try {
    doc = json::parse(body);
  } catch (const json::parse_error& e) {
    throw BadRequest{"the body is not valid JSON (byte " + std::to_string(e.byte) +
                     "); send {\"rows\": [[...], ...]}."};
  } catch (const json::exception& e) {  // e.g. a number literal overflowing a double
    throw BadRequest{std::string("the body is not valid JSON (") + e.what() + ")."};
  }
  if (!doc.is_object() || !doc.contains("rows") || !doc["rows"].is_array()) {
    throw BadRequest{
        "the body must be an object with an array \"rows\"; send {\"rows\": [[...]]}."};
  }
  const json& rows = doc["rows"];
  if (rows.empty()) throw BadRequest{"\"rows\" is empty; send at least one row."};
  if (rows.size() > o.max_rows) {
    throw BadRequest{"\"rows\" has " + std::to_string(rows.size()) +
                     " rows, more than the limit of " + std::to_string(o.max_rows) +
                     "; split the request."};
  }
  const auto p = pipe.n_features();
  const auto& features = pipe.schema().features;
  calibrisk::RowMatrixXd X(static_cast<calibrisk::Index>(rows.size()), p);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const json& r = rows[i];
    const auto ii = static_cast<calibrisk::Index>(i);
    if (r.is_array()) {
      if (static_cast<calibrisk::Index>(r.size()) != p) {
        throw BadRequest{"rows[" + std::to_string(i) + "] has " + std::to_string(r.size()) +
                         " values but the model expects " + std::to_string(p) + " features."};
      }
      for (calibrisk::Index j = 0; j < p; ++j)
        X(ii, j) = value_of(r[static_cast<std::size_t>(j)], i, std::to_string(j));
    } else if (r.is_object()) {
      std::size_t known = 0;
      for (calibrisk::Index j = 0; j < p; ++j) {
        const std::string& name = features[static_cast<std::size_t>(j)].name;
        auto it = r.find(name);
        if (it == r.end()) {
          X(ii, j) = std::numeric_limits<double>::quiet_NaN();
        } else {
          X(ii, j) = value_of(*it, i, name);
          ++known;
        }
      }
      if (known != r.size()) {
        throw BadRequest{"rows[" + std::to_string(i) +
                         "] has keys that are not features of "
                         "the model; GET /health lists the feature names."};
      }
    } else {
      throw BadRequest{"rows[" + std::to_string(i) + "] is " + r.type_name() +
                       "; each row is an array (schema order) or an object (by name)."};
    }
  }
  return X;
}

void reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

bool parse_args(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--model")
      o.model = next();
    else if (a == "--host")
      o.host = next();
    else if (a == "--port")
      o.port = std::stoi(next());
    else if (a == "--max-body-bytes")
      o.max_body = std::stoul(next());
    else if (a == "--max-rows")
      o.max_rows = std::stoul(next());
    else
      return false;
  }
  return !o.model.empty();
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  try {
    if (!parse_args(argc, argv, o)) {
      std::fprintf(stderr,
                   "usage: %s --model FILE [--host 127.0.0.1] [--port 0] "
                   "[--max-body-bytes N] [--max-rows N]\n",
                   argv[0]);
      return 2;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "scoring_service: %s\n", e.what());
    return 2;
  }
  // Block the stop signals in every thread; one thread waits for them and stops the server.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::unique_ptr<calibrisk::Pipeline> pipe;
  try {
    pipe = std::make_unique<calibrisk::Pipeline>(calibrisk::load(o.model));
  } catch (const calibrisk::Error& e) {
    std::fprintf(stderr, "scoring_service: %s\n", e.what());
    return 1;
  }

  httplib::Server server;
  // Oversized bodies are refused while reading (httplib answers 413); the error handler turns
  // that into the service's 400 with a message.
  server.set_payload_max_length(o.max_body);
  server.set_error_handler([&](const httplib::Request&, httplib::Response& res) {
    if (res.status == 413) {
      reply(res, 400,
            {{"error", "the payload is larger than " + std::to_string(o.max_body) +
                           " bytes; split the request."}});
    } else if (res.body.empty()) {
      reply(res, res.status, {{"error", "HTTP " + std::to_string(res.status)}});
    }
  });

  server.Get("/health", [&](const httplib::Request&, httplib::Response& res) {
    json names = json::array();
    for (const auto& f : pipe->schema().features) names.push_back(f.name);
    reply(res, 200,
          {{"status", "ok"},
           {"model_type", pipe->model_type()},
           {"calibrator", pipe->calibrator_type()},
           {"threshold", pipe->threshold()},
           {"policy", pipe->operating_point().policy},
           {"n_features", pipe->n_features()},
           {"feature_names", names},
           {"library_version", calibrisk::library_version()}});
  });

  server.Post("/score", [&](const httplib::Request& req, httplib::Response& res) {
    try {
      if (req.body.size() > o.max_body) {
        throw BadRequest{"the payload is larger than " + std::to_string(o.max_body) + " bytes."};
      }
      const calibrisk::RowMatrixXd X = parse_rows(req.body, *pipe, o);
      const Eigen::VectorXd risk = pipe->predict_proba(calibrisk::view(X));
      json risks = json::array(), flags = json::array(), drift = json::array();
      for (calibrisk::Index i = 0; i < risk.size(); ++i) {
        risks.push_back(risk[i]);
        flags.push_back(risk[i] >= pipe->threshold());
      }
      const calibrisk::InputReport report = pipe->check_inputs(calibrisk::view(X));
      for (const auto& f : report.features) {
        drift.push_back({{"feature", f.name},
                         {"below_min", f.n_below_min},
                         {"above_max", f.n_above_max},
                         {"unseen_category", f.n_unseen_category},
                         {"missing_rate_drift", f.missing_rate_drift}});
      }
      reply(
          res, 200,
          {{"risks", risks}, {"flags", flags}, {"threshold", pipe->threshold()}, {"drift", drift}});
    } catch (const BadRequest& e) {
      reply(res, 400, {{"error", e.message}});
    } catch (const calibrisk::InvalidInput& e) {
      reply(res, 400, {{"error", e.what()}});
    }
  });

  const int port = o.port == 0 ? server.bind_to_any_port(o.host)
                               : (server.bind_to_port(o.host, o.port) ? o.port : -1);
  if (port < 0) {
    std::fprintf(stderr, "scoring_service: cannot bind %s:%d\n", o.host.c_str(), o.port);
    return 1;
  }
  std::printf("listening on %s:%d\n", o.host.c_str(), port);
  std::fflush(stdout);

  std::atomic<bool> signalled{false};
  std::thread stopper([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    signalled = true;
    server.stop();
  });
  const bool ok = server.listen_after_bind();
  // listen returned without a signal (it failed): wake the waiting thread so it can be joined.
  if (!signalled) pthread_kill(stopper.native_handle(), SIGTERM);
  stopper.join();
  std::printf("stopped\n");
  return ok ? 0 : 1;
}
