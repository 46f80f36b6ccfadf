// SPDX-License-Identifier: Apache-2.0
// A small HTTP scoring service over a calibrisk pipeline file (cpp-httplib):
//   GET  /health  -> 200 {"status": "ok", model, calibrator, threshold, feature names, ...}
//   POST /score   -> 200 {"risks": [...], "flags": [...], "threshold": t, "drift": [...]}
//                    rows as arrays in schema order or as objects keyed by feature name
//                    (null / absent = missing); refused requests get 4xx {"error": message}.
//   POST /score?explain=K[&explain_scale=calibrated|margin] adds "explanations": {"scale",
//                    "baseline", "rows": [{"log_odds", "top": [{"feature", "contribution"}]}]}:
//                    each row's K largest contributions to the calibrated log-odds (default) or
//                    the model's margin (Pipeline::explain; docs/serving.md).
// `scoring_service --help` lists the flags; docs/artifact.md documents the limits. Port 0 picks
// a free port; the first stdout line is "listening on H:P". SIGINT / SIGTERM stop it within the
// grace period (a signal-waiting thread calls HardenedServer::stop_gracefully).
// calibrisk (Eigen) first: httplib.h brings <resolv.h>, whose `_res` macro breaks Eigen headers.
#include <calibrisk/artifact/io.hpp>

#include "hardened_server.hpp"
#include "rows_parser.hpp"

#include <httplib.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <pthread.h>
#include <strings.h>
#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using json = nlohmann::json;
using scoring::HttpError;

struct Options {
  std::string model, host = "127.0.0.1";
  int port = 0;
  std::size_t max_body = 1 << 20;  // 1 MiB
  std::size_t max_rows = 10000;
  std::size_t max_connections = 256;
  std::size_t workers = std::clamp<std::size_t>(std::thread::hardware_concurrency(), 2, 64);
  long request_timeout_ms = 5000, idle_timeout_ms = 2000, grace_ms = 2000;
};

constexpr int kExitUsage = 2;

// Returns -1 to go on, else the exit code (0 for --help, 2 for a usage error).
int parse_options(int argc, char** argv, Options& o) {
  CLI::App app{"HTTP scoring service over a calibrisk pipeline file: GET /health, POST /score.",
               "scoring_service"};
  app.add_option("--model", o.model, "Pipeline file written by calibrisk::save")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--host", o.host, "Address to listen on")->capture_default_str();
  app.add_option("--port", o.port, "Port (0 picks a free one)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  app.add_option("--max-body-bytes", o.max_body, "Largest /score body (after decompression)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 30))
      ->capture_default_str();
  app.add_option("--max-rows", o.max_rows, "Most rows in one /score request")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000000}))
      ->capture_default_str();
  app.add_option("--max-connections", o.max_connections,
                 "Open connections served at once (one thread each); more get 503")
      ->check(CLI::Range(std::size_t{1}, std::size_t{4096}))
      ->capture_default_str();
  app.add_option("--workers", o.workers, "/score computations run at once (the others queue)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1024}))
      ->capture_default_str();
  app.add_option("--request-timeout-ms", o.request_timeout_ms,
                 "Time for a request's head and body to arrive, and for writing a response")
      ->check(CLI::Range(100L, 600000L))
      ->capture_default_str();
  app.add_option("--idle-timeout-ms", o.idle_timeout_ms,
                 "Wait for the next request on an open connection")
      ->check(CLI::Range(100L, 600000L))
      ->capture_default_str();
  app.add_option("--grace-ms", o.grace_ms,
                 "On SIGTERM / SIGINT: time requests in flight get before they are cut")
      ->check(CLI::Range(0L, 600000L))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& s) {
    return app.exit(s);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr,
                 "scoring_service: usage error: %s\nRun `scoring_service --help` for the flags.\n",
                 e.what());
    return kExitUsage;
  }
  return -1;
}

