// SPDX-License-Identifier: Apache-2.0
#include "hardened_server.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace scoring {
namespace {

// Set by ConnectionThreads while it runs a connection inline to refuse it (over the limit).
thread_local bool t_refuse = false;

// One thread per connection, at most `max` at a time; a connection over the limit runs inline on
// the accepting thread, where process_and_close_socket answers 503 without blocking.
class ConnectionThreads final : public httplib::TaskQueue {
 public:
  explicit ConnectionThreads(std::size_t max) : max_(max) {}
  ~ConnectionThreads() override { shutdown(); }

  void enqueue(std::function<void()> fn) override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      reap();
      if (threads_.size() < max_) {
        try {
          const std::uint64_t id = next_id_++;
          threads_.emplace(id, std::thread([this, id, fn] {
                             fn();
                             std::lock_guard<std::mutex> done(mutex_);
                             finished_.push_back(id);
                           }));
          return;
        } catch (const std::system_error&) {  // no thread to be had: refuse like an overload
        }
      }
    }
    t_refuse = true;
    fn();
    t_refuse = false;
  }

  void shutdown() override {
    std::map<std::uint64_t, std::thread> all;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      all.swap(threads_);
      finished_.clear();
    }
    for (auto& entry : all) entry.second.join();
  }

 private:
  // Joins the threads that have finished (their last step is to report it under the mutex).
  void reap() {
    for (const std::uint64_t id : finished_) {
      const auto it = threads_.find(id);
      if (it == threads_.end()) continue;
      it->second.join();
      threads_.erase(it);
    }
    finished_.clear();
  }

  std::size_t max_;
  std::mutex mutex_;
  std::map<std::uint64_t, std::thread> threads_;
  std::vector<std::uint64_t> finished_;
  std::uint64_t next_id_ = 0;
};

Clock::time_point from_rep(Clock::rep r) { return Clock::time_point(Clock::duration(r)); }

