// Test support: a fixture of two distributed Nodes in this process, a and b, each running the
// cluster services (apps/services: counter, echo, relay, ...) under a supervisor, joined by an
// in-memory link (memory_link.hpp) that runs every message through the MessagePack codec.
#pragma once

#include <gtest/gtest.h>

#include "distribution/memory_link.hpp"
#include "otp/distributed.hpp"
#include "services/cluster_services.hpp"

namespace otp_test {

class ServiceNodesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    services::register_types();
    for (auto* n : {&a, &b}) {
      auto sup = otp::supervisor::start_link(n->node, services::child_specs(), {});
      ASSERT_TRUE(sup) << sup.error();
    }
    connect(a, b);
  }

  MemoryNode a{"a", 1};
  MemoryNode b{"b", 2};
};

}  // namespace otp_test
