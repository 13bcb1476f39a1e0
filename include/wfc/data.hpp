#pragma once
// Text data: UTF-8, the character tokenizer, and the split, batched text dataset.
#include "wfc/data/char_tokenizer.hpp"
#include "wfc/data/text_dataset.hpp"
#include "wfc/data/utf8.hpp"
