#pragma once
// The WFC language model: wfc/model/wfc/model.hpp, whose folder holds one part per file.
#include "wfc/model/wfc/model.hpp"
