// rapidcheck generators for every wire type, and helpers shared by the protocol tests.
#pragma once

#include <rapidcheck.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "otp/protocol/codec.hpp"
#include "otp/protocol/message.hpp"

namespace otp::protocol {

// rapidcheck prints counterexamples with these.
inline void showValue(const Message& m, std::ostream& os) {
  os << to_json_text(m);
}

namespace test_gen {

inline std::string utf8_encode(const std::vector<uint32_t>& codepoints) {
  std::string s;
  for (uint32_t c : codepoints) {
    if (c < 0x80) {
      s += static_cast<char>(c);
    } else if (c < 0x800) {
      s += static_cast<char>(0xc0 | (c >> 6));
      s += static_cast<char>(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
      s += static_cast<char>(0xe0 | (c >> 12));
      s += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
      s += static_cast<char>(0x80 | (c & 0x3f));
    } else {
      s += static_cast<char>(0xf0 | (c >> 18));
      s += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
      s += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
      s += static_cast<char>(0x80 | (c & 0x3f));
    }
  }
  return s;
}

/// Valid UTF-8 (what the JSON codec can carry exactly), with ASCII, controls and multibyte chars.
inline rc::Gen<std::string> utf8() {
  auto codepoint = rc::gen::weightedOneOf<uint32_t>({
      {6, rc::gen::inRange<uint32_t>(0x20, 0x7f)},
      {1, rc::gen::inRange<uint32_t>(0, 0x20)},
      {1, rc::gen::inRange<uint32_t>(0x80, 0xd800)},
      {1, rc::gen::inRange<uint32_t>(0xe000, 0x110000)},
  });
  return rc::gen::map(rc::gen::container<std::vector<uint32_t>>(codepoint), utf8_encode);
}

inline rc::Gen<nlohmann::json> json_leaf() {
  using nlohmann::json;
  return rc::gen::oneOf(
      rc::gen::just(json(nullptr)),
      rc::gen::map(rc::gen::arbitrary<bool>(), [](bool b) { return json(b); }),
      rc::gen::map(rc::gen::arbitrary<int64_t>(), [](int64_t i) { return json(i); }),
      rc::gen::map(rc::gen::arbitrary<uint64_t>(), [](uint64_t u) { return json(u); }),
      rc::gen::map(rc::gen::suchThat(rc::gen::arbitrary<double>(),
                                     [](double d) { return std::isfinite(d); }),
                   [](double d) { return json(d); }),
      rc::gen::map(utf8(), [](std::string s) { return json(std::move(s)); }));
}

/// Any JSON-compatible value, nested up to `depth` levels.
inline rc::Gen<nlohmann::json> json_value(int depth = 3) {
  using nlohmann::json;
  if (depth == 0) return json_leaf();
  auto inner = rc::gen::resize(4, json_value(depth - 1));
  auto array = rc::gen::map(rc::gen::container<std::vector<json>>(inner),
                            [](std::vector<json> v) { return json(std::move(v)); });
  auto object = rc::gen::map(
      rc::gen::container<std::vector<std::pair<std::string, json>>>(rc::gen::pair(utf8(), inner)),
      [](std::vector<std::pair<std::string, json>> kv) {
        json o = json::object();
        for (auto& [k, v] : kv) o[k] = std::move(v);
        return o;
      });
  return rc::gen::weightedOneOf<json>({{3, json_leaf()}, {1, array}, {1, object}});
}

}  // namespace test_gen
}  // namespace otp::protocol

namespace rc {

template <>
struct Arbitrary<otp::protocol::NodeId> {
  static Gen<otp::protocol::NodeId> arbitrary() {
    using otp::protocol::NodeId;
    return gen::build<NodeId>(gen::set(&NodeId::name, otp::protocol::test_gen::utf8()),
                              gen::set(&NodeId::host, otp::protocol::test_gen::utf8()),
                              gen::set(&NodeId::creation));
  }
};

template <>
struct Arbitrary<otp::protocol::Pid> {
  static Gen<otp::protocol::Pid> arbitrary() {
    using otp::protocol::Pid;
    return gen::build<Pid>(gen::set(&Pid::node), gen::set(&Pid::id));
  }
};

template <>
struct Arbitrary<otp::protocol::Ref> {
  static Gen<otp::protocol::Ref> arbitrary() {
    using otp::protocol::Ref;
    return gen::build<Ref>(gen::set(&Ref::node), gen::set(&Ref::id));
  }
};

template <>
struct Arbitrary<otp::protocol::Target> {
  static Gen<otp::protocol::Target> arbitrary() {
    using otp::protocol::Target;
    return gen::oneOf(gen::cast<Target>(gen::arbitrary<otp::protocol::Pid>()),
                      gen::map(otp::protocol::test_gen::utf8(),
                               [](std::string s) { return Target(std::move(s)); }));
  }
};

template <>
struct Arbitrary<otp::protocol::ExitReason> {
  static Gen<otp::protocol::ExitReason> arbitrary() {
    using namespace otp::protocol;
    return gen::build<ExitReason>(
        gen::set(&ExitReason::kind,
                 gen::map(gen::inRange(0, 7), [](int k) { return static_cast<ReasonKind>(k); })),
        gen::set(&ExitReason::detail, test_gen::utf8()));
  }
};

template <>
struct Arbitrary<otp::protocol::Payload> {
  static Gen<otp::protocol::Payload> arbitrary() {
    using namespace otp::protocol;
    return gen::build<Payload>(gen::set(&Payload::type, test_gen::utf8()),
                               gen::set(&Payload::value, test_gen::json_value()));
  }
};

template <>
struct Arbitrary<otp::protocol::CallError> {
  static Gen<otp::protocol::CallError> arbitrary() {
    using namespace otp::protocol;
    return gen::build<CallError>(
        gen::set(&CallError::code,
                 gen::map(gen::inRange(0, 7), [](int k) { return static_cast<CallErrorCode>(k); })),
        gen::set(&CallError::detail, test_gen::utf8()), gen::set(&CallError::reason),
        gen::set(
            &CallError::error_code,
            // every ErrorCode id, noproc = 0 ... not_owner = 29
            gen::map(gen::inRange(0, 30), [](int k) { return static_cast<otp::ErrorCode>(k); })));
  }
};

template <>
struct Arbitrary<otp::protocol::NameClaim> {
  static Gen<otp::protocol::NameClaim> arbitrary() {
    using namespace otp::protocol;
    return gen::build<NameClaim>(gen::set(&NameClaim::name, test_gen::utf8()),
                                 gen::set(&NameClaim::pid), gen::set(&NameClaim::stamp_ms),
                                 gen::set(&NameClaim::stamp_logical),
                                 gen::set(&NameClaim::metadata, test_gen::utf8()));
  }
};

template <>
struct Arbitrary<otp::protocol::Message> {
  static Gen<otp::protocol::Message> arbitrary() {
    using namespace otp::protocol;
    auto challenge = gen::arbitrary<std::array<uint8_t, 32>>();
    auto as_message = [](auto g) { return gen::cast<Message>(std::move(g)); };
    return gen::oneOf(
        as_message(gen::build<Hello>(gen::set(&Hello::min_version), gen::set(&Hello::max_version),
                                     gen::set(&Hello::cluster, test_gen::utf8()),
                                     gen::set(&Hello::node), gen::set(&Hello::challenge),
                                     gen::set(&Hello::hidden))),
        as_message(gen::build<Proof>(gen::set(&Proof::mac, challenge))),
        as_message(gen::build<Reject>(
            gen::set(&Reject::reason, gen::map(gen::inRange(0, 5),
                                               [](int k) { return static_cast<RejectReason>(k); })),
            gen::set(&Reject::detail, test_gen::utf8()))),
        as_message(
            gen::build<Send>(gen::set(&Send::from), gen::set(&Send::to), gen::set(&Send::message))),
        as_message(gen::build<Call>(gen::set(&Call::from), gen::set(&Call::to),
                                    gen::set(&Call::ref), gen::set(&Call::request))),
        as_message(gen::build<Reply>(
            gen::set(&Reply::to), gen::set(&Reply::ref),
            gen::set(&Reply::result, gen::oneOf(gen::cast<std::variant<Payload, CallError>>(
                                                    gen::arbitrary<Payload>()),
                                                gen::cast<std::variant<Payload, CallError>>(
                                                    gen::arbitrary<CallError>()))))),
        as_message(
            gen::build<Cast>(gen::set(&Cast::from), gen::set(&Cast::to), gen::set(&Cast::request))),
        as_message(gen::build<Monitor>(gen::set(&Monitor::watcher), gen::set(&Monitor::target),
                                       gen::set(&Monitor::ref))),
        as_message(gen::build<Demonitor>(gen::set(&Demonitor::watcher),
                                         gen::set(&Demonitor::target), gen::set(&Demonitor::ref))),
        as_message(gen::build<Down>(gen::set(&Down::watcher), gen::set(&Down::ref),
                                    gen::set(&Down::process), gen::set(&Down::reason))),
        as_message(gen::build<Link>(gen::set(&Link::from), gen::set(&Link::to))),
        as_message(gen::build<Unlink>(gen::set(&Unlink::from), gen::set(&Unlink::to))),
        as_message(gen::build<Exit>(gen::set(&Exit::from), gen::set(&Exit::to),
                                    gen::set(&Exit::reason), gen::set(&Exit::link))),
        as_message(gen::build<Ping>(gen::set(&Ping::seq))),
        as_message(gen::build<Pong>(gen::set(&Pong::seq))),
        as_message(gen::build<NameUpdate>(
            gen::set(&NameUpdate::kind, gen::element(NameUpdateKind::add, NameUpdateKind::remove)),
            gen::set(&NameUpdate::claim))),
        as_message(gen::build<NameSync>(gen::set(&NameSync::claims), gen::set(&NameSync::last))));
  }
};

}  // namespace rc
