#include "synth/generator.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <numbers>
#include <span>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/event.h"
#include "common/status_macros.h"
#include "common/time.h"
#include "io/table_writer.h"
#include "synth/random.h"

namespace streamrec {
namespace {

using synth::AliasTable;
using synth::Permutation;
using synth::Rng;

// ---------------------------------------------------------------------------------------
// Fixed parameters of the data (README.md lists them).

// The clickstream window: [2024-02-01 00:00:00, +7 days), whole seconds, UTC.
constexpr int64_t kWindowDays = 7;
constexpr int64_t kWindowSeconds = kWindowDays * 86400;
constexpr int64_t kHistoryDays = 365;        // history: the year before the window
constexpr int64_t kPurchasesLeadDays = 14;   // purchases.csv: the two weeks before ...
constexpr double kPurchasesInWindow = 0.25;  // ... except this share, inside the window

// Zipf-Mandelbrot weights 1 / (rank + q)^s with q = 1 + count / 1000: a long tail whose
// head is not a single runaway id at any size.
constexpr double kItemZipfExponent = 1.0;
constexpr double kUserZipfExponent = 1.0;

// Sessions: 1 + Exp(kMeanExtraSessionEvents) events (floored, capped at what is left).
constexpr double kMeanExtraSessionEvents = 4.0;
// Gaps inside a session: log-uniform seconds, except a few long pauses just under the
// 30-minute session boundary (1800 s itself included).
constexpr double kInSessionGapMin = 2, kInSessionGapMax = 600;
constexpr double kLongPauseShare = 0.03;
constexpr int64_t kLongPauseMin = 1500, kLongPauseMax = 1800;
// Gaps between sessions: log-uniform from an hour to three days, except a few just over
// the 30-minute boundary.
constexpr double kBetweenSessionGapMin = 3600, kBetweenSessionGapMax = 3 * 86400;
constexpr double kShortBreakShare = 0.06;
constexpr int64_t kShortBreakMin = 1801, kShortBreakMax = 2700;

// Session content: a session browses a primary and a secondary cluster.
constexpr double kPrimaryIsHomeShare = 0.7;  // else the second home (0.15) or random
constexpr double kPrimaryIsSecondHomeShare = 0.15;
constexpr double kSecondaryIsOtherHomeShare = 0.5;  // else a random cluster
constexpr double kViewInPrimaryShare = 0.75;        // a new view: primary cluster ...
constexpr double kViewInSecondaryShare = 0.15;      // ... secondary ...; else any item
// Funnel: after a view, click; after a click, add to cart; after that, purchase.
constexpr double kClickAfterView = 0.38;
constexpr double kCartAfterClick = 0.33;
constexpr double kPurchaseAfterCart = 0.5;
// History and batch purchases: the user's home clusters, else any item.
constexpr double kPurchaseInHomeShare = 0.6;
constexpr double kPurchaseInSecondHomeShare = 0.2;

// Prices: log-normal per cluster level and per item around it, in cents.
constexpr double kMedianPrice = 35.0;
constexpr double kClusterPriceSigma = 0.7;
constexpr double kItemPriceSigma = 0.35;
constexpr double kMinPrice = 0.5;

// Stream ids: each purpose draws from its own generator, so changing one part of the
// data does not shift the others.
enum Stream : uint64_t {
  kCatalogStream = 1,
  kUserWeightsStream,
  kEventCountsStream,
  kHomeStream,      // per user
  kTimelineStream,  // per user
  kContentStream,   // per user
  kHistoryStream,
  kPurchasesStream,
};

// Zipf-Mandelbrot weights assigned to ids in a random order: weight[id] = 1/(rank+q)^s.
std::vector<double> ZipfWeights(uint64_t n, double exponent, Rng& rng) {
  const double q = 1.0 + static_cast<double>(n) / 1000.0;
  const std::vector<uint32_t> rank_to_id = Permutation(n, rng);
  std::vector<double> weights(n);
  for (uint64_t rank = 0; rank < n; ++rank) {
    weights[rank_to_id[rank]] = std::pow(static_cast<double>(rank) + q, -exponent);
  }
  return weights;
}

// ---------------------------------------------------------------------------------------
// The world: items in clusters with prices and popularity, users with activity.

struct Catalog {
  std::vector<double> price;  // per item, whole cents
  // Items of cluster c: cluster_items[cluster_begin[c] .. cluster_begin[c + 1]).
  std::vector<uint32_t> cluster_items;
  std::vector<uint32_t> cluster_begin;
  std::vector<AliasTable> within_cluster;  // per cluster, over its items' popularity
  std::unique_ptr<AliasTable> clusters;    // by total popularity of their items
  std::unique_ptr<AliasTable> items;       // by popularity

