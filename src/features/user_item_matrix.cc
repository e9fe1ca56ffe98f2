#include "features/user_item_matrix.h"

#include <algorithm>

namespace streamrec {

void UserItemMatrix::SortKeys(std::vector<uint64_t>* keys) { std::sort(keys->begin(), keys->end()); }

}  // namespace streamrec