scoring::ConnectionLimits limits_of(const Options& o) {
  using ms = std::chrono::milliseconds;
  scoring::ConnectionLimits l;
  l.request_timeout = l.write_timeout = ms(o.request_timeout_ms);
  l.idle_timeout = ms(o.idle_timeout_ms);
  l.grace = ms(o.grace_ms);
  l.linger_timeout = std::min(l.linger_timeout, l.idle_timeout);
  l.max_connections = o.max_connections;
  // The body may come chunked: leave room for the framing of small chunks.
  l.max_request_bytes = 2 * o.max_body + l.max_head_bytes;
  return l;
}

// At most `n` /score computations at once: bounds CPU and memory whatever the connection count.
// close() (on stop) turns the requests still waiting away.
class Gate {
 public:
  explicit Gate(std::size_t n) : free_(n) {}
  void close() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      closed_ = true;
    }
    cv_.notify_all();
  }
  struct Slot {
    explicit Slot(Gate& g) : gate(g) {
      std::unique_lock<std::mutex> lock(gate.mutex_);
      gate.cv_.wait(lock, [&] { return gate.free_ > 0 || gate.closed_; });
      if (gate.closed_) throw HttpError{503, "the service is stopping; send the request again."};
      --gate.free_;
    }
    ~Slot() {
      {
        std::lock_guard<std::mutex> lock(gate.mutex_);
        ++gate.free_;
      }
      gate.cv_.notify_one();
    }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    Gate& gate;
  };

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::size_t free_;
  bool closed_ = false;
};

void reply(httplib::Response& res, int status, const std::string& error) {
  res.status = status;
  res.set_content(json{{"error", error}}.dump(-1, ' ', false, json::error_handler_t::replace),
                  "application/json");
}

std::string too_large(std::size_t max_body) {
  return "the payload is larger than " + std::to_string(max_body) +
         " bytes (the service's --max-body-bytes, counted after decompression); split the "
         "request.";
}

// Reads the /score body (decompressed by httplib) into a string of at most max_body bytes.
std::string read_body(const httplib::Request& req, const httplib::ContentReader& reader,
                      const Options& o, const std::string& timeout_message) {
  if (req.is_multipart_form_data()) {
    throw HttpError{415,
                    "multipart/form-data is not accepted; send the rows as JSON "
                    "(Content-Type: application/json) {\"rows\": [[...], ...]}."};
  }
  const std::string te = req.get_header_value("Transfer-Encoding");
  const bool chunked = strcasecmp(te.c_str(), "chunked") == 0;
  if (!te.empty() && !chunked) {
    throw HttpError{400, "Transfer-Encoding " + scoring::quote(te) +
                             " is not supported; send a Content-Length or chunked."};
  }
  const std::string encoding = req.get_header_value("Content-Encoding");
  if (!encoding.empty() && encoding != "gzip" && encoding != "deflate" && encoding != "br" &&
      encoding != "identity") {
    throw HttpError{415, "Content-Encoding " + scoring::quote(encoding) +
                             " is not supported; send gzip, deflate, br or no encoding."};
  }
  std::size_t declared = 0;
  if (!chunked) {
    const std::string cl = req.get_header_value("Content-Length");
    const auto [end, ec] = std::from_chars(cl.data(), cl.data() + cl.size(), declared);
    if (req.get_header_value_count("Content-Length") != 1 || ec != std::errc() ||
        end != cl.data() + cl.size()) {
      throw HttpError{cl.empty() ? 411 : 400,
                      "send one Content-Length header with the body's size in bytes (or a "
                      "chunked body)."};
    }
    if (declared > o.max_body) throw HttpError{400, too_large(o.max_body)};
  }
  std::string body;
  body.reserve(declared);
  bool over = false;
  const bool ok = reader([&](const char* data, std::size_t n) {
    over = n > o.max_body - body.size();
    if (!over) body.append(data, n);
    return !over;
  });
  if (over) throw HttpError{400, too_large(o.max_body)};
  if (!ok && scoring::HardenedServer::current_failure() == scoring::TransportFailure::Timeout) {
    throw HttpError{408, timeout_message};
  }
  if (!ok) {
    throw HttpError{400,
                    "the body could not be read: it ended early or its chunked or compressed "
                    "encoding is broken."};
  }
  return body;
}

