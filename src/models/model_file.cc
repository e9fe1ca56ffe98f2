#include "models/model_file.h"

#include <cstring>
#include <filesystem>

#include "common/byte_io.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "models/recommender.h"  // ModelSnapshotChecksum

namespace streamrec {
namespace {

constexpr uint64_t kMagic = 0x4d48435441425253ULL;  // "SRBATCHM"
constexpr size_t kHeaderBytes = 8 + 4 + 1 + 8 + 8 + 8;
constexpr size_t kChecksumBytes = 8;

// The directory holding `path` ("." for a bare name), to sync after the rename.
std::string ParentDir(const std::string& path) {
  const std::string parent = std::filesystem::path(path).parent_path().string();
  return parent.empty() ? "." : parent;
}

absl::Status CheckConsistent(const TrainedModel& m) {
  switch (m.kind) {
    case BatchModelKind::kAls:
      if (!m.als || m.item_knn) {
        return absl::InvalidArgumentError("model of kind als must hold an ALS model only");
      }
      if (m.user_ids.size() != m.als->num_users() || m.item_ids.size() != m.als->num_items()) {
        return absl::InvalidArgumentError(StrCat(
            "ALS model of ", m.als->num_users(), " users and ", m.als->num_items(), " items has ",
            m.user_ids.size(), " user ids and ", m.item_ids.size(), " item ids"));
      }
      return absl::OkStatus();
    case BatchModelKind::kItemKnn:
      if (!m.item_knn || m.als) {
        return absl::InvalidArgumentError("model of kind item must hold an item-kNN model only");
      }
      if (m.item_ids.size() != m.item_knn->num_items()) {
        return absl::InvalidArgumentError(StrCat("item-kNN model of ", m.item_knn->num_items(),
                                                 " items has ", m.item_ids.size(), " item ids"));
      }
      return absl::OkStatus();
  }
  return absl::InvalidArgumentError(StrCat("unknown model kind ", static_cast<int>(m.kind)));
}

// Reads `n` external ids; false when the payload ends first.
bool GetIds(ByteReader* r, uint64_t n, std::vector<std::string>* out) {
  out->reserve(std::min<uint64_t>(n, r->remaining()));  // each id takes >= 1 byte
  for (uint64_t k = 0; k < n; ++k) {
    std::string_view id;
    if (!r->GetString(&id)) return false;
    out->emplace_back(id);
  }
  return true;
}

}  // namespace

std::string_view BatchModelKindName(BatchModelKind kind) {
  switch (kind) {
    case BatchModelKind::kAls:
      return "als";
    case BatchModelKind::kItemKnn:
      return "item";
  }
  return "unknown";
}

absl::Status WriteModelFile(Env* env, const std::string& path, const TrainedModel& model) {
  RETURN_IF_ERROR(CheckConsistent(model));
  std::string bytes;
  ByteWriter w(&bytes);
  w.Put(kMagic);
  w.Put(kModelFileVersion);
  w.Put(static_cast<uint8_t>(model.kind));
  w.Put<uint64_t>(model.user_ids.size());
  w.Put<uint64_t>(model.item_ids.size());
  w.Put<uint64_t>(0);  // payload size, patched below
  for (const std::string& id : model.user_ids) w.PutString(id);
  for (const std::string& id : model.item_ids) w.PutString(id);
  if (model.als) model.als->Save(&w);
  if (model.item_knn) model.item_knn->Save(&w);
  const uint64_t payload_size = bytes.size() - kHeaderBytes;
  std::memcpy(bytes.data() + kHeaderBytes - 8, &payload_size, sizeof(payload_size));
  w.Put(ModelSnapshotChecksum(bytes));

  const std::string temp = path + ".tmp";
  {
    ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, env->NewWritableFile(temp));
    RETURN_IF_ERROR(file->Append(bytes));
    RETURN_IF_ERROR(file->Sync());
  }
  RETURN_IF_ERROR(env->RenameFile(temp, path));
  return env->SyncDir(ParentDir(path));
}

absl::Status WriteModelFile(const std::string& path, const TrainedModel& model) {
  return WriteModelFile(Env::Default(), path, model);
}

