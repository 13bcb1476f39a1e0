#pragma once
// Catch2 2.x (Debian bookworm) and 3.x (backports, newer distributions) spell their headers
// differently; tests include this file only.
#if __has_include(<catch2/catch_test_macros.hpp>)
#include <catch2/catch_template_test_macros.hpp>
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#define WFC_CATCH_VERSION 3
#else
#include <catch2/catch.hpp>
#define WFC_CATCH_VERSION 2
#endif