void append_number(std::string& out, double x) {
  if (!std::isfinite(x)) {
    out += "null";
    return;
  }
  std::array<char, 32> buf{};
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), x);  // shortest round trip
  out.append(buf.data(), r.ptr);
}

// What `?explain=K&explain_scale=...` asks for (k = 0: no explanations).
struct ExplainRequest {
  std::ptrdiff_t k = 0;
  calibrisk::ExplainScale scale = calibrisk::ExplainScale::kCalibrated;
};

ExplainRequest explain_request(const httplib::Request& req) {
  ExplainRequest e;
  for (const char* key : {"explain", "explain_scale"}) {
    if (req.get_param_value_count(key) > 1) {
      throw HttpError{400, std::string("give the query parameter ") + key + " at most once."};
    }
  }
  if (req.has_param("explain")) {
    const std::string v = req.get_param_value("explain");
    long long k = -1;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), k);
    if (ec != std::errc() || end != v.data() + v.size() || k < 0 || k > 1000) {
      throw HttpError{400, "explain=" + scoring::quote(v) +
                               " is not a whole number in [0, 1000]; pass the number of top "
                               "contributions per row, e.g. /score?explain=3."};
    }
    e.k = static_cast<std::ptrdiff_t>(k);
  }
  if (req.has_param("explain_scale")) {
    const std::string v = req.get_param_value("explain_scale");
    if (v != "calibrated" && v != "margin") {
      throw HttpError{400, "explain_scale=" + scoring::quote(v) +
                               " is not known; use calibrated (the default: calibrated "
                               "log-odds) or margin (the model's log-odds before calibration)."};
    }
    e.scale = calibrisk::parse_explain_scale(v, "explain_scale");
  }
  return e;
}

// Appends ,"explanations":{...}: every row's k largest contributions (names JSON-quoted once).
void append_explanations(std::string& out, const calibrisk::RowMatrixXd& phi, double baseline,
                         const ExplainRequest& e, const std::vector<std::string>& quoted_names) {
  const std::ptrdiff_t p = phi.cols();
  std::vector<std::ptrdiff_t> top(static_cast<std::size_t>(std::min(e.k, p)));
  out += ",\"explanations\":{\"scale\":\"";
  out += calibrisk::explain_scale_label(e.scale);
  out += "\",\"baseline\":";
  append_number(out, baseline);
  out += ",\"rows\":[";
  for (calibrisk::Index i = 0; i < phi.rows(); ++i) {
    const std::ptrdiff_t k = calibrisk::top_contributions(&phi(i, 0), p, e.k, top.data());
    out += i > 0 ? ",{\"log_odds\":" : "{\"log_odds\":";
    append_number(out, baseline + phi.row(i).sum());
    out += ",\"top\":[";
    for (std::ptrdiff_t r = 0; r < k; ++r) {
      out += r > 0 ? ",{\"feature\":" : "{\"feature\":";
      out += quoted_names[static_cast<std::size_t>(top[static_cast<std::size_t>(r)])];
      out += ",\"contribution\":";
      append_number(out, phi(i, top[static_cast<std::size_t>(r)]));
      out += '}';
    }
    out += "]}";
  }
  out += "]}";
}

