#include "otp/testkit/history.hpp"

#include <stdexcept>
#include <utility>

namespace otp::testkit {

const char* to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::pending:
      return "pending";
    case Outcome::ok:
      return "ok";
    case Outcome::fail:
      return "fail";
    case Outcome::unknown:
      return "unknown";
  }
  return "unknown";
}

std::string Operation::to_string() const {
  std::string s = "#" + std::to_string(id);
  if (!client.empty()) s += " " + client;
  s += " " + op;
  if (!arg.is_null()) s += " " + arg.dump();
  s += std::string(" -> ") + testkit::to_string(outcome);
  if (outcome == Outcome::ok && !value.is_null()) s += " " + value.dump();
  if (!error.empty()) s += " (" + error + ")";
  return s;
}

History::Id History::invoke(std::string op, nlohmann::json arg, std::string client) {
  Operation o;
  o.op = std::move(op);
  o.arg = std::move(arg);
  o.client = std::move(client);
  o.invoked = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(mx_);
  o.id = operations_.size() + 1;
  operations_.push_back(std::move(o));
  return operations_.back().id;
}

void History::ok(Id id, nlohmann::json value) {
  complete(id, Outcome::ok, std::move(value), {});
}

void History::fail(Id id, std::string why) {
  complete(id, Outcome::fail, nullptr, std::move(why));
}

void History::unknown(Id id, std::string why) {
  complete(id, Outcome::unknown, nullptr, std::move(why));
}

void History::complete(Id id, Outcome outcome, nlohmann::json value, std::string error) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(mx_);
  if (id == 0 || id > operations_.size()) {
    throw std::out_of_range("History: no operation #" + std::to_string(id));
  }
  Operation& o = operations_[id - 1];
  if (o.outcome != Outcome::pending) {
    throw std::logic_error("History: operation " + o.to_string() + " completed twice");
  }
  o.outcome = outcome;
  o.value = std::move(value);
  o.error = std::move(error);
  o.completed = now;
}

std::vector<Operation> History::operations() const {
  std::lock_guard<std::mutex> lock(mx_);
  return operations_;
}

size_t History::size() const {
  std::lock_guard<std::mutex> lock(mx_);
  return operations_.size();
}

size_t History::count(Outcome outcome) const {
  std::lock_guard<std::mutex> lock(mx_);
  size_t n = 0;
  for (const auto& o : operations_) n += o.outcome == outcome ? 1 : 0;
  return n;
}

std::string History::to_string() const {
  std::string s;
  for (const auto& o : operations()) s += o.to_string() + "\n";
  return s;
}

}  // namespace otp::testkit
