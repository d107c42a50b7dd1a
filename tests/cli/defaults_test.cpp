// The pure parts of the command-line defaults (apps/cli/defaults.hpp): which
// address a node advertises, when it warns about a loopback address, and how a
// cookie file is read.
#include "cli/defaults.hpp"

#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace {

TEST(CliDefaultsTest, TheHostNamesOwnAddressComesFirstThenAnInterfaceThenLoopback) {
  EXPECT_EQ(cli::choose_host({"172.18.0.3"}, {"127.0.0.1", "10.0.0.2"}), "172.18.0.3");
  // Debian maps the host name to 127.0.1.1: an interface address is better.
  EXPECT_EQ(cli::choose_host({"127.0.1.1"}, {"127.0.0.1", "10.0.0.2"}), "10.0.0.2");
  EXPECT_EQ(cli::choose_host({}, {"127.0.0.1", "0.0.0.0", "192.168.1.5"}), "192.168.1.5");
  EXPECT_EQ(cli::choose_host({}, {"127.0.0.1"}), "127.0.0.1");
  EXPECT_EQ(cli::choose_host({}, {}), "127.0.0.1");
}

TEST(CliDefaultsTest, TheDefaultsAreThisHostsNameAndAnAddress) {
  char name[256] = {};
  ASSERT_EQ(gethostname(name, sizeof name - 1), 0);
  EXPECT_EQ(cli::default_name(), std::string(name));
  EXPECT_FALSE(cli::default_host().empty());
}

TEST(CliDefaultsTest, LoopbackIsTheWhole127BlockIpv6OneAndLocalhost) {
  EXPECT_TRUE(cli::is_loopback("127.0.0.1"));
  EXPECT_TRUE(cli::is_loopback("127.0.1.1"));
  EXPECT_TRUE(cli::is_loopback("::1"));
  EXPECT_TRUE(cli::is_loopback("localhost"));
  EXPECT_FALSE(cli::is_loopback("10.0.0.1"));
  EXPECT_FALSE(cli::is_loopback("node"));
}

TEST(CliDefaultsTest, ALoopbackAddressWithANonLoopbackSeedIsWarnedAbout) {
  auto w = cli::loopback_warning("127.0.0.1", {"127.0.0.1:7101", "node:7100"});
  ASSERT_TRUE(w);
  EXPECT_NE(w->find("127.0.0.1"), std::string::npos);
  EXPECT_NE(w->find("node:7100"), std::string::npos);
  EXPECT_FALSE(cli::loopback_warning("127.0.0.1", {"127.0.0.1:7101", "localhost:7102"}));
  EXPECT_FALSE(cli::loopback_warning("172.18.0.3", {"node:7100"}));
  EXPECT_FALSE(cli::loopback_warning("127.0.0.1", {}));
  EXPECT_TRUE(cli::loopback_warning("127.0.0.1", {"[fd00::1]:7100"}));
  EXPECT_FALSE(cli::loopback_warning("127.0.0.1", {"[::1]:7100"}));
}

class CookieFileTest : public ::testing::Test {
 protected:
  void write(const std::string& text) { std::ofstream(path) << text; }
  void TearDown() override { std::remove(path.c_str()); }
  std::string path = "/tmp/otp-cli-cookie-test-" + std::to_string(::getpid());
};

TEST_F(CookieFileTest, TheCookieIsTheFirstLineTrimmed) {
  write("  s3cret \t\nsecond line\n");
  EXPECT_EQ(cli::read_cookie_file(path).value(), "s3cret");
  write("no-newline");
  EXPECT_EQ(cli::read_cookie_file(path).value(), "no-newline");
}

TEST_F(CookieFileTest, AnEmptyOrUnreadableFileIsAnError) {
  write(" \n");
  auto empty = cli::read_cookie_file(path);
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().context().find("empty"), std::string::npos);
  auto missing = cli::read_cookie_file("/nonexistent/otp-cookie");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().context().find("/nonexistent/otp-cookie"), std::string::npos);
}

}  // namespace
