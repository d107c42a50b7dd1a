// A member whose address changes while it runs (issue 14, item 6): a container disconnected and
// reconnected with a new IP, the process not restarted. Real otp-node processes on hosts made of
// network namespaces (root only; skipped otherwise), listening on every interface and advertising
// their IP. The moved node must announce its new address; the others must take it (one
// `updated`), not flip it between alive and failed, and link to it again there.
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cluster/gossip_node.hpp"
#include "otp/testkit/child_process.hpp"
#include "otp/testkit/netns_lab.hpp"
#include "support/time_scale.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using otp::testkit::all_lines;
using otp::testkit::has_line;
using otp::testkit::NetnsLab;
using otp::testkit::wait_for_line;

constexpr const char* kCookie = "address-change-test-cookie";
constexpr auto kConverge = 20s * otp_test::kTimeScale;
/// From the address change until every node holds the new address: the moved node checks its
/// address every second, then its announcement is gossiped (a second or two); generous here.
constexpr auto kMoved = 15s * otp_test::kTimeScale;

class GossipNode : public otp_test::GossipNode {
 public:
  GossipNode(const otp_test::GossipNodeSpec& spec, std::vector<std::string> wrap)
      : otp_test::GossipNode({"--cookie", kCookie, "--max-seconds", "120"}, spec, std::move(wrap)) {
  }
};

/// The member lines ("member <kind> <name> ...") about `name` from line `from` on.
std::vector<std::string> changes_of(GossipNode& n, const std::string& name, size_t from) {
  std::vector<std::string> found;
  const auto& lines = n.process().lines();
  for (size_t i = from; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    if (l.rfind("member ", 0) == 0 && l.find(" " + name + " ") != std::string::npos) {
      found.push_back(l);
    }
  }
  return found;
}

/// Keeps reading every node's output for d (their lines pile up in their processes).
void read_for(std::vector<std::unique_ptr<GossipNode>>& nodes, std::chrono::milliseconds d) {
  const auto until = Clock::now() + d;
  while (Clock::now() < until) {
    for (auto& n : nodes) n->process().wait_line("\x01", 20ms);
  }
}

/// Every node lists every node (itself too) alive.
void expect_everyone_alive_everywhere(std::vector<std::unique_ptr<GossipNode>>& nodes) {
  for (auto& n : nodes) {
    auto listed = n->members(Clock::now() + 5s);
    ASSERT_TRUE(listed) << n->full_name() << " did not list its members";
    for (auto& other : nodes) {
      EXPECT_EQ((*listed)[other->full_name()], "alive") << "as seen by " << n->full_name();
    }
  }
}

std::string joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& l : lines) text += "  " + l + "\n";
  return text;
}

TEST(AddressChange, MovedMemberIsAnnouncedAtItsNewAddressWithoutFlapping) {
  if (auto why = NetnsLab::unavailable()) GTEST_SKIP() << "needs the namespace lab: " << *why;
  NetnsLab lab(3);
  std::vector<std::unique_ptr<GossipNode>> nodes;
  const std::string seed = NetnsLab::ip(1) + ":7101";
  for (int h = 1; h <= 3; ++h) {
    // Listening on every interface, as in a container: the sockets survive the new address.
    nodes.push_back(std::make_unique<GossipNode>(
        otp_test::GossipNodeSpec{.name = std::string(1, static_cast<char>('a' + h - 1)),
                                 .host = NetnsLab::ip(h),
                                 .port = 7001,
                                 .gossip_port = 7101,
                                 .seeds = {seed},
                                 .extra = {"--listen", "0.0.0.0:7001", "--gossip", "0.0.0.0:7101"}},
        lab.exec(h, {})));
  }
  auto deadline = Clock::now() + kConverge;
  for (auto& a : nodes) {
    for (auto& b : nodes) {
      if (a == b) continue;
      ASSERT_TRUE(wait_for_line(a->process(), "nodeup " + b->full_name(), deadline))
          << a->full_name() << " never linked to " << b->full_name() << ":\n"
          << all_lines(a->process());
    }
  }
  // b moves: it dials c and is dialed by a (the smaller name dials), so both kinds of link
  // must be made anew.
  GossipNode& moved = *nodes[1];
  const std::string name = moved.full_name();  // keeps its name: b@10.231.0.2
  const std::string new_ip = "10.231.0.102";
  std::vector<size_t> mark;
  for (auto& n : nodes) mark.push_back(n->process().lines().size());
  lab.change_address(2, new_ip);

  const std::string now_at = " gossip=" + new_ip + ":7101 data=" + new_ip + ":7001";
  deadline = Clock::now() + kMoved;
  ASSERT_TRUE(wait_for_line(moved.process(), "member updated " + name + " ", deadline, mark[1]))
      << "the moved node did not announce a new address:\n"
      << all_lines(moved.process()) << "stderr:\n"
      << moved.process().stderr_text();
  EXPECT_NE(changes_of(moved, name, mark[1]).back().find(now_at), std::string::npos)
      << all_lines(moved.process());
  for (size_t i : {0, 2}) {
    GossipNode& n = *nodes[i];
    ASSERT_TRUE(wait_for_line(n.process(), "member updated " + name + " ", deadline, mark[i]))
        << n.full_name() << " never took the new address:\n"
        << all_lines(n.process());
    EXPECT_NE(changes_of(n, name, mark[i]).back().find(now_at), std::string::npos)
        << all_lines(n.process());
    // Linked again, at the new address (the old link went with the old address).
    EXPECT_TRUE(wait_for_line(n.process(), "nodeup " + name, deadline, mark[i]))
        << all_lines(n.process());
    EXPECT_TRUE(wait_for_line(moved.process(), "nodeup " + n.full_name(), deadline, mark[1]))
        << all_lines(moved.process());
  }

  // A probe sent to the old address just before the news arrived may still end in a suspicion
  // (refuted at once); then quiet: no more changes about b anywhere (before the fix it flipped
  // alive / failed every ~1.4 s, forever), and everyone lists everyone alive.
  read_for(nodes, 3s);
  std::vector<size_t> settled;
  for (auto& n : nodes) settled.push_back(n->process().lines().size());
  read_for(nodes, 6s);
  for (size_t i : {0, 2}) {
    GossipNode& n = *nodes[i];
    const auto all = changes_of(n, name, mark[i]);
    std::cerr << "note: " << n.full_name() << " saw " << all.size() << " changes of " << name
              << " after it moved\n";
    // The moved node checks its address when it refutes a suspicion: suspect, alive + updated;
    // a probe sent to the old address just before may still time out after the update (suspect,
    // alive again), and a refutation that came while the host had no address yet (between the
    // flush and the add) moves nothing: typically 3-5 lines, 7 seen on a loaded machine. Before
    // the fix: suspect / alive (or failed) about every 1.4 s, forever.
    EXPECT_LE(all.size(), 9u) << n.full_name() << " flapped about " << name << ":\n" << joined(all);
    EXPECT_TRUE(changes_of(n, name, settled[i]).empty())
        << n.full_name() << " still changes its view of " << name << ":\n"
        << joined(changes_of(n, name, settled[i]));
    EXPECT_FALSE(has_line(n.process(), "nodedown " + name, settled[i])) << all_lines(n.process());
  }
  expect_everyone_alive_everywhere(nodes);
}

}  // namespace

