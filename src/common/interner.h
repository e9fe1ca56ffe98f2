#pragma once
// Interns external string ids to dense ids 0, 1, 2, ... in first-seen order.
//
// Thread safety: none; the engine's single writer owns each interner. Names are
// stored in an arena that never moves, so views returned by Name() stay valid for
// the interner's lifetime.

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "common/check.h"
#include "common/huge_page_allocator.h"
#include "common/ids.h"
#include "common/strings.h"

namespace streamrec {

class StringArena {
 public:
  // Copies `s` into stable storage and returns a view of the copy.
  std::string_view Store(std::string_view s);
  size_t bytes_used() const { return bytes_used_; }

 private:
  static constexpr size_t kBlockSize = 1 << 20;
  std::vector<std::unique_ptr<char[]>> blocks_;
  char* cursor_ = nullptr;
  size_t left_ = 0;
  size_t bytes_used_ = 0;
};

// A set of strings whose copies live in an arena: one allocation per MiB of strings
// instead of one per string, for sets of millions of short ids (e.g. event ids). Each
// entry keeps 32 bits of its string's hash beside the view (16 bytes in all), so that
// growing the set never hashes a string again and a lookup reads a stored string only
// when the hashes agree. Iteration order is unspecified.
//
// The entries are spread over kShards tables by their hash, so that a growth rehashes
// one table's share, not the whole set: one table of 14.7M ids stopped its inserting
// thread for seconds as it doubled (docs/PERFORMANCE.md, *Cheaper requests, and event
// ids without a stall*).
class ArenaStringSet {
 public:
  // Adds `s`; returns false (and adds nothing) when it is already in the set.
  bool Insert(std::string_view s) {
    // One hash and one probe: the arena copy is made only for a new string.
    const Key probe = MakeKey(s);
    bool inserted = false;
    ShardOf(probe).lazy_emplace(probe, [&](const auto& construct) {
      const std::string_view stored = arena_.Store(s);
      construct(Key{stored.data(), probe.size, probe.hash});
      inserted = true;
    });
    size_ += inserted;
    return inserted;
  }
  bool contains(std::string_view s) const {
    const Key probe = MakeKey(s);
    return ShardOf(probe).contains(probe);
  }
  // Starts loading what Insert(s) and contains(s) will probe (the table is a cache miss
  // once it outgrows the cache): call it some strings ahead.
  void Prefetch(std::string_view s) const {
    const Key probe = MakeKey(s);
    ShardOf(probe).prefetch(probe);
  }
  size_t size() const { return size_; }
  // Room for about `n` strings in all (the shards' shares are even, up to chance).
  void reserve(size_t n) {
    for (Table& t : shards_) t.reserve(n / kShards);
  }
  // Calls fn(std::string_view) for every string.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (const Table& t : shards_) {
      for (const Key& k : t) fn(k.view());
    }
  }
  size_t MemoryBytes() const {
    size_t bytes = arena_.bytes_used();
    for (const Table& t : shards_) bytes += t.capacity() * (sizeof(Key) + 1);
    return bytes;
  }

 private:
  static constexpr size_t kShards = 256;
  struct Key {
    const char* data;
    uint32_t size;
    uint32_t hash;  // the low 32 bits of StringViewHash of the text
    std::string_view view() const { return {data, size}; }
  };
  struct KeyHash {
    // Spreads the 32 stored bits over the 64 the table uses (high bits pick the group,
    // low bits are the control byte's tag). The top 8 bits, which pick the shard, are the
    // same for a shard's keys; the product mixes the other 24 into every bit.
    size_t operator()(const Key& k) const { return uint64_t{k.hash} * 0x9E3779B97F4A7C15ULL; }
  };
  struct KeyEq {
    bool operator()(const Key& a, const Key& b) const {
      return a.hash == b.hash && a.view() == b.view();
    }
  };
  using Table = absl::flat_hash_set<Key, KeyHash, KeyEq>;
  static_assert(sizeof(Key) == 16);
  static_assert(kShards == 256, "ShardOf takes the top 8 bits of the 32-bit hash");
  static Key MakeKey(std::string_view s) {
    STREAMREC_CHECK(s.size() <= UINT32_MAX) << "a string of 4 GiB or more";
    return Key{s.data(), static_cast<uint32_t>(s.size()),
               static_cast<uint32_t>(StringViewHash{}(s))};
  }
  Table& ShardOf(const Key& k) { return shards_[k.hash >> 24]; }
  const Table& ShardOf(const Key& k) const { return shards_[k.hash >> 24]; }

  std::array<Table, kShards> shards_;
  size_t size_ = 0;
  StringArena arena_;
};

