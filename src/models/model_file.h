#pragma once
// The model file: a trained batch model (ALS or item-kNN) with the external ids of its
// users and items, as `streamrec train` writes it and `streamrec serve` loads it. A
// server whose dense ids differ maps the model's rows by external id.
//
// Format (version 1, little-endian):
//   header   u64 magic "SRBATCHM", u32 format version, u8 kind (1 ALS, 2 item-kNN),
//            u64 user id count, u64 item id count, u64 payload size      (37 bytes)
//   payload  user ids, item ids (each a varint length and its bytes), then the model:
//            AlsModel::Save or ItemKnnModel::Save
//   trailer  u64 ModelSnapshotChecksum of header and payload
// A file is written whole to PATH.tmp, synced, renamed over PATH and the directory
// synced, so a reader sees the old file or the new one, never a torn one.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "log/env.h"
#include "models/als.h"
#include "models/item_knn.h"

namespace streamrec {

enum class BatchModelKind : uint8_t { kAls = 1, kItemKnn = 2 };

struct TrainedModel {
  BatchModelKind kind = BatchModelKind::kAls;
  // Dense id -> external id. ALS: one per row of user factors; item-kNN: may be empty.
  std::vector<std::string> user_ids;
  std::vector<std::string> item_ids;  // one per item of the model
  std::optional<AlsModel> als;        // exactly one of these is set, by kind
  std::optional<ItemKnnModel> item_knn;
};

// "als", "item".
std::string_view BatchModelKindName(BatchModelKind kind);

constexpr uint32_t kModelFileVersion = 1;

// InvalidArgument when the model is inconsistent (the set model does not match `kind`,
// or the id lists do not match its sizes); the file system's error otherwise.
absl::Status WriteModelFile(Env* env, const std::string& path, const TrainedModel& model);
absl::Status WriteModelFile(const std::string& path, const TrainedModel& model);

// NotFound for a missing file; DataLoss for truncated or corrupt bytes (saying where);
// FailedPrecondition for another format version or a file that is not a model file.
// Messages name the path.
absl::StatusOr<TrainedModel> ReadModelFile(Env* env, const std::string& path);
absl::StatusOr<TrainedModel> ReadModelFile(const std::string& path);

}  // namespace streamrec
