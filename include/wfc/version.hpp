#pragma once
// The library version; CMake reads these three lines, so keep their shape.
#define WFC_VERSION_MAJOR 0
#define WFC_VERSION_MINOR 1
#define WFC_VERSION_PATCH 0

namespace wfc {
inline constexpr const char* version_string = "0.1.0";
}  // namespace wfc
