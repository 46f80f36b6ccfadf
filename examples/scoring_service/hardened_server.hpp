// SPDX-License-Identifier: Apache-2.0
// Connection handling that keeps the scoring service answering under slow and hostile clients.
//
// cpp-httplib 0.11 (Debian bookworm's libcpp-httplib-dev) serves each connection on one worker of
// a fixed pool (8 threads) and bounds only the silence between two reads, so a client trickling
// one byte every second keeps its worker for ever, a handful of them queue every other client
// (GET /health too) behind them, and Server::stop() waits for them. A bigger pool only raises the
// number of slow clients needed. HardenedServer keeps httplib's request parsing and routing but
// replaces its per-connection loop (process_and_close_socket, the extension point httplib's own
// SSLServer uses) and its task queue:
//  - every connection gets its own thread at once, up to max_connections, so no client ever
//    waits for another one; connections beyond that get 503 and are closed;
//  - a request's line and headers must arrive within max_head_bytes, and the whole request
//    (head and body) within request_timeout of its first byte and max_request_bytes; writing a
//    response must finish within write_timeout; a kept-alive connection waits at most
//    idle_timeout for its next request and serves at most keep_alive_max requests; a connection
//    closed after an error response drains the client's unread bytes for at most linger_timeout;
//  - stop_gracefully() stops accepting at once, closes idle connections at once, gives requests
//    in flight `grace` to arrive and be answered and then cuts them, so run() returns within
//    grace plus the time of the scoring computations already running.
// A slow client therefore holds one of max_connections slots for at most
// idle_timeout + request_timeout + (handler time) + write_timeout + linger_timeout.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>

namespace scoring {

using Clock = std::chrono::steady_clock;

struct ConnectionLimits {
  std::chrono::milliseconds request_timeout{5000};
  std::chrono::milliseconds write_timeout{5000};
  std::chrono::milliseconds idle_timeout{2000};
  std::chrono::milliseconds linger_timeout{500};
  std::chrono::milliseconds grace{2000};
  std::size_t keep_alive_max = 100;
  std::size_t max_connections = 256;
  std::size_t max_head_bytes = 64 * 1024;
  std::size_t max_request_bytes = (1U << 21) + 64 * 1024;  ///< head + body (with chunk framing)
};

/// Why reading the current request failed below HTTP (for the error handler).
enum class TransportFailure { None, Timeout, HeadTooLarge, RequestTooLarge };

/// What stop_gracefully() tells the connections (shared by their threads).
struct StopState {
  int pipe_read = -1, pipe_write = -1;  ///< the read end turns readable when stopping starts
  std::atomic<bool> stopping{false};
  std::atomic<Clock::rep> deadline{0};  ///< the end of the grace period
};

class HardenedServer : public httplib::Server {
 public:
  explicit HardenedServer(const ConnectionLimits& limits);
  ~HardenedServer() override;
  HardenedServer(const HardenedServer&) = delete;
  HardenedServer& operator=(const HardenedServer&) = delete;

  /// Serves until stopped (after bind_to_port / bind_to_any_port); false if listening failed.
  bool run();
  /// Stops as described above; call from any thread except a connection's (not from a signal
  /// handler). Safe before run() has started and after it has returned.
  void stop_gracefully();
  /// The transport failure of the request being handled on this thread, if any.
  static TransportFailure current_failure();
  /// The message of a 408 answer (the request did not arrive within request_timeout).
  std::string timeout_message() const;

 private:
  bool process_and_close_socket(socket_t sock) override;
  void serve(socket_t sock);

  ConnectionLimits limits_;
  StopState stop_;
  std::atomic<bool> resized_{false}, run_returned_{false};
};

}  // namespace scoring