// The httplib::Stream of one connection: buffered non-blocking reads and writes, each waiting
// with poll() until the deadline of the current request (or of the write), the stop pipe and the
// end of the grace period.
class Connection final : public httplib::Stream {
 public:
  Connection(socket_t sock, const ConnectionLimits& limits, const StopState& stop)
      : sock_(sock), limits_(limits), stop_(stop) {
    const int one = 1;
    setsockopt(sock_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // no 40 ms Nagle delays
  }

  bool is_readable() const override {
    return pos_ < len_ || wait(POLLIN, deadline_, false) == Wait::Ready;
  }
  bool is_writable() const override {
    return wait(POLLOUT, Clock::now() + limits_.write_timeout, false) == Wait::Ready;
  }
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    address(true, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    address(false, ip, port);
  }
  socket_t socket() const override { return sock_; }

  // Waits up to `timeout` for the next request's first byte; false on timeout, EOF or stop.
  bool wait_for_request(Clock::duration timeout) {
    return pos_ < len_ || wait(POLLIN, Clock::now() + timeout, true) == Wait::Ready;
  }
  void begin_request() {
    deadline_ = Clock::now() + limits_.request_timeout;
    failure_ = TransportFailure::None;
    head_done_ = false;
    head_bytes_ = body_bytes_ = written_ = 0;
    tail_ = 0;
  }
  TransportFailure failure() const { return failure_; }
  bool eof() const { return eof_; }
  bool responded() const { return written_ > 0; }
  void close_after_response() { close_ = true; }
  bool closing() const { return close_; }
  // Half-closes and discards what the client still sends (so it reads our error response
  // instead of a reset) until it closes too, linger_timeout passes or stopping begins.
  void linger();

 private:
  enum class Wait { Ready, Timeout, Stopped, Error };
  Wait wait(short events, Clock::time_point deadline, bool idle) const;
  bool fill();
  bool account(std::size_t n);
  void address(bool remote, std::string& ip, int& port) const;

  socket_t sock_;
  const ConnectionLimits& limits_;
  const StopState& stop_;
  std::array<char, 4096> buffer_{};
  std::size_t pos_ = 0, len_ = 0;
  Clock::time_point deadline_ = Clock::now();
  TransportFailure failure_ = TransportFailure::None;
  bool head_done_ = false, eof_ = false, close_ = false;
  std::size_t head_bytes_ = 0, body_bytes_ = 0, written_ = 0;
  std::uint32_t tail_ = 0;  // the last four bytes of the head, to find its end (CRLF CRLF)
};

// While the server runs the stop pipe is polled too; once stopping has begun, idle waits end at
// once and every other wait ends at the end of the grace period at the latest.
Connection::Wait Connection::wait(short events, Clock::time_point deadline, bool idle) const {
  for (;;) {
    const bool stopping = stop_.stopping.load();
    bool grace_ends_first = false;
    if (stopping) {
      if (idle) return Wait::Stopped;
      const Clock::time_point end_of_grace = from_rep(stop_.deadline.load());
      grace_ends_first = end_of_grace < deadline;
      if (grace_ends_first) deadline = end_of_grace;
    }
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return grace_ends_first ? Wait::Stopped : Wait::Timeout;
    std::array<pollfd, 2> fds{pollfd{sock_, events, 0}, pollfd{stop_.pipe_read, POLLIN, 0}};
    const int ms = static_cast<int>(std::min<std::int64_t>(left.count(), INT_MAX));
    const int r = ::poll(fds.data(), stopping ? 1 : 2, ms);
    if (r < 0 && errno != EINTR) return Wait::Error;
    if (r > 0 && fds[0].revents != 0) return Wait::Ready;  // data, room, hang-up or error
  }
}

bool Connection::fill() {
  for (;;) {
    const ssize_t n = ::recv(sock_, buffer_.data(), buffer_.size(), MSG_DONTWAIT);
    if (n > 0) {
      pos_ = 0;
      len_ = static_cast<std::size_t>(n);
      return true;
    }
    if (n == 0) {
      eof_ = true;
      return false;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return false;
    const Wait w = wait(POLLIN, deadline_, false);
    if (w == Wait::Timeout) failure_ = TransportFailure::Timeout;
    if (w != Wait::Ready) return false;
  }
}

// Counts n bytes handed to httplib against the head and request limits.
bool Connection::account(std::size_t n) {
  std::size_t i = 0;
  for (; i < n && !head_done_; ++i) {
    tail_ = (tail_ << 8) | static_cast<unsigned char>(buffer_[pos_ + i]);
    head_done_ = tail_ == 0x0D0A0D0AU;
  }
  head_bytes_ += i;
  body_bytes_ += n - i;
  if (head_bytes_ > limits_.max_head_bytes) {
    failure_ = TransportFailure::HeadTooLarge;
    return false;
  }
  if (head_bytes_ + body_bytes_ > limits_.max_request_bytes) {
    failure_ = TransportFailure::RequestTooLarge;
    return false;
  }
  return true;
}

ssize_t Connection::read(char* ptr, size_t size) {
  if (failure_ != TransportFailure::None) return -1;
  if (pos_ == len_ && !fill()) return eof_ ? 0 : -1;
  const std::size_t n = std::min(size, len_ - pos_);
  if (!account(n)) return -1;
  std::memcpy(ptr, buffer_.data() + pos_, n);
  pos_ += n;
  return static_cast<ssize_t>(n);
}

ssize_t Connection::write(const char* ptr, size_t size) {
  const auto deadline = Clock::now() + limits_.write_timeout;
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::send(sock_, ptr + done, size - done, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) {
      done += static_cast<std::size_t>(n);
      written_ += static_cast<std::size_t>(n);
    } else if (errno == EINTR) {
      continue;
    } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
      return -1;
    } else if (wait(POLLOUT, deadline, false) != Wait::Ready) {
      return -1;
    }
  }
  return static_cast<ssize_t>(size);
}

void Connection::linger() {
  ::shutdown(sock_, SHUT_WR);
  const auto deadline = Clock::now() + limits_.linger_timeout;
  std::size_t drained = 0;
  while (drained < limits_.max_request_bytes && wait(POLLIN, deadline, true) == Wait::Ready) {
    const ssize_t n = ::recv(sock_, buffer_.data(), buffer_.size(), MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) break;
    if (n > 0) drained += static_cast<std::size_t>(n);
  }
}

