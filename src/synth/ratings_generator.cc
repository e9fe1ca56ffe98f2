#include "synth/ratings_generator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "synth/random.h"

namespace streamrec {
namespace {

using synth::AliasTable;
using synth::Rng;

// Fixed parameters (README.md beside this file).
constexpr int kGenres = 19;                 // as MovieLens' genre list
constexpr double kGenreZipfExponent = 0.8;  // drama and comedy are large, westerns small
constexpr double kSecondGenreShare = 0.5;   // items with a second genre
constexpr double kAppealSigma = 1.5;        // log-normal item appeal
constexpr double kActivitySigma = 1.0;      // log-normal activity beyond the minimum
constexpr int kMinFavouredGenres = 2, kMaxFavouredGenres = 4;
constexpr double kMainstreamMin = 0.2, kMainstreamMax = 0.6;  // share of appeal-only picks
constexpr int64_t kFirstTimestamp = 874724710;                // 1997-09-20
constexpr int64_t kLastTimestamp = 893286638;                 // 1998-04-22
constexpr double kMeanRatingGapSeconds = 40;
constexpr double kNewBurstShare = 0.05;  // a rating that starts a later burst

enum Stream : uint64_t { kCatalogStream = 101, kActivityStream, kUserStream };

struct Catalog {
  std::vector<double> appeal;                 // per item
  std::vector<std::vector<uint32_t>> genres;  // per item: one or two genre ids
  std::vector<std::vector<uint32_t>> items_of_genre;
  std::vector<AliasTable> pick_in_genre;  // per genre, items by appeal
};

Catalog MakeCatalog(const RatingsOptions& o) {
  Rng rng(o.seed, kCatalogStream, 0);
  std::vector<double> genre_weights(kGenres);
  for (int g = 0; g < kGenres; ++g) genre_weights[g] = 1.0 / std::pow(g + 1.0, kGenreZipfExponent);
  const AliasTable pick_genre(genre_weights);

  Catalog c;
  c.appeal.resize(o.items);
  c.genres.resize(o.items);
  c.items_of_genre.resize(kGenres);
  for (int64_t i = 0; i < o.items; ++i) {
    c.appeal[i] = std::exp(kAppealSigma * rng.Normal());
    const uint32_t first = pick_genre.Sample(rng);
    c.genres[i].push_back(first);
    if (rng.Chance(kSecondGenreShare)) {
      const uint32_t second = pick_genre.Sample(rng);
      if (second != first) c.genres[i].push_back(second);
    }
    for (uint32_t g : c.genres[i]) c.items_of_genre[g].push_back(static_cast<uint32_t>(i));
  }
  for (int g = 0; g < kGenres; ++g) {
    std::vector<double> weights;
    for (uint32_t i : c.items_of_genre[g]) weights.push_back(c.appeal[i]);
    if (weights.empty()) weights.push_back(0), c.items_of_genre[g].push_back(0);
    if (*std::max_element(weights.begin(), weights.end()) <= 0) weights[0] = 1;
    c.pick_in_genre.emplace_back(weights);
  }
  return c;
}

// Ratings per user: the minimum plus a log-normal share of the rest, summing to exactly
// o.ratings, none above half the catalogue.
std::vector<int64_t> RatingsPerUser(const RatingsOptions& o) {
  Rng rng(o.seed, kActivityStream, 0);
  std::vector<double> share(o.users);
  double total = 0;
  for (double& s : share) total += s = std::exp(kActivitySigma * rng.Normal());
  const int64_t cap = o.items / 2;
  const int64_t extra = o.ratings - o.users * o.min_per_user;
  std::vector<int64_t> n(o.users);
  int64_t assigned = 0;
  for (int64_t u = 0; u < o.users; ++u) {
    n[u] = std::min(cap, o.min_per_user + static_cast<int64_t>(extra * share[u] / total));
    assigned += n[u];
  }
  // Hand out what rounding and the cap left, one at a time round robin from user 0.
  for (int64_t u = 0; assigned < o.ratings; u = (u + 1) % o.users) {
    if (n[u] < cap) ++n[u], ++assigned;
  }
  return n;
}

struct Rating {
  uint32_t item;
  int rating;
  int64_t time;
};

// One user's distinct items, ratings and times.
std::vector<Rating> RateItems(const RatingsOptions& o, const Catalog& c, const AliasTable& pick_any,
                              int64_t user, int64_t count) {
  Rng rng(o.seed, kUserStream, static_cast<uint64_t>(user));
  const int favoured_count = static_cast<int>(rng.Between(kMinFavouredGenres, kMaxFavouredGenres));
  std::vector<double> taste(kGenres, 0);
  for (int f = 0; f < favoured_count; ++f) taste[rng.Below(kGenres)] += rng.LogUniform(1, 4);
  const AliasTable pick_favoured(taste);
  const double mainstream = kMainstreamMin + (kMainstreamMax - kMainstreamMin) * rng.Uniform();

  std::vector<char> taken(o.items, 0);
  std::vector<Rating> out;
  out.reserve(count);
  int64_t time = kFirstTimestamp +
                 static_cast<int64_t>(rng.Uniform() * 0.9 * (kLastTimestamp - kFirstTimestamp));
  while (static_cast<int64_t>(out.size()) < count) {
    uint32_t item;
    if (rng.Chance(mainstream)) {
      item = pick_any.Sample(rng);
    } else {
      const uint32_t genre = pick_favoured.Sample(rng);
      item = c.items_of_genre[genre][c.pick_in_genre[genre].Sample(rng)];
    }
    if (taken[item]) continue;  // terminates: count <= items / 2 leaves half untaken
    taken[item] = 1;
    bool match = false;
    for (uint32_t g : c.genres[item]) match = match || taste[g] > 0;
    const double score =
        3.2 + 0.35 * std::log(c.appeal[item]) + (match ? 0.5 : -0.3) + 0.9 * rng.Normal();
    const int rating = static_cast<int>(std::clamp(std::lround(score), 1L, 5L));
    time += rng.Chance(kNewBurstShare)
                ? static_cast<int64_t>(rng.LogUniform(3600, 30 * 86400))
                : 1 + static_cast<int64_t>(rng.Exponential(kMeanRatingGapSeconds));
    out.push_back({item, rating, std::min(time, kLastTimestamp)});
  }
  return out;
}

}  // namespace

absl::Status ValidateRatingsOptions(const RatingsOptions& o) {
  constexpr int64_t kMax = int64_t{1} << 31;
  if (o.users < 1 || o.users >= kMax)
    return absl::InvalidArgumentError("--users must be in [1, 2^31)");
  if (o.items < 2 || o.items >= kMax)
    return absl::InvalidArgumentError("--items must be in [2, 2^31)");
  if (o.min_per_user < 0 || o.min_per_user > o.items / 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("--min-per-user must be in [0, items / 2 = ", o.items / 2, "]"));
  }
  const int64_t most = o.users * (o.items / 2);
  if (o.ratings < o.users * o.min_per_user || o.ratings > most || o.ratings >= kMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("--ratings must be in [users * min_per_user = ", o.users * o.min_per_user,
                     ", users * items / 2 = ", most, "]"));
  }
  return absl::OkStatus();
}