// Writes the response straight into res.body (no JSON tree for the per-row arrays).
void write_scores(httplib::Response& res, const Eigen::VectorXd& risk, double threshold,
                  const calibrisk::InputReport& report) {
  json drift = json::array();
  for (const auto& f : report.features) {
    drift.push_back({{"feature", f.name},
                     {"below_min", f.n_below_min},
                     {"above_max", f.n_above_max},
                     {"unseen_category", f.n_unseen_category},
                     {"missing_rate_drift", f.missing_rate_drift}});
  }
  const std::string drift_text = drift.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string& out = res.body;
  out.clear();
  out.reserve(static_cast<std::size_t>(risk.size()) * 32 + drift_text.size() + 64);
  out += "{\"risks\":[";
  for (calibrisk::Index i = 0; i < risk.size(); ++i) {
    if (i > 0) out += ',';
    append_number(out, risk[i]);
  }
  out += "],\"flags\":[";
  for (calibrisk::Index i = 0; i < risk.size(); ++i) {
    if (i > 0) out += ',';
    out += risk[i] >= threshold ? "true" : "false";
  }
  out += "],\"threshold\":";
  append_number(out, threshold);
  out += ",\"drift\":" + drift_text;  // the closing brace follows any explanations
  res.status = 200;
  res.set_header("Content-Type", "application/json");
}

// The model every request uses, with what explaining needs built once.
struct Model {
  explicit Model(calibrisk::Pipeline p) : pipe(std::move(p)) {
    for (const auto& f : pipe.schema().features) {
      quoted_names.push_back(json(f.name).dump(-1, ' ', false, json::error_handler_t::replace));
    }
  }
  calibrisk::Pipeline pipe;
  std::vector<std::string> quoted_names;  // feature names as JSON strings
};

// A K-class model (format 1.6): {"classes": [...], "probabilities": [[p_1, ..., p_K], ...],
// "labels": [...], "routes": ["auto" | "review", ...], "drift": [...]} and with ?explain=K the
// predicted class's top features ({"class", "logit", "top": [...]} per row, on its softmax logit).
void score_classes(const Model& model, const scoring::ParsedRows& rows, const ExplainRequest& e,
                   httplib::Response& res) {
  const calibrisk::Pipeline& pipe = model.pipe;
  const auto X = calibrisk::MatrixView<const double>::row_major(
      rows.values.data(), static_cast<calibrisk::Index>(rows.n_rows), pipe.n_features());
  const calibrisk::RowMatrixXd P = pipe.predict_proba_matrix(X);
  const calibrisk::InputReport report = pipe.check_inputs(X);
  const std::vector<std::int32_t> label = pipe.predict_label(calibrisk::view(P));
  const std::vector<std::uint8_t> route = pipe.route(calibrisk::view(P));
  const std::vector<std::string> classes = pipe.class_labels();
  const auto quoted = [](const std::string& s) {
    return json(s).dump(-1, ' ', false, json::error_handler_t::replace);
  };
  std::string& out = res.body;
  out = "{\"classes\":[";
  for (std::size_t c = 0; c < classes.size(); ++c) out += (c ? "," : "") + quoted(classes[c]);
  out += "],\"probabilities\":[";
  for (calibrisk::Index i = 0; i < P.rows(); ++i) {
    out += i > 0 ? ",[" : "[";
    for (calibrisk::Index k = 0; k < P.cols(); ++k) {
      if (k > 0) out += ',';
      append_number(out, P(i, k));
    }
    out += ']';
  }
  out += "],\"labels\":[";
  for (std::size_t i = 0; i < label.size(); ++i) {
    out += (i ? "," : "") + quoted(classes[static_cast<std::size_t>(label[i])]);
  }
  out += "],\"routes\":[";
  for (std::size_t i = 0; i < route.size(); ++i) {
    out += i ? "," : "";
    out += route[i] ? "\"auto\"" : "\"review\"";
  }
  json drift = json::array();
  for (const auto& f : report.features) {
    drift.push_back({{"feature", f.name},
                     {"below_min", f.n_below_min},
                     {"above_max", f.n_above_max},
                     {"unseen_category", f.n_unseen_category},
                     {"missing_rate_drift", f.missing_rate_drift}});
  }
  out += "],\"drift\":" + drift.dump(-1, ' ', false, json::error_handler_t::replace);
  if (e.k > 0) {
    const std::ptrdiff_t p = pipe.n_features();
    std::vector<double> phi(static_cast<std::size_t>(p));
    std::vector<std::ptrdiff_t> top(static_cast<std::size_t>(std::min(e.k, p)));
    out += ",\"explanations\":{\"scale\":\"class_logit\",\"rows\":[";
    for (calibrisk::Index i = 0; i < P.rows(); ++i) {
      const int k = label[static_cast<std::size_t>(i)];
      const double base = pipe.explain_class(X.row_ptr(i), k, phi.data());
      double logit = base;
      for (double v : phi) logit += v;
      const std::ptrdiff_t n = calibrisk::top_contributions(phi.data(), p, e.k, top.data());
      out += i > 0 ? ",{\"class\":" : "{\"class\":";
      out += quoted(classes[static_cast<std::size_t>(k)]);
      out += ",\"logit\":";
      append_number(out, logit);
      out += ",\"top\":[";
      for (std::ptrdiff_t r = 0; r < n; ++r) {
        out += r > 0 ? ",{\"feature\":" : "{\"feature\":";
        out += model.quoted_names[static_cast<std::size_t>(top[static_cast<std::size_t>(r)])];
        out += ",\"contribution\":";
        append_number(out, phi[static_cast<std::size_t>(top[static_cast<std::size_t>(r)])]);
        out += '}';
      }
      out += "]}";
    }
    out += "]}";
  }
  out += '}';
  res.status = 200;
  res.set_header("Content-Type", "application/json");
}

