// What tests of bad input ask of a tb::Error: that one is thrown, and what its message says.
#pragma once
#include <gtest/gtest.h>

#include <functional>
#include <initializer_list>
#include <string>

#include "base/error.h"

namespace tbtest {

// The message of the tb::Error that f throws; "" when it throws none (which no expected message equals).
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const tb::Error& e) {
    return e.what();
  }
  return "";
}

// Success when f throws a tb::Error whose message holds every part; a failure names what is missing.
inline ::testing::AssertionResult throws_error(const std::function<void()>& f, std::initializer_list<std::string> parts) {
  bool thrown = false;
  std::string m;
  try {
    f();
  } catch (const tb::Error& e) {
    thrown = true;
    m = e.what();
  }
  if (!thrown) return ::testing::AssertionFailure() << "no tb::Error was thrown";
  for (const std::string& p : parts)
    if (m.find(p) == std::string::npos) return ::testing::AssertionFailure() << "the error \"" << m << "\" lacks \"" << p << "\"";
  return ::testing::AssertionSuccess();
}

}  // namespace tbtest
