#include <gtest/gtest.h>
TEST(Seed, Placeholder) {}