void score(const Model& model, scoring::ParsedRows rows, const ExplainRequest& e,
           httplib::Response& res) {
  const calibrisk::Pipeline& pipe = model.pipe;
  if (pipe.n_classes() > 2) return score_classes(model, rows, e, res);
  Eigen::VectorXd risk;
  calibrisk::InputReport report;
  calibrisk::RowMatrixXd phi;
  double baseline = 0.0;
  {
    const auto X = calibrisk::MatrixView<const double>::row_major(
        rows.values.data(), static_cast<calibrisk::Index>(rows.n_rows), pipe.n_features());
    risk = pipe.predict_proba(X);
    report = pipe.check_inputs(X);
    if (e.k > 0) {
      phi.resize(X.rows(), X.cols());
      baseline = pipe.explain(X, calibrisk::view_mut(phi), e.scale);
    }
    std::vector<double>().swap(rows.values);  // free the matrix before the response is built
  }
  write_scores(res, risk, pipe.threshold(), report);
  if (e.k > 0) append_explanations(res.body, phi, baseline, e, model.quoted_names);
  res.body += '}';
}

std::string health_body(const calibrisk::Pipeline& pipe) {
  json names = json::array();
  for (const auto& f : pipe.schema().features) names.push_back(f.name);
  return json{{"status", "ok"},
              {"model_type", pipe.model_type()},
              {"calibrator", pipe.calibrator_type()},
              {"threshold", pipe.threshold()},
              {"policy", pipe.operating_point().policy},
              {"n_features", pipe.n_features()},
              {"n_classes", pipe.n_classes()},
              {"classes", pipe.class_labels()},
              {"feature_names", names},
              {"library_version", calibrisk::library_version()}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

// GET|HEAD /health without a body and POST /score go on to their handlers; anything else is
// answered here, before httplib would read (and decompress) a body for it.
httplib::Server::HandlerResponse route_guard(const httplib::Request& req, httplib::Response& res) {
  using R = httplib::Server::HandlerResponse;
  const bool has_body =
      req.has_header("Transfer-Encoding") ||
      (req.has_header("Content-Length") && req.get_header_value("Content-Length") != "0");
  const bool get = req.method == "GET" || req.method == "HEAD";
  if (req.path == "/score" && req.method == "POST") return R::Unhandled;
  if (req.path == "/health" && get && !has_body) return R::Unhandled;
  if (req.path == "/health" && get) {
    reply(res, 400, "GET /health takes no body.");
  } else if (req.path == "/health" || req.path == "/score") {
    reply(res, 405,
          scoring::quote(req.method) + " is not served here; use GET /health or POST /score.");
  } else {
    reply(res, 404,
          "no endpoint " + scoring::quote(req.path) +
              "; the service serves GET /health and POST /score.");
  }
  return R::Handled;
}

void add_routes(scoring::HardenedServer& server, const Model& model, const Options& o, Gate& gate,
                const scoring::RowsParser& parser, const std::string& health) {
  server.set_pre_routing_handler(route_guard);
  const std::string timeout = server.timeout_message();
  // Responses httplib produces itself (unreadable or oversized requests) get a JSON message.
  server.set_error_handler([&o, timeout](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    using F = scoring::TransportFailure;
    switch (scoring::HardenedServer::current_failure()) {
      case F::Timeout:
        return reply(res, 408, timeout);
      case F::HeadTooLarge:
        return reply(res, 431, "the request line and headers exceed 64 KiB.");
      case F::RequestTooLarge:
        return reply(res, 400, too_large(o.max_body));
      case F::None:
        break;
    }
    if (res.status == 413) return reply(res, 400, too_large(o.max_body));
    if (res.status == 414) return reply(res, 414, "the request target exceeds 8192 bytes.");
    reply(res, res.status, "HTTP " + std::to_string(res.status));
  });
  server.Get("/health", [&health](const httplib::Request&, httplib::Response& res) {
    res.set_content(health, "application/json");
  });
  server.Post("/score", [&, timeout](const httplib::Request& req, httplib::Response& res,
                                     const httplib::ContentReader& reader) {
    try {
      const ExplainRequest explain = explain_request(req);
      std::string body = read_body(req, reader, o, timeout);
      const Gate::Slot slot(gate);
      scoring::ParsedRows rows = parser.parse(body);
      std::string().swap(body);  // free the body before scoring
      score(model, std::move(rows), explain, res);
    } catch (const HttpError& e) {
      reply(res, e.status, e.message);
    } catch (const calibrisk::InvalidInput& e) {
      reply(res, 400, e.what());
    }
  });
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (const int code = parse_options(argc, argv, o); code >= 0) return code;
  // Block the stop signals in every thread; one thread waits for them and stops the server.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::unique_ptr<Model> model;
  try {
    model = std::make_unique<Model>(calibrisk::load(o.model));
  } catch (const calibrisk::Error& e) {
    std::fprintf(stderr, "scoring_service: %s\n", e.what());
    return 1;
  }
  std::vector<std::string> names;
  for (const auto& f : model->pipe.schema().features) names.push_back(f.name);
  const scoring::RowsParser parser(std::move(names), o.max_rows);
  const std::string health = health_body(model->pipe);
  Gate gate(o.workers);

  scoring::HardenedServer server(limits_of(o));
  add_routes(server, *model, o, gate, parser, health);

  const int port = o.port == 0 ? server.bind_to_any_port(o.host)
                               : (server.bind_to_port(o.host, o.port) ? o.port : -1);
  if (port < 0) {
    std::fprintf(stderr, "scoring_service: cannot listen on %s port %d\n", o.host.c_str(), o.port);
    return 1;
  }
  std::printf("listening on %s:%d\n", o.host.c_str(), port);
  std::fflush(stdout);

  std::atomic<bool> signalled{false};
  std::thread stopper([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    signalled = true;
    server.stop_gracefully();
    gate.close();
  });
  const bool ok = server.run();
  // run returned without a signal (listening failed): wake the waiting thread so it can be joined.
  if (!signalled) pthread_kill(stopper.native_handle(), SIGTERM);
  stopper.join();
  std::printf("stopped\n");
  return ok ? 0 : 1;
}
