#pragma once
// The WFC model's evaluation on held-out text: wfc/model/wfc/evaluation.hpp.
#include "wfc/model/wfc/evaluation.hpp"
