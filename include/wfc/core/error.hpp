#pragma once
// One exception hierarchy: catch wfc::error to catch everything the library throws.
#include <stdexcept>
#include <string>

namespace wfc {

struct error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Tensor extents that do not fit the operation.
struct shape_error : error {
  using error::error;
};

// An argument that is out of range or meaningless (a bad token id, a negative size).
struct value_error : error {
  using error::error;
};

// A configuration that cannot work (heads not dividing d, a backend that was not built).
struct config_error : error {
  using error::error;
};

// Reading or writing a file failed, or its contents are not what they must be.
struct io_error : error {
  using error::error;
};

}  // namespace wfc