void Connection::address(bool remote, std::string& ip, int& port) const {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  auto* sa = reinterpret_cast<sockaddr*>(&addr);
  if ((remote ? getpeername(sock_, sa, &len) : getsockname(sock_, sa, &len)) != 0) return;
  std::array<char, NI_MAXHOST> host{};
  std::array<char, NI_MAXSERV> serv{};
  if (getnameinfo(sa, len, host.data(), host.size(), serv.data(), serv.size(),
                  NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
    ip = host.data();
    port = std::atoi(serv.data());
  }
}

thread_local Connection* t_connection = nullptr;

// A complete HTTP/1.1 response with a JSON error body that closes the connection.
std::string json_reply(int status, const char* reason, const std::string& message) {
  const std::string body = "{\"error\": \"" + message + "\"}";
  return "HTTP/1.1 " + std::to_string(status) + " " + reason +
         "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

}  // namespace

HardenedServer::HardenedServer(const ConnectionLimits& limits) : limits_(limits) {
  std::array<int, 2> fds{};
  if (::pipe(fds.data()) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
  for (const int fd : fds) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  stop_.pipe_read = fds[0];
  stop_.pipe_write = fds[1];
  const std::size_t max_connections = limits_.max_connections;
  new_task_queue = [max_connections] { return new ConnectionThreads(max_connections); };
  // The values httplib announces in its Keep-Alive response header.
  set_keep_alive_max_count(limits_.keep_alive_max);
  set_keep_alive_timeout(
      std::chrono::duration_cast<std::chrono::seconds>(limits_.idle_timeout).count());
  // An error response closes the connection: the rest of the request may still be unread.
  set_post_routing_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.status < 400 || t_connection == nullptr) return;
    t_connection->close_after_response();
    res.headers.erase("Keep-Alive");
    if (!res.has_header("Connection")) res.set_header("Connection", "close");
  });
}

HardenedServer::~HardenedServer() {
  ::close(stop_.pipe_read);
  ::close(stop_.pipe_write);
}

bool HardenedServer::run() {
  // httplib listens with a backlog of 5 (CPPHTTPLIB_LISTEN_BACKLOG, compiled into Debian's
  // library): a burst of connections arriving while the accepting thread starts a connection
  // thread overflowed it and was reset. listen() again only resizes the queue.
  if (const socket_t s = svr_sock_; s != INVALID_SOCKET) ::listen(s, SOMAXCONN);
  resized_ = true;  // orders that listen() before stop()'s close() (for ThreadSanitizer too)
  const bool ok = listen_after_bind();
  run_returned_ = true;
  return ok;
}

void HardenedServer::stop_gracefully() {
  stop_.deadline = (Clock::now() + limits_.grace).time_since_epoch().count();
  stop_.stopping = true;
  (void)!::write(stop_.pipe_write, "s", 1);
  // Server::stop() acts only once listening has begun.
  while (!(resized_ && is_running()) && !run_returned_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  stop();
}

std::string HardenedServer::timeout_message() const {
  return "the request did not arrive within " + std::to_string(limits_.request_timeout.count()) +
         " ms; send it at once.";
}

TransportFailure HardenedServer::current_failure() {
  return t_connection != nullptr ? t_connection->failure() : TransportFailure::None;
}

bool HardenedServer::process_and_close_socket(socket_t sock) {
  if (t_refuse) {
    static const std::string reply =
        json_reply(503, "Service Unavailable", "too many open connections; retry in a moment.");
    (void)!::send(sock, reply.data(), reply.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  } else {
    serve(sock);
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return true;
}

void HardenedServer::serve(socket_t sock) {
  Connection conn(sock, limits_, stop_);
  t_connection = &conn;
  for (std::size_t n = 1; n <= limits_.keep_alive_max; ++n) {
    if (!conn.wait_for_request(limits_.idle_timeout)) break;
    conn.begin_request();
    bool client_closes = false;
    const bool last = n == limits_.keep_alive_max || stop_.stopping;
    const bool ok = process_request(conn, last, client_closes, nullptr);
    // httplib drops a request whose first line never completes without a word: say why.
    if (!ok && conn.failure() == TransportFailure::Timeout && !conn.responded()) {
      const std::string reply = json_reply(408, "Request Timeout", timeout_message());
      conn.write(reply.data(), reply.size());
    }
    if (!ok || client_closes || last || conn.closing()) break;
  }
  t_connection = nullptr;
  if (!conn.eof()) conn.linger();
}

}  // namespace scoring