namespace {

/// /etc/hosts of every host: otp-h<i> at 10.231.0.<i>, and otp-h2 at `h2`.
std::string hosts_file(const std::string& h2) {
  std::string text = "127.0.0.1 localhost\n";
  for (int h = 1; h <= 3; ++h) {
    text += (h == 2 ? h2 : NetnsLab::ip(h)) + " otp-h" + std::to_string(h) + "\n";
  }
  return text;
}

// The same move, for nodes that advertise a host name: the moved node's name now resolves to its
// new IP. The others resolve it again as soon as they suspect it (before the fix: only when
// their 30 s cache expired, flapping it meanwhile), so they reach it after one suspicion.
TEST(AddressChange, MemberAdvertisedByNameIsResolvedAgainWhenSuspected) {
  if (auto why = NetnsLab::unavailable()) GTEST_SKIP() << "needs the namespace lab: " << *why;
  NetnsLab lab(3);
  for (int h = 1; h <= 3; ++h) lab.set_hosts(h, hosts_file(NetnsLab::ip(2)));
  std::vector<std::unique_ptr<GossipNode>> nodes;
  for (int h = 1; h <= 3; ++h) {
    nodes.push_back(std::make_unique<GossipNode>(
        otp_test::GossipNodeSpec{.name = std::string(1, static_cast<char>('a' + h - 1)),
                                 .host = "otp-h" + std::to_string(h),
                                 .port = 7001,
                                 .gossip_port = 7101,
                                 .seeds = {"otp-h1:7101"},
                                 .extra = {"--listen", "0.0.0.0:7001", "--gossip", "0.0.0.0:7101"}},
        lab.exec(h, {})));
  }
  auto deadline = Clock::now() + kConverge;
  for (auto& a : nodes) {
    for (auto& b : nodes) {
      if (a == b) continue;
      ASSERT_TRUE(wait_for_line(a->process(), "member joined " + b->full_name(), deadline))
          << a->full_name() << " never saw " << b->full_name() << ":\n"
          << all_lines(a->process()) << a->process().stderr_text();
    }
  }
  const std::string name = nodes[1]->full_name();  // b@otp-h2
  std::vector<size_t> mark;
  for (auto& n : nodes) mark.push_back(n->process().lines().size());
  for (int h = 1; h <= 3; ++h) lab.set_hosts(h, hosts_file("10.231.0.102"));
  lab.change_address(2, "10.231.0.102");

  read_for(nodes, 6s);
  std::vector<size_t> settled;
  for (auto& n : nodes) settled.push_back(n->process().lines().size());
  read_for(nodes, 6s);
  for (size_t i : {0, 2}) {
    GossipNode& n = *nodes[i];
    const auto all = changes_of(n, name, mark[i]);
    std::cerr << "note: " << n.full_name() << " saw " << all.size() << " changes of " << name
              << " after it moved\n";
    // Each other node re-resolves at its first suspicion (its own or gossiped), and probes sent
    // to the old IP before may still end in one: typically 4-6 lines, 10 seen on a loaded
    // machine. Without the re-resolution: about 110 in these 12 s (until the 30 s cache expires).
    EXPECT_LE(all.size(), 12u) << n.full_name() << " flapped about " << name << ":\n"
                               << joined(all);
    EXPECT_TRUE(changes_of(n, name, settled[i]).empty())
        << n.full_name() << " still changes its view of " << name << ":\n"
        << joined(changes_of(n, name, settled[i]));
  }
  expect_everyone_alive_everywhere(nodes);
}

}  // namespace
