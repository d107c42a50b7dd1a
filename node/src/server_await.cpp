// Awaiting replies without blocking: await_call / await_tag park the server (messages go to the
// stash) until the reply, a Down or the deadline resolves the await.
#include <chrono>
#include <optional>

#include "node_core.hpp"
#include "server_actor.hpp"

namespace otp::detail {

// -- awaiting replies without blocking -----------------------------------------------------------

Action ServerActor::await_call(const ServerRef& target, Message request,
                               std::function<Action(Result<Message>)> then,
                               std::chrono::milliseconds timeout) {
  auto pid = resolve(node_, target, "call to");
  if (!pid) return then(pid.error());
  if (*pid == self_)
    return then(Error(ErrorCode::calling_self, "call to " + target.to_string() + " from itself"));
  Ref tag = Ref::make();
  const auto& callee = RuntimeAccess::process(*pid);
  Envelope e;
  e.kind = EnvelopeKind::call;
  e.ref = tag;
  e.payload = std::move(request);
  e.reply_to = proc_;
  if (!callee->begin_call(std::move(e)))
    return then(Error(ErrorCode::noproc, "call to " + target.to_string() + ": no such process"));
  auto spec = new_await_spec();
  spec->tag = tag;
  spec->target = callee;
  spec->deadline = std::chrono::steady_clock::now() + timeout;
  spec->then = std::move(then);
  return RuntimeAccess::make_await(std::move(spec));
}

Action ServerActor::await_tag(Ref tag, std::optional<std::chrono::milliseconds> timeout,
                              std::function<Action(Result<Message>)> then) {
  auto spec = new_await_spec();
  spec->tag = tag;
  if (timeout) spec->deadline = std::chrono::steady_clock::now() + *timeout;
  spec->then = std::move(then);
  return RuntimeAccess::make_await(std::move(spec));
}

void ServerActor::resolve_await(Result<Message> r) {
  Awaiting w = std::move(*awaiting_);
  awaiting_.reset();
  if (w.spec->target) w.spec->target->end_call(w.spec->tag);
  auto a = invoke([&] { return w.spec->then(std::move(r)); });
  if (a) apply(w.phase, w.from, std::move(*a));
  // Keep the spent spec for the next await, unless a copy of its Action is still around.
  if (!finished_ && w.spec.use_count() == 1) {
    *w.spec = AwaitSpec{};
    spare_spec_ = std::move(w.spec);
  }
}

std::shared_ptr<AwaitSpec> ServerActor::new_await_spec() {
  if (spare_spec_) return std::move(spare_spec_);
  return std::make_shared<AwaitSpec>();
}

// Call deadlines are checked lazily: one timer is armed for the earliest deadline and re-armed
// when it fires early, instead of one timer per call (sequential calls then cost no timer work).
void ServerActor::arm_await_check(std::chrono::steady_clock::time_point at) {
  if (check_armed_ && *check_armed_ <= at) return;
  check_armed_ = at;
  Envelope e;
  e.kind = EnvelopeKind::await_check;
  node_.timers().schedule(at, proc_, std::move(e));
}

void ServerActor::on_await_check() {
  check_armed_.reset();
  if (!awaiting_ || !awaiting_->spec->deadline) return;
  auto deadline = *awaiting_->spec->deadline;
  if (deadline <= std::chrono::steady_clock::now()) {
    resolve_await(Error(ErrorCode::timeout, "await in " + describe() + ": no reply in time"));
  } else {
    arm_await_check(deadline);
  }
}

}  // namespace otp::detail