absl::StatusOr<TrainedModel> ReadModelFile(Env* env, const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<FileContents> contents, env->ReadFile(path));
  const std::string_view bytes = contents->data();
  const auto data_loss = [&](std::string_view what) {
    return absl::DataLossError(StrCat("model file ", path, ": ", what));
  };

  ByteReader header(bytes);
  uint64_t magic = 0, user_count = 0, item_count = 0, payload_size = 0;
  uint32_t version = 0;
  uint8_t kind = 0;
  header.Get(&magic);
  if (!header.ok()) {
    const std::string_view prefix(reinterpret_cast<const char*>(&kMagic), bytes.size());
    if (bytes == prefix) return data_loss(StrCat("truncated at byte ", bytes.size()));
  }
  if (!header.ok() || magic != kMagic) {
    return absl::FailedPreconditionError(
        StrCat("model file ", path, ": not a streamrec model file (wrong magic)"));
  }
  header.Get(&version);
  if (header.ok() && version != kModelFileVersion) {
    return absl::FailedPreconditionError(StrCat("model file ", path, ": format version ", version,
                                                ", this build reads version ", kModelFileVersion));
  }
  header.Get(&kind);
  header.Get(&user_count);
  header.Get(&item_count);
  header.Get(&payload_size);
  if (!header.ok()) {
    return data_loss(
        StrCat("truncated in the header (", bytes.size(), " of ", kHeaderBytes, " bytes)"));
  }
  if (payload_size > bytes.size() || bytes.size() - payload_size < kHeaderBytes + kChecksumBytes) {
    return data_loss(StrCat("truncated: ", bytes.size(), " bytes, the header says ", kHeaderBytes,
                            " + ", payload_size, " + ", kChecksumBytes));
  }
  const size_t checked = kHeaderBytes + payload_size;
  if (bytes.size() != checked + kChecksumBytes) {
    return data_loss(StrCat(bytes.size() - checked - kChecksumBytes,
                            " bytes after the checksum at byte ", checked));
  }
  uint64_t checksum = 0;
  std::memcpy(&checksum, bytes.data() + checked, sizeof(checksum));
  if (ModelSnapshotChecksum(bytes.substr(0, checked)) != checksum) {
    return data_loss(StrCat("checksum mismatch over bytes 0..", checked));
  }
  if (kind != static_cast<uint8_t>(BatchModelKind::kAls) &&
      kind != static_cast<uint8_t>(BatchModelKind::kItemKnn)) {
    return data_loss(StrCat("unknown model kind ", int{kind}, " at byte 12"));
  }

  TrainedModel model;
  model.kind = static_cast<BatchModelKind>(kind);
  ByteReader payload(bytes.substr(kHeaderBytes, payload_size));
  if (!GetIds(&payload, user_count, &model.user_ids) ||
      !GetIds(&payload, item_count, &model.item_ids)) {
    return data_loss(
        StrCat("truncated in the ids (", user_count, " users, ", item_count, " items declared)"));
  }
  const size_t model_at = kHeaderBytes + payload_size - payload.remaining();
  const auto in_model = [&](const absl::Status& s) {
    return data_loss(StrCat("in the model at byte ", model_at, ": ", s.message()));
  };
  if (model.kind == BatchModelKind::kAls) {
    absl::StatusOr<AlsModel> als = AlsModel::Load(&payload);
    if (!als.ok()) {
      return als.status().code() == absl::StatusCode::kDataLoss ? in_model(als.status())
                                                                : als.status();
    }
    model.als = *std::move(als);
  } else {
    absl::StatusOr<ItemKnnModel> knn = ItemKnnModel::Load(&payload);
    if (!knn.ok()) return in_model(knn.status());
    model.item_knn = *std::move(knn);
  }
  if (!payload.at_end()) {
    return data_loss(StrCat(payload.remaining(), " unread bytes at the end of the payload"));
  }
  if (absl::Status s = CheckConsistent(model); !s.ok()) {
    return data_loss(StrCat("corrupt: ", s.message()));
  }
  return model;
}

absl::StatusOr<TrainedModel> ReadModelFile(const std::string& path) {
  return ReadModelFile(Env::Default(), path);
}

}  // namespace streamrec