absl::Status GenerateRatings(const RatingsOptions& o, const std::string& path) {
  if (absl::Status s = ValidateRatingsOptions(o); !s.ok()) return s;
  if (path.empty()) return absl::InvalidArgumentError("--out must name a file");
  std::error_code ec;
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec)
    return absl::UnavailableError(
        absl::StrCat("cannot create ", parent.string(), ": ", ec.message()));

  const Catalog catalog = MakeCatalog(o);
  const AliasTable pick_any(catalog.appeal);
  const std::vector<int64_t> counts = RatingsPerUser(o);

  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) return absl::UnavailableError(absl::StrCat("cannot write ", tmp));
  std::string buffer;
  bool ok = true;
  for (int64_t u = 0; u < o.users && ok; ++u) {
    buffer.clear();
    for (const Rating& r : RateItems(o, catalog, pick_any, u, counts[u])) {
      absl::StrAppend(&buffer, u + 1, "\t", r.item + 1, "\t", r.rating, "\t", r.time, "\n");
    }
    ok = std::fwrite(buffer.data(), 1, buffer.size(), f) == buffer.size();
  }
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    std::filesystem::remove(tmp, ec);
    return absl::UnavailableError(absl::StrCat("write failed: ", tmp));
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot rename ", tmp, ": ", ec.message()));
  return absl::OkStatus();
}

}  // namespace streamrec