  uint32_t ItemInCluster(uint32_t cluster, Rng& rng) const {
    return cluster_items[cluster_begin[cluster] + within_cluster[cluster].Sample(rng)];
  }
};

Catalog BuildCatalog(uint64_t num_items, uint64_t seed) {
  Rng rng(seed, kCatalogStream, 0);
  Catalog catalog;
  const std::vector<double> popularity = ZipfWeights(num_items, kItemZipfExponent, rng);
  catalog.items = std::make_unique<AliasTable>(popularity);

  // About sqrt(items) clusters of equal size; membership is a random deal of the items,
  // independent of popularity, so cluster popularity varies.
  const auto num_clusters = static_cast<uint64_t>(std::clamp<double>(
      std::round(std::sqrt(static_cast<double>(num_items))), 1.0, static_cast<double>(num_items)));
  const std::vector<uint32_t> deal = Permutation(num_items, rng);
  catalog.cluster_items.resize(num_items);
  catalog.cluster_begin.assign(num_clusters + 1, 0);
  for (uint64_t i = 0; i < num_items; ++i) {
    ++catalog.cluster_begin[i % num_clusters + 1];
  }
  for (uint64_t c = 0; c < num_clusters; ++c) {
    catalog.cluster_begin[c + 1] += catalog.cluster_begin[c];
  }
  std::vector<uint32_t> fill(catalog.cluster_begin.begin(), catalog.cluster_begin.end() - 1);
  for (uint64_t i = 0; i < num_items; ++i) {
    catalog.cluster_items[fill[i % num_clusters]++] = deal[i];
  }

  catalog.price.resize(num_items);
  std::vector<double> cluster_weight(num_clusters);
  std::vector<double> member_weights;
  for (uint64_t c = 0; c < num_clusters; ++c) {
    const double level = std::log(kMedianPrice) + kClusterPriceSigma * rng.Normal();
    member_weights.clear();
    for (uint32_t k = catalog.cluster_begin[c]; k < catalog.cluster_begin[c + 1]; ++k) {
      const uint32_t item = catalog.cluster_items[k];
      const double price = std::exp(level + kItemPriceSigma * rng.Normal());
      catalog.price[item] = std::max(kMinPrice, std::round(price * 100.0) / 100.0);
      member_weights.push_back(popularity[item]);
      cluster_weight[c] += popularity[item];
    }
    catalog.within_cluster.emplace_back(member_weights);
  }
  catalog.clusters = std::make_unique<AliasTable>(cluster_weight);
  return catalog;
}

// A user's two favourite clusters, drawn by cluster popularity; a fixed function of
// (seed, user), so history, purchases and sessions agree on them.
std::pair<uint32_t, uint32_t> HomeClusters(const Catalog& catalog, uint64_t seed, uint32_t user) {
  Rng rng(seed, kHomeStream, user);
  return {catalog.clusters->Sample(rng), catalog.clusters->Sample(rng)};
}

// An item a user buys outside a session: mostly from the home clusters.
uint32_t PurchasedItem(const Catalog& catalog, std::pair<uint32_t, uint32_t> home, Rng& rng) {
  const double r = rng.Uniform();
  if (r < kPurchaseInHomeShare) {
    return catalog.ItemInCluster(home.first, rng);
  }
  if (r < kPurchaseInHomeShare + kPurchaseInSecondHomeShare) {
    return catalog.ItemInCluster(home.second, rng);
  }
  return catalog.items->Sample(rng);
}

// ---------------------------------------------------------------------------------------
// Clickstream.

// One user's event times as second offsets into the window, and how they split into
// generated sessions. A fixed function of (seed, user, event count).
struct Timeline {
  std::vector<uint32_t> offsets;        // non-decreasing, each < kWindowSeconds
  std::vector<uint32_t> session_sizes;  // sums to offsets.size()
};

void BuildTimeline(uint64_t seed, uint32_t user, uint32_t num_events, Timeline& out) {
  Rng rng(seed, kTimelineStream, user);
  out.session_sizes.clear();
  for (uint32_t left = num_events; left > 0;) {
    const auto extra = static_cast<uint64_t>(rng.Exponential(kMeanExtraSessionEvents));
    const auto size = static_cast<uint32_t>(std::min<uint64_t>(left, 1 + extra));
    out.session_sizes.push_back(size);
    left -= size;
  }
  // offsets[i] holds the gap before event i until the prefix sum below.
  std::vector<uint32_t>& gaps = out.offsets;
  gaps.assign(num_events, 0);
  uint64_t inside = 0, between = 0;
  uint32_t i = 0;
  for (uint32_t size : out.session_sizes) {
    if (i > 0) {
      const int64_t gap =
          rng.Chance(kShortBreakShare)
              ? rng.Between(kShortBreakMin, kShortBreakMax)
              : std::llround(rng.LogUniform(kBetweenSessionGapMin, kBetweenSessionGapMax));
      gaps[i] = static_cast<uint32_t>(gap);
      between += gaps[i];
    }
    for (uint32_t k = 1; k < size; ++k) {
      const int64_t gap = rng.Chance(kLongPauseShare)
                              ? rng.Between(kLongPauseMin, kLongPauseMax)
                              : std::llround(rng.LogUniform(kInSessionGapMin, kInSessionGapMax));
      gaps[i + k] = static_cast<uint32_t>(gap);
      inside += gaps[i + k];
    }
    i += size;
  }
  // Fit the timeline into the window: shrink it to a random 7/8..all of the window (so
  // heavy users do not all start and end at its edges), the gaps between sessions first
  // (a very active user comes back sooner) and all gaps only if that is not enough.
  constexpr uint64_t kSpan = kWindowSeconds - 1;
  uint64_t span = kSpan;
  if (inside + between > kSpan) {
    span = kSpan - rng.Below(kSpan / 8);
    const bool only_between = inside < span;
    const double factor = only_between
                              ? static_cast<double>(span - inside) / static_cast<double>(between)
                              : static_cast<double>(span) / static_cast<double>(inside + between);
    i = 0;
    for (uint32_t size : out.session_sizes) {
      if (i > 0) {
        gaps[i] = static_cast<uint32_t>(gaps[i] * factor);
      }
      if (!only_between) {
        for (uint32_t k = 1; k < size; ++k) {
          gaps[i + k] = static_cast<uint32_t>(gaps[i + k] * factor);
        }
      }
      i += size;
    }
  }
  // Every scaled gap was rounded down, so the total exceeds `span` by rounding error at
  // most; the last gaps absorb any excess.
  uint64_t total = 0;
  for (uint32_t g : gaps) {
    total += g;
  }
  for (size_t j = gaps.size(); total > span && j-- > 1;) {
    const auto cut = static_cast<uint32_t>(std::min<uint64_t>(gaps[j], total - span));
    gaps[j] -= cut;
    total -= cut;
  }
  uint64_t t = rng.Below(kSpan - total + 1);
  for (uint32_t& g : gaps) {
    t += g;
    g = static_cast<uint32_t>(t);
  }
}

// Events are packed into 64 bits: user (31) | item (31) | type (2).
uint64_t PackEvent(uint32_t user, uint32_t item, EventType type) {
  return (uint64_t{user} << 33) | (uint64_t{item} << 2) | static_cast<uint64_t>(type);
}
uint32_t PackedUser(uint64_t e) { return static_cast<uint32_t>(e >> 33); }
uint32_t PackedItem(uint64_t e) { return static_cast<uint32_t>((e >> 2) & 0x7fffffffu); }
EventType PackedType(uint64_t e) { return static_cast<EventType>(e & 3); }

// Fills `out[0 .. size)` with one session's events: views of items from the session's
// clusters, each possibly followed by its funnel (click, add_to_cart, purchase).
void BuildSessionContent(const Catalog& catalog, std::pair<uint32_t, uint32_t> home, uint32_t user,
                         uint32_t size, Rng& rng, uint64_t* out) {
  const double r = rng.Uniform();
  const uint32_t primary = r < kPrimaryIsHomeShare ? home.first
                           : r < kPrimaryIsHomeShare + kPrimaryIsSecondHomeShare
                               ? home.second
                               : catalog.clusters->Sample(rng);
  const uint32_t secondary = rng.Chance(kSecondaryIsOtherHomeShare)
                                 ? (primary == home.first ? home.second : home.first)
                                 : catalog.clusters->Sample(rng);
  uint32_t item = 0;
  EventType last = EventType::kPurchase;  // "nothing to continue": the next event is a view
  for (uint32_t k = 0; k < size; ++k) {
    EventType type = EventType::kView;
    if (last == EventType::kView && rng.Chance(kClickAfterView)) {
      type = EventType::kClick;
    } else if (last == EventType::kClick && rng.Chance(kCartAfterClick)) {
      type = EventType::kAddToCart;
    } else if (last == EventType::kAddToCart && rng.Chance(kPurchaseAfterCart)) {
      type = EventType::kPurchase;
    }
    if (type == EventType::kView) {
      const double where = rng.Uniform();
      item = where < kViewInPrimaryShare ? catalog.ItemInCluster(primary, rng)
             : where < kViewInPrimaryShare + kViewInSecondaryShare
                 ? catalog.ItemInCluster(secondary, rng)
                 : catalog.items->Sample(rng);
    }
    out[k] = PackEvent(user, item, type);
    last = type;
  }
}

// Events per user: a multinomial draw of `events` over the users' activity weights.
std::vector<uint32_t> EventsPerUser(const AliasTable& activity, uint64_t events, uint64_t seed) {
  Rng rng(seed, kEventCountsStream, 0);
  std::vector<uint32_t> counts(activity.size(), 0);
  for (uint64_t e = 0; e < events; ++e) {
    ++counts[activity.Sample(rng)];
  }
  return counts;
}

// All events in time order, bucketed by second: events[bucket[t] .. bucket[t + 1]) happen
// at window second t. Within a second, events keep (user, generation) order, so one
// user's events stay in their generated order. Two passes over the users: the first
// counts events per second, the second regenerates the same timelines and scatters the
// events into place, so no sort and no per-event time is ever stored.
struct Clickstream {
  std::vector<uint64_t> events;  // packed
  std::vector<uint32_t> bucket;  // kWindowSeconds + 1 offsets
};

Clickstream BuildClickstream(const Catalog& catalog, const std::vector<uint32_t>& per_user,
                             uint64_t seed) {
  Clickstream cs;
  cs.bucket.assign(kWindowSeconds + 1, 0);
  Timeline timeline;
  for (uint32_t u = 0; u < per_user.size(); ++u) {
    if (per_user[u] == 0) {
      continue;
    }
    BuildTimeline(seed, u, per_user[u], timeline);
    for (uint32_t t : timeline.offsets) {
      ++cs.bucket[t + 1];
    }
  }
  for (int64_t t = 0; t < kWindowSeconds; ++t) {
    cs.bucket[t + 1] += cs.bucket[t];
  }

  cs.events.resize(cs.bucket.back());
  std::vector<uint32_t> next(cs.bucket.begin(), cs.bucket.end() - 1);
  std::vector<uint64_t> content;
  for (uint32_t u = 0; u < per_user.size(); ++u) {
    if (per_user[u] == 0) {
      continue;
    }
    BuildTimeline(seed, u, per_user[u], timeline);
    content.resize(per_user[u]);
    Rng rng(seed, kContentStream, u);
    const auto home = HomeClusters(catalog, seed, u);
    uint32_t i = 0;
    for (uint32_t size : timeline.session_sizes) {
      BuildSessionContent(catalog, home, u, size, rng, content.data() + i);
      i += size;
    }
    for (uint32_t k = 0; k < per_user[u]; ++k) {
      cs.events[next[timeline.offsets[k]]++] = content[k];
    }
  }
  return cs;
}

// ---------------------------------------------------------------------------------------
// Tables.

// Ids are opaque text in the spec; ours are decimal integers, so columns are kText and
// the values are appended with Int() (the same bytes).
Schema PurchaseSchema(std::string_view time_column) {
  return {{"user_id", ColumnType::kText},
          {"item_id", ColumnType::kText},
          {"purchase_amount", ColumnType::kDouble},
          {std::string(time_column), ColumnType::kTime}};
}

struct PurchaseTableSpec {
  std::string path_without_extension;
  std::string_view time_column;
  TableFormat format;
  int64_t rows;
  Stream stream;
  // Times are drawn uniformly from [range_begin, range_end), or with probability
  // `in_window_share` from the clickstream window.
  EventTime range_begin, range_end;
  double in_window_share;
};

// Draws purchases of users by activity, items mostly from the users' home clusters, at
// the item's price. Rows are in no particular time order, like the golden inputs.
absl::Status WritePurchaseTable(const PurchaseTableSpec& spec, const Catalog& catalog,
                                const AliasTable& activity, uint64_t seed, EventTime window_start) {
  ASSIGN_OR_RETURN(auto w, TableWriter::Create(spec.path_without_extension,
                                               PurchaseSchema(spec.time_column), spec.format));
  Rng rng(seed, spec.stream, 0);
  const int64_t range_seconds =
      (spec.range_end.micros - spec.range_begin.micros) / kMicrosPerSecond;
  for (int64_t row = 0; row < spec.rows; ++row) {
    const uint32_t user = activity.Sample(rng);
    const uint32_t item = PurchasedItem(catalog, HomeClusters(catalog, seed, user), rng);
    const EventTime time =
        rng.Chance(spec.in_window_share)
            ? EventTime{window_start.micros + rng.Between(0, kWindowSeconds - 1) * kMicrosPerSecond}
            : EventTime{spec.range_begin.micros +
                        rng.Between(0, range_seconds - 1) * kMicrosPerSecond};
    w->Int(user);
    w->Int(item);
    w->Double(catalog.price[item]);
    w->Time(time);
    w->EndRow();
  }
  return w->Finish();
}

absl::Status WriteEvents(const std::string& path_without_extension, const Clickstream& cs,
                         const Catalog& catalog, EventTime window_start) {
  Schema schema = {{"user_id", ColumnType::kText},
                   {"item_id", ColumnType::kText},
                   {"event_type", ColumnType::kText},
                   {"timestamp", ColumnType::kTime},
                   {"amount", ColumnType::kDouble}};
  ASSIGN_OR_RETURN(
      auto w, TableWriter::Create(path_without_extension, std::move(schema), TableFormat::kCsv));
  for (int64_t t = 0; t < kWindowSeconds; ++t) {
    const EventTime time{window_start.micros + t * kMicrosPerSecond};
    for (uint32_t k = cs.bucket[t]; k < cs.bucket[t + 1]; ++k) {
      const uint64_t e = cs.events[k];
      const EventType type = PackedType(e);
      w->Int(PackedUser(e));
      w->Int(PackedItem(e));
      w->Text(EventTypeName(type));
      w->Time(time);
      if (type == EventType::kPurchase) {
        w->Double(catalog.price[PackedItem(e)]);
      } else {
        w->Null();
      }
      w->EndRow();
    }
  }
  return w->Finish();
}

}  // namespace

absl::Status ValidateGeneratorOptions(const GeneratorOptions& options) {
  const std::pair<const char*, int64_t> counts[] = {
      {"users", options.users}, {"items", options.items}, {"events", options.events}};
  for (const auto& [name, value] : counts) {
    if (value < 1 || value > kMaxGeneratorCount) {
      return absl::InvalidArgumentError(absl::StrCat(
          "generate: --", name, " must be between 1 and ", kMaxGeneratorCount, ", got ", value));
    }
  }
  return absl::OkStatus();
}

absl::Status GenerateDataset(const GeneratorOptions& options, const std::string& out_dir) {
  RETURN_IF_ERROR(ValidateGeneratorOptions(options));
  if (out_dir.empty()) {
    return absl::InvalidArgumentError("generate: --out must name a folder");
  }
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("generate: cannot create output folder ", out_dir, ": ", ec.message()));
  }
  const uint64_t seed = options.seed;
  const int64_t window_start_s = DaysFromCivil(2024, 2, 1) * 86400;
  const EventTime window_start = EventTime::FromSeconds(window_start_s);
  const Catalog catalog = BuildCatalog(static_cast<uint64_t>(options.items), seed);

  Rng weights_rng(seed, kUserWeightsStream, 0);
  const AliasTable activity(
      ZipfWeights(static_cast<uint64_t>(options.users), kUserZipfExponent, weights_rng));

  const std::string dir = out_dir.back() == '/' ? out_dir : out_dir + "/";
  RETURN_IF_ERROR(WritePurchaseTable(
      {.path_without_extension = dir + "history",
       .time_column = "purchase_date",
       .format = options.history_format,
       .rows = std::max<int64_t>(1, options.events / 4),
       .stream = kHistoryStream,
       .range_begin = EventTime::FromSeconds(window_start_s - kHistoryDays * 86400),
       .range_end = window_start,
       .in_window_share = 0.0},
      catalog, activity, seed, window_start));
  RETURN_IF_ERROR(WritePurchaseTable(
      {.path_without_extension = dir + "purchases",
       .time_column = "timestamp",
       .format = TableFormat::kCsv,
       .rows = std::max<int64_t>(1, options.events / 20),
       .stream = kPurchasesStream,
       .range_begin = EventTime::FromSeconds(window_start_s - kPurchasesLeadDays * 86400),
       .range_end = window_start,
       .in_window_share = kPurchasesInWindow},
      catalog, activity, seed, window_start));

  const Clickstream cs = BuildClickstream(
      catalog, EventsPerUser(activity, static_cast<uint64_t>(options.events), seed), seed);
  return WriteEvents(dir + "events", cs, catalog, window_start);
}

}  // namespace streamrec
