#pragma once
// A deterministic explicit-ratings file in the shape of MovieLens 100K, behind
// `streamrec generate-ratings`: tab-separated `user item rating timestamp` rows, no
// header (the layout of MovieLens' u.data), for the rating-style evaluation protocols.
//
// Shape (defaults: 943 users, 1,682 items, 100,000 ratings, as in MovieLens 100K):
//   - every user rates at least `min_per_user` (20) distinct items; activity beyond that
//     is log-normal, so a few users rate hundreds;
//   - item appeal is log-normal (a long tail of items rated once or twice);
//   - taste: 19 genres, each item in one or two; each user favours two to four genres.
//     A rating picks, with the user's "mainstream" probability, any item by appeal, else
//     a favoured genre and an item of it by appeal. Collaborative filtering can find the
//     genres; popularity alone cannot;
//   - ratings 1..5 from appeal, genre match and noise; timestamps from 1997-09-20 to
//     1998-04-22, each user rating in bursts.
// The README beside this file states how the parameters were chosen.
//
// Determinism: the same options give byte-identical files (synth/random.h streams).

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace streamrec {

struct RatingsOptions {
  int64_t users = 943;
  int64_t items = 1682;
  int64_t ratings = 100000;
  int64_t min_per_user = 20;
  uint64_t seed = 42;
};

// InvalidArgument naming the field unless 1 <= users, items; 0 <= min_per_user <= items;
// users * min_per_user <= ratings <= users * items / 2 (so that every user can be given
// distinct items without exhausting the catalogue); all below 2^31.
absl::Status ValidateRatingsOptions(const RatingsOptions& options);

// Writes the file at `path` (parent folders created), under a temporary name renamed into
// place when complete. Rows are ordered by user, then time. Exactly `ratings` rows.
absl::Status GenerateRatings(const RatingsOptions& options, const std::string& path);

}  // namespace streamrec