template <typename Id>
class Interner {
 public:
  // Returns the id of `name`, assigning the next dense id the first time.
  Id Intern(std::string_view name) {
    const Id next(static_cast<uint32_t>(names_.size()));
    bool inserted = false;
    const auto it = ids_.lazy_emplace(name, [&](const auto& construct) {
      // Key on the arena copy: the caller's buffer may not outlive this call.
      const std::string_view stored = arena_.Store(name);
      construct(Entry::Make(stored, next));
      names_.push_back(stored);
      inserted = true;
    });
    return inserted ? next : it->id;
  }

  // Starts loading what Intern(name) and Find(name) probe first: call it some names
  // ahead when the table is larger than the cache.
  void Prefetch(std::string_view name) const { ids_.prefetch(name); }

  std::optional<Id> Find(std::string_view name) const {
    auto it = ids_.find(name);
    if (it == ids_.end()) return std::nullopt;
    return it->id;
  }

  // REQUIRES: id was returned by this interner.
  std::string_view Name(Id id) const { return names_[id.value]; }
  // Name(id) reads two places that miss the cache when ids come in random order: its
  // entry in the name index, then its bytes. A loop over rows prefetches the entry some
  // rows ahead with PrefetchEntry, and the bytes (which reads the entry) fewer ahead.
  void PrefetchEntry(Id id) const { __builtin_prefetch(&names_[id.value]); }
  void PrefetchName(Id id) const { __builtin_prefetch(names_[id.value].data()); }
  size_t size() const { return names_.size(); }
  // Approximate heap bytes held: the hash table, the name index and the arena.
  size_t MemoryBytes() const {
    return ids_.capacity() * (sizeof(Entry) + 1) + names_.capacity() * sizeof(std::string_view) +
           arena_.bytes_used();
  }

 private:
  // An entry of the table: the name itself when it fits in kInline bytes (ids are
  // mostly short numbers), else a pointer to its arena copy. So finding a short name
  // reads the table alone, not a second, random place in the arena. 20 bytes.
  struct Entry {
    static constexpr uint32_t kInline = 12;
    char bytes[kInline];  // the name, or the address of its arena copy (memcpy'd)
    uint32_t size;
    Id id;

    static Entry Make(std::string_view stored, Id id) {
      Entry e{.bytes = {}, .size = static_cast<uint32_t>(stored.size()), .id = id};
      if (stored.size() <= kInline) {
        if (!stored.empty()) std::memcpy(e.bytes, stored.data(), stored.size());
      } else {
        const char* data = stored.data();
        std::memcpy(e.bytes, &data, sizeof data);
      }
      return e;
    }
    std::string_view view() const {
      if (size <= kInline) return {bytes, size};
      const char* data = nullptr;
      std::memcpy(&data, bytes, sizeof data);
      return {data, size};
    }
  };
  static_assert(sizeof(Entry) == 20);
  static std::string_view View(std::string_view s) { return s; }
  static std::string_view View(const Entry& e) { return e.view(); }
  struct EntryHash {
    using is_transparent = void;
    template <typename K>
    size_t operator()(const K& k) const {
      return StringViewHash{}(View(k));
    }
  };
  struct EntryEq {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return View(a) == View(b);
    }
  };

  // Millions of names make tables of tens of MB, probed at random: in huge pages, a
  // probe is one cache miss instead of a cache miss and a TLB miss.
  absl::flat_hash_set<Entry, EntryHash, EntryEq, HugePageAllocator<Entry>> ids_;
  HugePageVector<std::string_view> names_;
  StringArena arena_;
};

}  // namespace streamrec

namespace streamrec {

// The two id spaces of the engine. User-keyed and item-keyed state index by these.
struct IdDictionary {
  Interner<UserIdx> users;
  Interner<ItemIdx> items;
};

}  // namespace streamrec
