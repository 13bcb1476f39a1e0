#pragma once
// Data: UTF-8, the character tokenizer, the split, batched text dataset, and path-star graphs.
#include "wfc/data/char_tokenizer.hpp"
#include "wfc/data/fingerprint.hpp"
#include "wfc/data/path_star.hpp"
#include "wfc/data/text_dataset.hpp"
#include "wfc/data/utf8.hpp"
