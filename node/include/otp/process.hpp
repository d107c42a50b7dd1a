// Process primitives, as in Erlang's `erlang` module: send, timers, monitors, links, exit
// signals, trap_exit, and otp::Inbox, a mailbox for threads outside the actor system.
//
// Inside a handler, `otp::self()` is the running process and monitor/link/trap_exit act on it.
// Messages produced by the runtime arrive in handle_info as these types:
// clang-format off
//   otp::Down       — a monitored process exited (ref, pid, reason); once per monitor
//   otp::ExitSignal — a linked process exited, or someone called exit(self, reason), while this
//                     process traps exits ({'EXIT', From, Reason})
//   otp::Timeout    — the idle timeout a handler asked for expired
// clang-format on
//
// Guarantees: a monitor of a dead pid delivers Down(noproc) at once; after demonitor(ref) no Down
// for ref is ever delivered; after unlink no exit signal from that link arrives; `kill` can not
// be trapped and overtakes messages already queued; exit signals with reason normal are ignored
// by processes that do not trap exits.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>

#include "otp/message.hpp"
#include "otp/node.hpp"
#include "otp/pid.hpp"
#include "otp/reason.hpp"
#include "otp/server_ref.hpp"

namespace otp {

/// A monitored process exited (Erlang's {'DOWN', Ref, process, Pid, Reason}).
struct Down {
  Ref ref;
  Pid pid;
  Reason reason;
};

/// A linked process exited, or exit(self, reason) was called, while this process traps exits
/// (Erlang's {'EXIT', From, Reason}).
struct ExitSignal {
  Pid from;
  Reason reason;
};

/// The idle timeout a handler asked for (Action::timeout) expired.
struct Timeout {};

/// The running process, or an invalid pid outside any process.
Pid self();

/// Is the process alive? (false for invalid and dead pids)
bool alive(const Pid& pid);

/// Sends msg to pid's mailbox (handle_info). Sending to a dead process silently drops the
/// message, as in Erlang.
void send(const Pid& to, Message msg);
/// Sends to a name; fails with noproc when the name is not registered.
Result<void> send(Node& node, const ServerRef& to, Message msg);
/// Resolves a ServerRef to a live pid, or noproc. A `{name, node}` of another node
/// (otp::remote_name) is looked up on that node, as Erlang's rpc to erlang:whereis: the pid
/// registered there under name (which then addresses that process, whatever the name later
/// stands for), noproc when none, nodedown when the node is not connected (or goes down
/// meanwhile), timeout after timeout; would_block inside a handler (a round trip would block
/// it). Every other ref is resolved here, without waiting (the timeout does not apply).
Result<Pid> whereis(Node& node, const ServerRef& ref,
                    std::chrono::milliseconds timeout = std::chrono::seconds(5));

/// Delivers msg to `to` after `delay`; the returned Ref cancels it.
Ref send_after(Node& node, const Pid& to, Message msg, std::chrono::milliseconds delay);
/// Cancels a timer; returns the time that was left, or nullopt when it had already fired (the
/// message may then be in the mailbox) or never existed. A cancelled timer never delivers.
std::optional<std::chrono::milliseconds> cancel_timer(Node& node, Ref timer);

/// Monitors target from the running process; Down{ref, target, reason} arrives when it exits
/// (reason noproc if it was already dead). Every call makes a distinct monitor.
Ref monitor(const Pid& target);
/// Monitors, from the running process, the process a name stands for now (a local, via, remote
/// or global name, resolved once at this call, as Erlang resolves monitor(process, Name)). A name
/// with no live owner delivers Down(noproc) at once.
Ref monitor(Node& node, const ServerRef& target);
/// Removes one monitor; no Down for it is delivered afterwards.
void demonitor(Ref ref);

/// Links the running process with target (bidirectional). Linking a dead pid sends the running
/// process an exit signal with reason noproc.
void link(const Pid& target);
/// Links the running process with the process a name stands for now (resolved once); a name
/// with no live owner sends the running process an exit signal with reason noproc.
void link(Node& node, const ServerRef& target);
/// Removes the link with target, if any; no exit signal from it arrives afterwards.
void unlink(const Pid& target);

/// Turns exit trapping on/off for the running process; returns the previous value.
bool trap_exit(bool on);

/// Sends an exit signal to target. reason `kill` kills unconditionally (the victim exits with
/// `killed`); `normal` is ignored unless target traps exits; any other reason kills a process
/// that does not trap exits and arrives as ExitSignal in one that does.
void exit(const Pid& target, Reason reason);

/// A mailbox for code outside the actor system (main, tests, tools). It is a real process: it has
/// a pid, can be sent to, monitored and linked, and always traps exits, so linking never kills
/// the calling thread. receive() blocks the calling thread, which is fine outside actors.
class Inbox {
 public:
  /// A new mailbox process on node.
  explicit Inbox(Node& node);
  ~Inbox();  // exits with reason normal: monitors fire, links see normal
  Inbox(const Inbox&) = delete;
  Inbox& operator=(const Inbox&) = delete;

  /// Its pid: send to it, monitor it, link it.
  const Pid& pid() const { return pid_; }

  /// The oldest message, waiting up to timeout; nullopt on timeout.
  std::optional<Message> receive(std::chrono::milliseconds timeout);
  /// Selective receive: the oldest message matching pred (others stay queued).
  std::optional<Message> receive_if(const std::function<bool(const Message&)>& pred,
                                    std::chrono::milliseconds timeout);
  /// The oldest message of type T (others stay queued).
  template <class T>
  std::optional<T> receive_as(std::chrono::milliseconds timeout) {
    auto m = receive_if([](const Message& x) { return x.template is<T>(); }, timeout);
    if (!m) return std::nullopt;
    return m->template get<T>();
  }
  /// Messages queued and not yet received.
  size_t pending() const;

  /// otp::monitor from this inbox: Down arrives in it.
  Ref monitor(const Pid& target);
  /// The same for the process a name stands for now (resolved once; no owner: Down(noproc)).
  Ref monitor(const ServerRef& target);
  /// otp::demonitor for a monitor of this inbox.
  void demonitor(Ref ref);
  /// otp::link from this inbox (its exit signals arrive as ExitSignal messages).
  void link(const Pid& target);
  /// The same for the process a name stands for now (resolved once; no owner: ExitSignal noproc).
  void link(const ServerRef& target);
  /// otp::unlink from this inbox.
  void unlink(const Pid& target);

 private:
  struct State;
  std::shared_ptr<State> state_;
  Pid pid_;
};

}  // namespace otp
