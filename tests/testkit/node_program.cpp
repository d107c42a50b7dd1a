// A user's own node program as the test kit starts it (otp/testkit/node_main.hpp): node_main runs
// the node; its setup starts this program's one service, an idle server under the global name
// "svc-<name@host>", so the kit's tests can see a service of the program's own across the cluster.
#include <stdexcept>
#include <string>

#include "otp/distributed.hpp"
#include "otp/testkit/node_main.hpp"

namespace {

class IdleService : public otp::GenServer {};

}  // namespace

int main(int argc, char** argv) {
  return otp::testkit::node_main(argc, argv, [](otp::Node& node, otp::cluster::Cluster& cluster) {
    const std::string name = "svc-" + cluster.self().full_name();
    auto started =
        otp::gen_server::start_link<IdleService>(node, otp::name(otp::global_name(name)));
    if (!started)
      throw std::runtime_error("the service did not start: " + started.error().to_string());
  });
}
