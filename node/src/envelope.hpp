// Private: the one message type processes exchange (it waits in a server's own mailbox, see
// ActorProcess in server_actor.hpp), and the endpoints it is delivered to (a process, or a reply
// slot that a thread outside the actor system waits on).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "otp/error.hpp"
#include "otp/message.hpp"
#include "otp/pid.hpp"
#include "otp/reason.hpp"

namespace otp::detail {

class Endpoint;

enum class EnvelopeKind : uint8_t {
  call,          // payload = request, reply_to + ref = the caller
  cast,          // payload = request
  info,          // payload = anything (send, timers, converted Down / ExitSignal)
  reply,         // ref = call tag (or start tag), payload = value
  reply_error,   // ref = call tag, payload = otp::Error
  exit,          // from, reason, via_link
  down,          // ref = monitor ref, from = the process that exited, reason
  stop_request,  // reason: gen_server::stop, node shutdown, or parent EXIT while trapping
  idle_timeout,  // seq = idle generation it was armed for
  await_check,   // a call awaited by this process may have passed its deadline
  trapped_exit,  // an exit signal a trapping process re-queued behind earlier messages (seq)
};

/// Who sent a signal and why: what an exit, down, stop_request or trapped_exit envelope carries
/// besides a ref.
struct Signal {
  Pid from;
  Reason reason;
  bool via_link = false;
};

/// Kept small on purpose: a message in a mailbox is one 64-byte cache line (MailNode), which the
/// sender writes and the receiver reads, so every byte more is another line that crosses
/// between cores per message. The rare signal kinds carry their details in `signal`.
struct Envelope {
  EnvelopeKind kind = EnvelopeKind::info;
  uint32_t seq = 0;  // idle_timeout: the idle generation; trapped_exit: its number
  Ref ref;
  Message payload;
  std::shared_ptr<Endpoint> reply_to;
  std::unique_ptr<Signal> signal;  // set on exit, down, stop_request and trapped_exit

  /// An exit, down or stop_request envelope.
  static Envelope make_signal(EnvelopeKind kind, Pid from, Reason reason, bool via_link = false) {
    Envelope e;
    e.kind = kind;
    e.signal = std::make_unique<Signal>(Signal{std::move(from), std::move(reason), via_link});
    return e;
  }
  // Only on the signal kinds (signal is set).
  const Pid& from() const { return signal->from; }
  const Reason& reason() const { return signal->reason; }
  bool via_link() const { return signal->via_link; }
};

/// Something envelopes can be delivered to. Thread-safe.
class Endpoint {
 public:
  virtual ~Endpoint() = default;
  /// urgent: overtake queued messages (exit signals).
  virtual void deliver(Envelope&& e, bool urgent) = 0;
};

/// A one-shot endpoint a blocked thread waits on (blocking call, start_link, stop). Keeps the
/// first envelope delivered; later ones (a Down after the reply, a late reply) are dropped.
class ReplySlot final : public Endpoint {
 public:
  void deliver(Envelope&& e, bool) override {
    {
      std::lock_guard<std::mutex> g(mx_);
      if (value_) return;
      value_ = std::move(e);
      ready_.store(true, std::memory_order_release);
    }
    cv_.notify_one();
  }

  /// Waits until an envelope arrived or the deadline passed. Spins briefly first: a reply from a
  /// scheduler thread usually arrives within microseconds, and a condition-variable sleep costs
  /// more than that.
  std::optional<Envelope> wait_until(std::chrono::steady_clock::time_point deadline) {
    for (int i = 0; i < 4000 && !ready_.load(std::memory_order_acquire); ++i) {
      if ((i & 63) == 63) std::this_thread::yield();
    }
    std::unique_lock<std::mutex> lk(mx_);
    cv_.wait_until(lk, deadline, [&] { return value_.has_value(); });
    return std::move(value_);
  }

  /// A slot for this thread's next wait: the one its last wait gave back, or a new one. A thread
  /// outside the actor system that calls in a loop then allocates no slot (a mutex, a condition
  /// variable and an envelope) per call.
  static std::shared_ptr<ReplySlot> take() {
    if (spare_) return std::move(spare_);
    return std::make_shared<ReplySlot>();
  }
  /// After the wait: kept for this thread's next one when nobody else holds it any more (so no
  /// late answer can arrive in it), else dropped.
  static void give_back(std::shared_ptr<ReplySlot>&& slot) {
    if (slot.use_count() != 1) return;
    {
      std::lock_guard<std::mutex> g(slot->mx_);
      slot->value_.reset();
      slot->ready_.store(false, std::memory_order_relaxed);
    }
    spare_ = std::move(slot);
  }

 private:
  std::mutex mx_;
  std::condition_variable cv_;
  std::atomic<bool> ready_{false};
  std::optional<Envelope> value_;
  static inline thread_local std::shared_ptr<ReplySlot> spare_;
};

/// The result a waiter makes of the envelope that answered it.
Result<Message> to_result(std::optional<Envelope>&& e, const std::string& context);

}  // namespace otp::detail
