// NodeId, Pid, Ref, ExitReason: printing, ordering, hashing.
#include <gtest/gtest.h>

#include <chrono>
#include <sstream>
#include <thread>
#include <unordered_set>

#include "otp/protocol/ids.hpp"
#include "otp/protocol/reason.hpp"

namespace otp::protocol {
namespace {

TEST(NodeId, PrintsNameAtHostAndCreation) {
  NodeId n{"a", "10.0.0.1", 7};
  EXPECT_EQ(n.full_name(), "a@10.0.0.1");
  EXPECT_EQ(n.to_string(), "a@10.0.0.1#7");
  std::ostringstream os;
  os << n;
  EXPECT_EQ(os.str(), "a@10.0.0.1#7");
}

TEST(NodeId, ANewCreationIsADifferentNode) {
  NodeId old{"a", "h", 1};
  NodeId restarted{"a", "h", 2};
  EXPECT_NE(old, restarted);
  EXPECT_LT(old, restarted);
  EXPECT_EQ(old.full_name(), restarted.full_name());
  std::unordered_set<NodeId> set{old, restarted, old};
  EXPECT_EQ(set.size(), 2u);
}

TEST(NodeId, NewCreationsAreNeverZeroAndNeverGoBackwards) {
  // A restarted node must be the newer run for membership (the larger creation): creations
  // follow the wall clock, in microseconds.
  uint64_t last = 0;
  for (int i = 0; i < 64; ++i) {
    const uint64_t c = new_creation();
    EXPECT_NE(c, 0u);  // 0 means "not chosen yet"
    EXPECT_GE(c, last);
    last = c;
  }
  const uint64_t before = new_creation();
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_GT(new_creation(), before);
  EXPECT_GT(before, uint64_t{1'700'000'000'000'000});  // microseconds since 1970, after 2023
}

TEST(Pid, PrintsNodeAndNumberAndHashes) {
  Pid p{NodeId{"a", "h", 1}, 42};
  EXPECT_EQ(p.to_string(), "<a@h#1.42>");
  EXPECT_EQ(to_string(Target{p}), "<a@h#1.42>");
  EXPECT_EQ(to_string(Target{std::string("counter")}), "counter");
  std::unordered_set<Pid> set{p, Pid{p.node, 43}, p};
  EXPECT_EQ(set.size(), 2u);
  EXPECT_LT(p, (Pid{p.node, 43}));
}

TEST(Ref, PrintsAndHashes) {
  Ref r{NodeId{"a", "h", 1}, 7};
  EXPECT_EQ(r.to_string(), "#Ref<a@h#1.7>");
  std::unordered_set<Ref> set{r, r};
  EXPECT_EQ(set.size(), 1u);
}

TEST(ExitReason, PrintsLikeOtpReason) {
  EXPECT_EQ((ExitReason{ReasonKind::normal, ""}).to_string(), "normal");
  EXPECT_EQ((ExitReason{ReasonKind::shutdown, "x"}).to_string(), "{shutdown, x}");
  EXPECT_EQ((ExitReason{ReasonKind::error, "boom"}).to_string(), "error: boom");
  EXPECT_EQ(reason_kind_from_string("noconnection"), ReasonKind::noconnection);
  EXPECT_EQ(reason_kind_from_string("nope"), std::nullopt);
}

}  // namespace
}  // namespace otp::protocol
