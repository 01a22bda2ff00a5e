#include "symbolication/index_builder.h"

#include <fcntl.h>
#include <libdeflate.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <memory_resource>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "symbolication/index_format.h"
#include "symbolication/line_coder.h"
#include "symbolication/pod_vector.h"
#include "symbolication/sym_parser_impl.h"

namespace sigil::symbolication {
namespace {

namespace f = format;
constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();
constexpr uint64_t kSegmentSpan = uint64_t{1} << 32;  // range offsets are 32-bit
// FUNCs longer than one segment cost a segment (and a range) per 4 GiB they span. Real modules
// stay far below this (x86-64 user space is 2^47 bytes = 32768 segments); a hostile file with
// FUNC sizes near 2^64 would otherwise make an 8 KiB input allocate hundreds of GiB.
constexpr uint64_t kMaxExtraSegments = uint64_t{1} << 16;  // 2^48 bytes of FUNC address space

// Asks for transparent huge pages on a big buffer (before it is touched): one fault per 2 MiB
// instead of per 4 KiB when the builder fills hundreds of MB. A hint; errors are ignored.
void AdviseHugePages(const void* data, size_t bytes) {
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + kHuge - 1) & ~(kHuge - 1);
  uintptr_t end = (reinterpret_cast<uintptr_t>(data) + bytes) & ~(kHuge - 1);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
}

// The high and low halves of a 64 x 64-bit product, folded (wyhash's mix).
inline uint64_t Mum(uint64_t a, uint64_t b) {
  __extension__ using U128 = unsigned __int128;
  const U128 r = static_cast<U128>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

inline uint64_t Load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline uint64_t Load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// 16 bytes per multiply (names and paths are mostly 30-200 bytes), the last ones read as one
// overlapping block (no byte loop, no memcpy call); only the string table's slot choice depends on
// it, never the index bytes.
uint64_t HashBytes(std::string_view s) {
  const char* p = s.data();
  const size_t n = s.size();
  uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
  uint64_t a = 0, b = 0;
  if (n > 16) {
    for (size_t i = 0; i + 16 < n; i += 16)
      h = Mum(Load64(p + i) ^ h ^ 0xA0761D6478BD642Full, Load64(p + i + 8) ^ 0xE7037ED1A0B428DBull);
    a = Load64(p + n - 16);
    b = Load64(p + n - 8);
  } else if (n >= 8) {
    a = Load64(p);
    b = Load64(p + n - 8);
  } else if (n >= 4) {
    a = Load32(p);
    b = Load32(p + n - 4);
  } else if (n > 0) {
    a = uint64_t{static_cast<unsigned char>(p[0])} << 16 |
        uint64_t{static_cast<unsigned char>(p[n / 2])} << 8 | static_cast<unsigned char>(p[n - 1]);
  }
  return Mum(a ^ h ^ 0x8EBC6AF09C88C6E3ull, b ^ 0x589965CC75374CC3ull);
}

// Deduplicating string table: one copy of each distinct string. Slots keep a 32-bit hash beside the
// id, so a probe only touches string bytes when the hashes agree.
class StringTable {
 public:
  StringTable() : slots_(1024, Slot{f::kNone, 0}) { offsets_.push_back(0); }

  uint32_t Intern(std::string_view s) { return Intern(s, Hash(s)); }
  static uint32_t Hash(std::string_view s) { return static_cast<uint32_t>(HashBytes(s)); }
  // Starts loading the slot a string of this hash probes first (a random access into a table
  // that outgrows the caches on big files), so that Intern(s, hash) later finds it cached.
  void Prefetch(uint32_t hash) const { __builtin_prefetch(&slots_[hash & (slots_.size() - 1)]); }
  uint32_t Intern(std::string_view s, uint32_t hash) {
    if (count() * 2 >= slots_.size()) Grow();
    const size_t mask = slots_.size() - 1;
    size_t i = hash & mask;
    while (slots_[i].id != f::kNone) {
      if (slots_[i].hash == hash && Get(slots_[i].id) == s) return slots_[i].id;
      i = (i + 1) & mask;
    }
    uint32_t id = static_cast<uint32_t>(count());
    char* at = data_.Room(s.size());
    if (!s.empty()) std::memcpy(at, s.data(), s.size());
    data_.Commit(at + s.size());
    offsets_.push_back(data_.size());
    slots_[i] = Slot{id, hash};
    return id;
  }
  std::string_view Get(uint32_t id) const {
    return data().substr(offsets_[id], offsets_[id + 1] - offsets_[id]);
  }
  size_t count() const { return offsets_.size() - 1; }
  // The (offset, size) of string `id` in data() (the empty string for kNone). Call only once data()
  // is known to fit 32 bits.
  f::StringRef Ref(uint32_t id) const {
    if (id == f::kNone) return f::StringRef{0, 0};
    return f::StringRef{static_cast<uint32_t>(offsets_[id]),
                        static_cast<uint32_t>(offsets_[id + 1] - offsets_[id])};
  }
  // Reserves address space for `bytes` of string data (pages are touched only as strings arrive)
  // and room for `count` strings (the slot table sized for them at once instead of doubling).
  void Reserve(size_t bytes, size_t count) {
    data_.Reset(bytes);
    AdviseHugePages(data_.data(), bytes);
    offsets_.reserve(count + 1);
    size_t slots = slots_.size();
    while (slots < 2 * count + 2) slots *= 2;
    if (slots != slots_.size()) {
      slots_.reserve(slots);
      AdviseHugePages(slots_.data(), slots * sizeof(Slot));
      slots_.assign(slots, Slot{f::kNone, 0});
    }
  }
  std::string_view data() const { return std::string_view(data_.data(), data_.size()); }
  const std::vector<uint64_t>& offsets() const { return offsets_; }

 private:
  struct Slot {
    uint32_t id;
    uint32_t hash;
  };
  void Grow() {
    std::vector<Slot> slots(slots_.size() * 2, Slot{f::kNone, 0});
    const size_t mask = slots.size() - 1;
    for (const Slot& s : slots_) {
      if (s.id == f::kNone) continue;
      size_t i = s.hash & mask;
      while (slots[i].id != f::kNone) i = (i + 1) & mask;
      slots[i] = s;
    }
    slots_.swap(slots);
  }

  ByteSink data_{0};  // appended through a pointer (no std::string::append call per string)
  std::vector<uint64_t> offsets_;
  std::vector<Slot> slots_;
};

// int32 id -> value, first insert wins (Breakpad's std::map::insert). Ids are usually small and
// dense (0..n): those live in a vector that grows only as far as the ids seen so far justify; the
// rest go to a hash map, so a stray huge id costs one map entry, not a huge vector.
class IdMap {
 public:
  void InsertFirst(int32_t id, uint32_t value) {
    if (Find(id) != f::kNone) return;
    const size_t limit = 2 * (count_ + 4096);
    if (id >= 0 && static_cast<size_t>(id) < limit) {
      // Grown geometrically (ids usually arrive in order: one resize call per id otherwise),
      // still within the bound the ids seen so far justify.
      if (static_cast<size_t>(id) >= dense_.size()) {
        dense_.resize(
            std::min(limit, std::max<size_t>(static_cast<size_t>(id) + 1, 2 * dense_.size())),
            f::kNone);
      }
      dense_[static_cast<size_t>(id)] = value;
    } else {
      sparse_.emplace(id, value);
    }
    ++count_;
  }
  uint32_t Find(int32_t id) const {
    if (id >= 0 && static_cast<size_t>(id) < dense_.size() &&
        dense_[static_cast<size_t>(id)] != f::kNone) {
      return dense_[static_cast<size_t>(id)];
    }
    if (sparse_.empty()) return f::kNone;
    auto it = sparse_.find(id);
    return it == sparse_.end() ? f::kNone : it->second;
  }

 private:
  size_t count_ = 0;
  std::vector<uint32_t> dense_;
  std::unordered_map<int32_t, uint32_t> sparse_;
};

// Breakpad RangeMap::StoreRange with exclusive ranges: rejects a range overlapping a stored one.
// map: high -> base.
bool ExclusiveInsert(std::map<uint64_t, uint64_t>& m, uint64_t base, uint64_t high) {
  auto ib = m.lower_bound(base);
  auto ih = m.lower_bound(high);
  if (ib != ih) return false;
  if (ih != m.end() && ih->second <= high) return false;
  m.emplace(high, base);
  return true;
}

// The builder's line entries before they are varint-coded into the line stream (Assemble).
constexpr uint32_t kRawLineBase = 0x80000000u;  // file flag: base in line_bases_
constexpr uint32_t kRawLineGap = 0x7FFFFFFFu;   // file value of a gap entry
constexpr uint32_t kRawLineNoFile = f::kLineNoFile;
struct LineRaw {
  uint32_t offset;  // from the range start
  int32_t line;
  uint32_t file;  // file index | kRawLineBase, or kRawLineGap
};
struct LineBaseRaw {
  uint32_t line_index;
  uint32_t reserved;
  uint64_t base;
};

// Compresses the string data as a raw DEFLATE stream at `level` into `out`, which has room for 7/8
// of it; returns the stream's size, or 0 when compression is off or does not save an eighth.
size_t DeflateStrings(std::string_view data, int level, char* out) {
  if (level <= 0 || data.size() < 256) return 0;
  // One compressor per thread and level (allocating one costs more than compressing a small file).
  struct Free {
    void operator()(libdeflate_compressor* c) const { libdeflate_free_compressor(c); }
  };
  thread_local std::unique_ptr<libdeflate_compressor, Free> compressor;
  thread_local int compressor_level = 0;
  level = std::min(level, 12);
  if (compressor == nullptr || compressor_level != level) {
    compressor.reset(libdeflate_alloc_compressor(level));
    compressor_level = level;
  }
  if (compressor == nullptr) return 0;
  return libdeflate_deflate_compress(compressor.get(), data.data(), data.size(), out,
                                     data.size() - data.size() / 8);
}

// The RangeDirect table: the span from the first to the last of the n > 0 range starts cut into at
// most one bucket per range (2^shift bytes each); entry b is the last range starting at or below
// bucket b's start, entry `buckets` the last range. DirectShift gives the shift, DirectBuckets the
// bucket count, WriteDirectTable the entries (`start(i)` is range i's start).
uint32_t DirectShift(uint64_t first, uint64_t last, size_t n) {
  uint32_t shift = 0;
  while (((last - first) >> shift) + 1 > n) ++shift;
  return shift;
}
uint64_t DirectBuckets(uint64_t first, uint64_t last, uint32_t shift) {
  return ((last - first) >> shift) + 1;
}
template <class Start, class Out>
void WriteDirectTable(size_t n, const Start& start, uint32_t shift, Out* out) {
  const uint64_t first = start(0);
  const uint64_t buckets = DirectBuckets(first, start(n - 1), shift);
  size_t i = 0;
  for (uint64_t b = 0; b < buckets; ++b) {
    const uint64_t begin = first + (b << shift);
    while (i + 1 < n && start(i + 1) <= begin) ++i;
    out->push_back(static_cast<uint32_t>(i));
  }
  out->push_back(static_cast<uint32_t>(n - 1));
}

// Appends records of one section to the index bytes through a small buffer: a table written
// straight into the index, without an array of its own (fresh pages to fault in, then a copy).
template <class T>
class SectionWriter {
 public:
  explicit SectionWriter(std::string* out) : out_(out) {}
  SectionWriter(const SectionWriter&) = delete;
  SectionWriter& operator=(const SectionWriter&) = delete;
  ~SectionWriter() { Flush(); }
  void push_back(const T& v) {
    buf_[n_++] = v;
    if (n_ == kBuffer) Flush();
  }
  void Flush() {
    out_->append(reinterpret_cast<const char*>(buf_), n_ * sizeof(T));
    n_ = 0;
  }

 private:
  static constexpr size_t kBuffer = 256;
  std::string* out_;
  T buf_[kBuffer];
  size_t n_ = 0;
};

// An inline site before its name is turned into a StringRef (Assemble).
struct SiteRaw {
  uint32_t name;  // string id
  uint32_t call_file;
  int32_t call_line;
};

// Distinct (name, call file, call line) tuples of the inline nodes, in first-seen order: an
// open-addressing table whose slots hold the tuple beside its index, so a probe reads one slot
// (the table outgrows the caches on big files; Prefetch starts that read early).
class SiteTable {
 public:
  // No slots until the first site (most files have no INLINE records); then 1024.
  void Prefetch(uint32_t name, uint32_t call_file, int32_t call_line) const {
    if (!slots_.empty())
      __builtin_prefetch(&slots_[Hash(name, call_file, call_line) & (slots_.size() - 1)]);
  }
  uint32_t Intern(uint32_t name, uint32_t call_file, int32_t call_line) {
    if (sites_.size() * 2 >= slots_.size()) Grow();  // the first time too
    const size_t mask = slots_.size() - 1;
    for (size_t i = Hash(name, call_file, call_line) & mask;; i = (i + 1) & mask) {
      Slot& slot = slots_[i];
      if (slot.id == f::kNone) {
        slot = Slot{static_cast<uint32_t>(sites_.size()), name, call_file, call_line};
        sites_.push_back(SiteRaw{name, call_file, call_line});
        return slot.id;
      }
      if (slot.name == name && slot.call_file == call_file && slot.call_line == call_line)
        return slot.id;
    }
  }
  const std::vector<SiteRaw>& sites() const { return sites_; }

 private:
  struct Slot {
    uint32_t id, name, call_file;
    int32_t call_line;
  };
  static size_t Hash(uint32_t name, uint32_t call_file, int32_t call_line) {
    const uint64_t h = (uint64_t{name} << 32 | call_file) * 0x9E3779B97F4A7C15ull;
    return static_cast<size_t>((h ^ static_cast<uint32_t>(call_line)) * 0xBF58476D1CE4E5B9ull >>
                               16);
  }
  void Grow() {
    std::vector<Slot> slots(std::max<size_t>(1024, slots_.size() * 2), Slot{f::kNone, 0, 0, 0});
    const size_t mask = slots.size() - 1;
    for (const Slot& slot : slots_) {
      if (slot.id == f::kNone) continue;
      size_t i = Hash(slot.name, slot.call_file, slot.call_line) & mask;
      while (slots[i].id != f::kNone) i = (i + 1) & mask;
      slots[i] = slot;
    }
    slots_.swap(slots);
  }
  std::vector<Slot> slots_;
  std::vector<SiteRaw> sites_;
};

// One range of a FUNC (a FUNC longer than 4 GiB has several). Its line entries are varint-coded
// into the builder's stream as soon as the FUNC ends (`encoded`), unless one of them names a FILE
// id not seen yet: those stay in lines_ until every FILE record is known (Assemble).
struct Segment {
  uint64_t start;
  uint32_t line_begin, line_end;  // in lines_, when not encoded
  uint32_t inline_begin, inline_end;
  uint32_t lexc_begin, lexc_end;
  uint32_t iexc_begin, iexc_end;
  bool encoded;
  uint64_t stream_begin, stream_end;  // in stream_, when encoded
  uint32_t skip_begin, skip_end;      // in skips_, when encoded
};

struct FuncOut {
  uint64_t address, size;
  uint32_t name, flags;
  uint32_t seg_begin, seg_count;
};

struct PublicOut {
  uint64_t address;
  uint32_t name, flags;
};

struct PendingInline {
  int32_t call_line, call_file_id, origin_id;
  bool has_call_file;
  uint32_t range_begin, range_count;
};

// An inline node whose call site could not be resolved when it was emitted: its INLINE_ORIGIN or
// call-site FILE record comes later in the file (or never).
struct PendingSite {
  uint32_t node;
  int32_t origin_id, call_file_id, call_line;
  bool has_call_file;
};

// One node of the ContainedRangeMap emulation.
struct TreeNode {
  uint64_t base, high;
  uint32_t inline_index, range_index;
  std::pmr::map<uint64_t, uint32_t>* children;  // high -> node, or null
};

struct FlatNode {
  uint64_t start, high;  // clipped to the function
  uint32_t parent;       // FlatNode index or kNone
  uint32_t inline_index, range_index;
};

class Builder final : public SymVisitor {
 public:
  explicit Builder(const BuildOptions& options) : options_(options) {}

  Result<BuiltIndex> Build(std::string_view data) {
    BuiltIndex out;
    // Reserve address space for the line table (pages are touched only as lines arrive): no
    // regrowth copies on big files.
    // Line entries are coded into stream_ as their FUNC is read. The line stream takes 5-10 % of
    // the text (10.35 % for the inline-dense tiled input, 10.01 % for the other): room for 1/8,
    // so that it does not regrow (a copy, and the new buffer without huge pages).
    stream_.Reset(data.size() / 8 + 64);
    AdviseHugePages(stream_.data(), data.size() / 8 + 64);
    skips_.reserve(data.size() / 120);
    AdviseHugePages(skips_.data(), skips_.capacity() * sizeof(f::LineSkip));
    // FUNC records of typical files take 400-1500 bytes of text with their lines: room for four
    // times that density, so the per-FUNC tables do not regrow (copy, touch twice) on big files.
    const size_t funcs_expected = std::min<size_t>(data.size() / 256, size_t{1} << 24);
    funcs_.reserve(funcs_expected);
    AdviseHugePages(funcs_.data(), funcs_.capacity() * sizeof(FuncOut));
    segments_.reserve(funcs_expected);
    AdviseHugePages(segments_.data(), segments_.capacity() * sizeof(Segment));
    // Names, paths and metadata take a quarter of the text at most; FUNC-dense files have a
    // distinct string per 300-1000 bytes of text.
    strings_.Reserve(std::min<size_t>(data.size() / 4, size_t{1} << 32),
                     std::min<size_t>(data.size() / 512, size_t{1} << 26));
    nodes_.reserve(std::min<size_t>(data.size() / 48, size_t{1} << 27));
    AdviseHugePages(nodes_.data(), nodes_.capacity() * sizeof(f::InlineNode));
    node_starts_.reserve(nodes_.capacity());
    AdviseHugePages(node_starts_.data(), node_starts_.capacity() * sizeof(uint32_t));
    out.stats.parse = internal::ParseSymWith(data, *this, options_.parse);
    FinishFunc();
    if (too_large_)
      return TooLarge("symbol file has more records than the index format allows (2^32)");
    if (too_wide_)
      return TooLarge(
          "FUNC records cover more than 2^48 bytes of address space (a FUNC size near 2^64?)");
    return Assemble(data.size(), std::move(out));
  }

  void OnModule(const ModuleRecord& r) override {
    if (have_module_) return;
    have_module_ = true;
    module_os_ = InternString(r.os);
    module_arch_ = InternString(r.arch);
    module_id_ = InternString(r.id);
    module_name_ = InternString(r.name);
  }

  // After the last record, while the names the parser passed are still valid.
  void OnEnd() { FinishFunc(); }

  void OnCodeId(std::string_view code_id, std::string_view code_file) override {
    if (have_code_id_) return;
    have_code_id_ = true;
    code_id_ = InternString(code_id);
    if (!code_file.empty()) code_file_ = InternString(code_file);
  }

  void OnFile(const FileRecord& r) override {
    if (files_by_id_.Find(r.id) != f::kNone) return;
    uint32_t index = static_cast<uint32_t>(file_names_.size());
    file_names_.push_back(InternString(r.name));
    files_by_id_.InsertFirst(r.id, index);
  }

  void OnInlineOrigin(const InlineOriginRecord& r) override {
    if (origins_.Find(r.id) != f::kNone) return;
    origins_.InsertFirst(r.id, InternString(r.name));
  }

  void OnFunc(const FuncRecord& r) override {
    FinishFunc();
    last_nest_level_ = 0;
    cur_accepted_ = AcceptFunc(r.address, r.size);
    if (!cur_accepted_) return;
    cur_.address = r.address;
    cur_.size = r.size;
    // The name is interned when the FUNC ends (or before any other string): its slot is
    // prefetched meanwhile. String ids, and so the string data, keep the order of the file.
    cur_.name = f::kNone;
    pending_name_ = r.name;
    pending_hash_ = StringTable::Hash(r.name);
    name_pending_ = true;
    strings_.Prefetch(pending_hash_);
    cur_.flags = r.is_multiple ? f::kSymbolMultiple : 0;
    // Fast path: while line records come sorted, non-overlapping and inside the FUNC (what
    // dump_syms writes), they are written out as they arrive. Anything else falls back to
    // SelectLines/EmitLines.
    fast_lines_ = r.size <= kSegmentSpan;
    fast_unresolved_begin_ = unresolved_lines_.size();
    fast_have_prev_ = false;
    fast_stream_begin_ = stream_.size();
    fast_skip_begin_ = skips_.size();
    coder_.BeginRange();
  }

  // Inlined into the parse loop (the parser calls this final class directly). While a FUNC's line
  // records come sorted, non-overlapping, inside the FUNC and with known FILE ids (what dump_syms
  // writes), their entries are coded into the line stream as they arrive; anything else undoes
  // that and leaves the FUNC to SelectLines/EmitLines, which build the same entries.
  [[gnu::always_inline]] void OnLine(const LineRecord& r) override {
    if (!cur_accepted_) return;
    cur_lines_.push_back(r);
    if (!fast_lines_ || r.size == 0) return;  // Breakpad ignores size-0 records
    const uint64_t high = r.address + (r.size - 1);
    const uint64_t fs = cur_.address, fe = cur_.address + (cur_.size - 1);
    const uint32_t file = files_by_id_.Find(r.file_id);
    if (high < r.address || r.address < fs || high > fe ||
        (fast_have_prev_ && r.address <= fast_prev_high_) || file == f::kNone) {
      // Overflow, outside the FUNC, out of order or a FILE id not seen yet: the general path.
      fast_lines_ = false;
      stream_.Truncate(fast_stream_begin_);
      skips_.truncate(fast_skip_begin_);
      return;
    }
    if (fast_have_prev_ && r.address > fast_prev_high_ + 1) {
      coder_.Gap(static_cast<uint32_t>(fast_prev_high_ + 1 - fs));
    }
    coder_.Line(static_cast<uint32_t>(r.address - fs), r.line, file);
    fast_prev_high_ = high;
    fast_have_prev_ = true;
  }

  void OnInline(const InlineRecord& r) override {
    // Function::AppendInline: an INLINE nested deeper than its parent's level + 1 lost its parent.
    if (int64_t{r.nest_level} > int64_t{last_nest_level_} + 1) return;
    last_nest_level_ = r.nest_level;
    if (!cur_accepted_) return;
    PendingInline p{r.call_site_line,
                    r.call_site_file_id,
                    r.origin_id,
                    r.has_call_site_file,
                    static_cast<uint32_t>(cur_ranges_.size()),
                    static_cast<uint32_t>(r.ranges.size())};
    for (const AddressRange& range : r.ranges) cur_ranges_.push_back(range);
    cur_inlines_.push_back(p);
    // Its call site is interned when the FUNC ends (Site): start loading its slot now.
    const uint32_t name = origins_.Find(r.origin_id);
    const uint32_t file =
        r.has_call_site_file ? files_by_id_.Find(r.call_site_file_id) : f::kCallFileFromLine;
    if (name != f::kNone && file != f::kNone) site_table_.Prefetch(name, file, r.call_site_line);
  }

  bool OnPublic(const PublicRecord& r) override {
    FinishFunc();
    cur_accepted_ = false;
    if (r.address == 0) return true;
    if (publics_sorted_ && (publics_.empty() || r.address > publics_.back().address)) {
      // fast path: ascending addresses
    } else {
      if (publics_sorted_) {
        publics_sorted_ = false;
        for (const PublicOut& p : publics_) public_addresses_.insert(p.address);
      }
      if (!public_addresses_.insert(r.address).second) return false;
    }
    publics_.push_back(
        PublicOut{r.address, InternString(r.name), r.is_multiple ? f::kSymbolMultiple : 0u});
    return true;
  }

 private:
  bool AcceptFunc(uint64_t address, uint64_t size) {
    if (size == 0) return false;
    uint64_t high = address + (size - 1);
    if (high < address) return false;
    if (funcs_sorted_) {
      if (!have_last_func_ || address > last_func_high_) {
        have_last_func_ = true;
        last_func_high_ = high;
        return true;
      }
      funcs_sorted_ = false;
      for (const FuncOut& fo : funcs_) func_map_.emplace(fo.address + (fo.size - 1), fo.address);
      if (cur_accepted_) func_map_.emplace(cur_.address + (cur_.size - 1), cur_.address);
    }
    return ExclusiveInsert(func_map_, address, high);
  }

  // Interns the current FUNC's name if that is still to do.
  void FlushName() {
    if (!name_pending_) return;
    name_pending_ = false;
    cur_.name = strings_.Intern(pending_name_, pending_hash_);
  }

  uint32_t InternString(std::string_view s) {
    FlushName();
    return strings_.Intern(s);
  }

  // Resolves the current FUNC's lines and inlines and appends them to the output tables.
  void FinishFunc() {
    FlushName();
    if (!cur_accepted_) {
      cur_lines_.clear();
      cur_inlines_.clear();
      cur_ranges_.clear();
      return;
    }
    cur_accepted_ = false;
    const uint64_t fs = cur_.address;
    const uint64_t fe = cur_.address + (cur_.size - 1);
    extra_segments_ += (fe - fs) / kSegmentSpan;
    if (too_wide_ || extra_segments_ > kMaxExtraSegments) {
      too_wide_ = true;  // Build() fails; emit nothing more
      cur_lines_.clear();
      cur_inlines_.clear();
      cur_ranges_.clear();
      return;
    }
    const bool fast = fast_lines_;
    if (fast) {
      if (fast_have_prev_ && fast_prev_high_ < fe) {
        coder_.Gap(static_cast<uint32_t>(fast_prev_high_ + 1 - fs));
      }
    } else {
      SelectLines(fs, fe);
    }
    FlattenInlines(fs, fe);

    FuncOut out = cur_;
    out.seg_begin = static_cast<uint32_t>(segments_.size());
    size_t li = 0, ni_begin = 0;
    for (uint64_t ss = fs;; ss += kSegmentSpan) {
      uint64_t se = (fe - ss < kSegmentSpan) ? fe : ss + (kSegmentSpan - 1);
      Segment seg{};
      seg.start = ss;
      seg.line_begin = Count(lines_.size());
      seg.lexc_begin = Count(line_bases_.size());
      if (!fast) EmitLines(ss, se, &li);
      seg.line_end = Count(lines_.size());
      seg.lexc_end = Count(line_bases_.size());
      seg.inline_begin = Count(nodes_.size());
      seg.iexc_begin = Count(inline_bases_.size());
      EmitInlines(ss, se, &ni_begin);
      seg.inline_end = Count(nodes_.size());
      seg.iexc_end = Count(inline_bases_.size());
      segments_.push_back(seg);
      if (se == fe) break;
    }
    out.seg_count = Count(segments_.size()) - out.seg_begin;
    if (fast) {
      // One segment (fast_lines_ needs a FUNC of at most 4 GiB), coded already.
      Segment& seg = segments_[out.seg_begin];
      seg.encoded = true;
      seg.stream_begin = fast_stream_begin_;
      seg.stream_end = stream_.size();
      seg.skip_begin = Count(fast_skip_begin_);
      seg.skip_end = Count(skips_.size());
      line_count_ += coder_.count();
    } else if (unresolved_lines_.size() == fast_unresolved_begin_) {
      // Every FILE id resolved: code the lines now and drop them from lines_.
      const uint32_t line_begin = segments_[out.seg_begin].line_begin;
      const uint32_t lexc_begin = segments_[out.seg_begin].lexc_begin;
      for (uint32_t k = out.seg_begin; k < segments_.size(); ++k) {
        Segment& seg = segments_[k];
        seg.encoded = true;
        seg.stream_begin = stream_.size();
        seg.skip_begin = Count(skips_.size());
        size_t base_pos = seg.lexc_begin;
        EncodeLines(seg.start, seg.line_begin, seg.line_end, &base_pos, &stream_, &skips_);
        seg.stream_end = stream_.size();
        seg.skip_end = Count(skips_.size());
        line_count_ += seg.line_end - seg.line_begin;
      }
      lines_.resize(line_begin);
      line_bases_.resize(lexc_begin);
      for (uint32_t k = out.seg_begin; k < segments_.size(); ++k) {
        segments_[k].line_begin = segments_[k].line_end = line_begin;
        segments_[k].lexc_begin = segments_[k].lexc_end = lexc_begin;
      }
    }
    funcs_.push_back(out);
    cur_lines_.clear();
    cur_inlines_.clear();
    cur_ranges_.clear();
  }

  // File index of a line's FILE id, or kLineNoFile (remembered for a second look at the end).
  uint32_t ResolveLineFile(uint32_t line_index, int32_t file_id) {
    uint32_t file = files_by_id_.Find(file_id);
    if (file != f::kNone) return file;
    unresolved_lines_.emplace_back(line_index, file_id);
    return kRawLineNoFile;
  }

  uint32_t Count(size_t n) {
    if (n >= f::kNone - 1) too_large_ = true;
    return static_cast<uint32_t>(n);
  }

  // The function's line records that Breakpad keeps (earlier wins on overlap), clipped to [fs, fe],
  // sorted by address, into clipped_lines_.
  void SelectLines(uint64_t fs, uint64_t fe) {
    clipped_lines_.clear();
    selected_.clear();
    bool sorted = true;
    uint64_t prev_high = 0;
    for (uint32_t i = 0; i < cur_lines_.size(); ++i) {
      const LineRecord& l = cur_lines_[i];
      if (l.size == 0) continue;
      uint64_t high = l.address + (l.size - 1);
      if (high < l.address) continue;
      if (selected_.empty() || l.address > prev_high) {
        selected_.push_back(i);
        prev_high = high;
      } else {
        sorted = false;
        break;
      }
    }
    if (!sorted) {
      selected_.clear();
      std::map<uint64_t, uint64_t> m;
      std::map<uint64_t, uint32_t> index_by_high;
      for (uint32_t i = 0; i < cur_lines_.size(); ++i) {
        const LineRecord& l = cur_lines_[i];
        if (l.size == 0) continue;
        uint64_t high = l.address + (l.size - 1);
        if (high < l.address) continue;
        if (ExclusiveInsert(m, l.address, high)) index_by_high.emplace(high, i);
      }
      for (const auto& [high, i] : index_by_high) selected_.push_back(i);
    }
    for (uint32_t i : selected_) {
      const LineRecord& l = cur_lines_[i];
      uint64_t high = l.address + (l.size - 1);
      uint64_t s = std::max(l.address, fs), e = std::min(high, fe);
      if (s > e) continue;
      clipped_lines_.push_back(ClippedLine{s, e, l.address, l.line, l.file_id});
    }
  }

  void EmitLines(uint64_t ss, uint64_t se, size_t* li) {
    while (*li < clipped_lines_.size()) {
      const ClippedLine& c = clipped_lines_[*li];
      if (c.start > se) return;
      uint64_t s = std::max(c.start, ss), e = std::min(c.high, se);
      uint32_t index = Count(lines_.size());
      uint32_t offset = static_cast<uint32_t>(s - ss);
      uint32_t flags = 0;
      if (c.base != s) {
        flags = kRawLineBase;
        line_bases_.push_back(LineBaseRaw{index, 0, c.base});
      }
      lines_.push_back(LineRaw{offset, c.line, flags | ResolveLineFile(index, c.file_id)});
      bool next_adjacent =
          *li + 1 < clipped_lines_.size() && clipped_lines_[*li + 1].start == e + 1;
      if (e < se && !next_adjacent) {
        lines_.push_back(LineRaw{static_cast<uint32_t>(e + 1 - ss), 0, kRawLineGap});
      }
      if (c.high > se) return;  // continues in the next segment
      ++*li;
    }
  }

  // ContainedRangeMap::StoreRange (allow_equal_range = true) on the emulated tree.
  void StoreInlineRange(uint64_t base, uint64_t size, uint32_t inline_index, uint32_t range_index) {
    if (size == 0) return;
    uint64_t high = base + (size - 1);
    if (high < base) return;
    uint32_t cur = 0;
    for (;;) {
      auto* ch = tree_[cur].children;
      if (ch == nullptr) ch = tree_[cur].children = NewChildren();
      auto ib = ch->lower_bound(base);
      auto ih = ch->lower_bound(high);
      if (ib == ih && ib != ch->end() && base >= tree_[ib->second].base) {
        cur = ib->second;
        continue;
      }
      bool contains_high = ih != ch->end() && high >= tree_[ih->second].base;
      if ((ib != ch->end() && base > tree_[ib->second].base) ||
          (contains_high && high < tree_[ih->second].high)) {
        return;
      }
      if (contains_high) ++ih;
      uint32_t n = static_cast<uint32_t>(tree_.size());
      tree_.push_back(TreeNode{base, high, inline_index, range_index, nullptr});
      if (ib != ih) {
        auto* moved = NewChildren();
        moved->insert(ib, ih);
        ch->erase(ib, ih);
        tree_[n].children = moved;
      }
      ch->emplace(high, n);
      return;
    }
  }

  std::pmr::map<uint64_t, uint32_t>* NewChildren() {
    return new (tree_pool_.allocate(sizeof(std::pmr::map<uint64_t, uint32_t>),
                                    alignof(std::pmr::map<uint64_t, uint32_t>)))
        std::pmr::map<uint64_t, uint32_t>(&tree_pool_);
  }

  // FlattenInlines without the tree, for the usual case where no two stored ranges partly
  // overlap. Then ContainedRangeMap's tree does not depend on the insertion order, except that a
  // range equal to an earlier one nests inside it: sorted by (base ascending, high descending,
  // insertion order), a stack sweep yields the same tree, already in pre-order. Returns false on a
  // partial overlap (where the order decides which range is rejected): the emulation runs then.
  bool FlattenNested(uint64_t fs, uint64_t fe) {
    sorted_ranges_.clear();
    for (uint32_t i = 0; i < cur_inlines_.size(); ++i) {
      const PendingInline& p = cur_inlines_[i];
      for (uint32_t k = 0; k < p.range_count; ++k) {
        const AddressRange& r = cur_ranges_[p.range_begin + k];
        if (r.size == 0) continue;
        const uint64_t high = r.address + (r.size - 1);
        if (high < r.address) continue;
        // Equal ranges keep their insertion order (seq: the order of sorted_ranges_ as filled).
        sorted_ranges_.push_back(
            SortedRange{r.address, high, i, k, static_cast<uint32_t>(sorted_ranges_.size())});
      }
    }
    const auto before = [](const SortedRange& a, const SortedRange& b) {
      if (a.base != b.base) return a.base < b.base;
      return a.high != b.high ? a.high > b.high : a.seq < b.seq;
    };
    SortedRange* const first = sorted_ranges_.begin();
    const size_t count = sorted_ranges_.size();
    if (count <= 32) {
      // A function's few ranges, mostly in order already (INLINE records come in pre-order):
      // insertion sort, no call.
      for (size_t i = 1; i < count; ++i) {
        if (!before(first[i], first[i - 1])) continue;
        const SortedRange r = first[i];
        size_t j = i;
        for (; j > 0 && before(r, first[j - 1]); --j) first[j] = first[j - 1];
        first[j] = r;
      }
    } else {
      std::sort(first, first + count, before);
    }
    open_.clear();  // the enclosing ranges of the current one, outermost first
    for (const SortedRange& r : sorted_ranges_) {
      while (!open_.empty() && open_.back().high < r.base) open_.pop_back();
      if (!open_.empty() && r.high > open_.back().high) return false;  // partial overlap
      const uint32_t parent = open_.empty() ? f::kNone : open_.back().flat;
      const uint64_t s = std::max(r.base, fs), e = std::min(r.high, fe);
      uint32_t flat = f::kNone;  // outside the function: so is everything inside it
      if (s <= e) {
        flat = static_cast<uint32_t>(flat_.size());
        flat_.push_back(FlatNode{s, e, parent, r.inline_index, r.range_index});
      }
      open_.push_back(OpenRange{r.high, flat});
    }
    return true;
  }

  // Builds the inline tree of the current function and lists it in pre-order, clipped to [fs, fe].
  void FlattenInlines(uint64_t fs, uint64_t fe) {
    flat_.clear();
    if (cur_inlines_.empty() || (!options_.emulate_inline_tree && FlattenNested(fs, fe))) return;
    flat_.clear();
    tree_.clear();
    tree_.push_back(TreeNode{0, kU64Max, 0, 0, nullptr});
    for (uint32_t i = 0; i < cur_inlines_.size(); ++i) {
      const PendingInline& p = cur_inlines_[i];
      for (uint32_t k = 0; k < p.range_count; ++k) {
        const AddressRange& r = cur_ranges_[p.range_begin + k];
        StoreInlineRange(r.address, r.size, i, k);
      }
    }
    // Iterative pre-order walk: (node, flat index of its parent).
    stack_.clear();
    auto push_children = [&](uint32_t node, uint32_t flat_parent) {
      auto* ch = tree_[node].children;
      if (ch == nullptr) return;
      for (auto it = ch->rbegin(); it != ch->rend(); ++it)
        stack_.push_back({it->second, flat_parent});
    };
    push_children(0, f::kNone);
    while (!stack_.empty()) {
      auto [node, parent] = stack_.back();
      stack_.pop_back();
      const TreeNode& t = tree_[node];
      uint64_t s = std::max(t.base, fs), e = std::min(t.high, fe);
      if (s > e) continue;  // outside the function: unreachable, and so is everything inside it
      uint32_t flat = static_cast<uint32_t>(flat_.size());
      flat_.push_back(FlatNode{s, e, parent, t.inline_index, t.range_index});
      push_children(node, flat);
    }
    for (TreeNode& t : tree_) {
      if (t.children != nullptr) t.children->~map();
    }
    tree_.clear();
    tree_pool_.release();
  }

  // The InlineSites index of node `index`'s (origin name, call file, call line), numbered in the
  // order nodes are emitted; 0 and a PendingSite when the origin or call-site FILE record has not
  // been read yet (Assemble resolves and numbers those).
  uint32_t Site(uint32_t index, const PendingInline& p) {
    const uint32_t name = origins_.Find(p.origin_id);
    const uint32_t file =
        p.has_call_file ? files_by_id_.Find(p.call_file_id) : f::kCallFileFromLine;
    if (name == f::kNone || file == f::kNone) {
      pending_sites_.push_back(
          PendingSite{index, p.origin_id, p.call_file_id, p.call_line, p.has_call_file});
      return 0;
    }
    return site_table_.Intern(name, file, p.call_line);
  }

  void EmitInlines(uint64_t ss, uint64_t se, size_t* /*unused*/) {
    if (flat_.empty()) return;
    if (ss == cur_.address) inline_site_.assign(cur_inlines_.size(), f::kNone);
    emitted_.assign(flat_.size(), f::kNone);
    for (uint32_t i = 0; i < flat_.size(); ++i) {
      const FlatNode& fn = flat_[i];
      uint64_t s = std::max(fn.start, ss), e = std::min(fn.high, se);
      if (s > e) continue;
      uint32_t index = Count(nodes_.size());
      emitted_[i] = index;
      const PendingInline& p = cur_inlines_[fn.inline_index];
      uint32_t parent = fn.parent == f::kNone ? f::kNone : emitted_[fn.parent];
      // function_base: the first listed range of the INLINE that contains the address.
      const AddressRange& own = cur_ranges_[p.range_begin + fn.range_index];
      uint64_t own_high = own.address + (own.size - 1);
      bool simple = true;
      for (uint32_t k = 0; k < fn.range_index && simple; ++k) {
        const AddressRange& r = cur_ranges_[p.range_begin + k];
        if (r.size == 0) continue;
        uint64_t end = r.address + r.size;  // Breakpad compares address < first + second (wrapping)
        if (end < r.address) {
          simple = false;
        } else if (r.address <= own_high && end > own.address) {
          simple = false;
        }
      }
      uint32_t flags = 0;
      if (!simple || own.address != s) {
        flags = f::kInlineBaseFlag;
        uint32_t first = simple ? fn.range_index : 0;
        uint32_t range_begin = Count(inline_ranges_.size());
        for (uint32_t k = first; k <= fn.range_index; ++k) {
          const AddressRange& r = cur_ranges_[p.range_begin + k];
          inline_ranges_.push_back(f::InlineRange{r.address, r.size});
        }
        inline_bases_.push_back(
            f::InlineBaseException{index, range_begin, fn.range_index - first + 1, 0});
      }
      // The nodes of one INLINE (one per range) share its site: looked up once.
      uint32_t& site = inline_site_[fn.inline_index];
      if (site == f::kNone) {
        const size_t pending = pending_sites_.size();
        const uint32_t found = Site(index, p);
        if (pending_sites_.size() != pending) {
          flags |= found;  // pending: numbered at Assemble, per node
        } else {
          site = found;
        }
      }
      if (site != f::kNone) flags |= site;
      node_starts_.push_back(static_cast<uint32_t>(s - ss));
      nodes_.push_back(f::InlineNode{static_cast<uint32_t>(e - ss), parent, flags});
    }
  }

  // Numbers the call sites again in node order (the old table gives the tuples of the sites it
  // holds), resolving the pending ones: an origin that never came is "<name omitted>", a call-site
  // FILE id that never came is "the line record's file".
  void RenumberSites() {
    SiteTable renumbered;
    uint32_t omitted = f::kNone;
    size_t next_pending = 0;
    for (uint32_t i = 0; i < nodes_.size(); ++i) {
      f::InlineNode& node = nodes_[i];
      uint32_t site;
      if (next_pending < pending_sites_.size() && pending_sites_[next_pending].node == i) {
        const PendingSite& p = pending_sites_[next_pending++];
        uint32_t name = origins_.Find(p.origin_id);
        if (name == f::kNone) {
          if (omitted == f::kNone) omitted = InternString("<name omitted>");
          name = omitted;
        }
        const uint32_t file = p.has_call_file ? files_by_id_.Find(p.call_file_id) : f::kNone;
        site = renumbered.Intern(name, file == f::kNone ? f::kCallFileFromLine : file, p.call_line);
      } else {
        const SiteRaw& old = site_table_.sites()[node.site & f::kSiteMask];
        site = renumbered.Intern(old.name, old.call_file, old.call_line);
      }
      node.site = (node.site & f::kInlineBaseFlag) | site;
    }
    site_table_ = std::move(renumbered);
  }

  // Puts function blocks in address order (they are already, unless FUNCs came out of order).
  void SortBlocks() {
    bool sorted = true;
    for (size_t i = 1; i < funcs_.size() && sorted; ++i)
      sorted = funcs_[i - 1].address < funcs_[i].address;
    if (sorted) return;
    std::sort(funcs_.begin(), funcs_.end(),
              [](const FuncOut& a, const FuncOut& b) { return a.address < b.address; });
    std::vector<LineRaw> lines;
    std::vector<LineBaseRaw> line_bases;
    std::vector<uint32_t> node_starts;
    std::vector<f::InlineNode> nodes;
    std::vector<uint32_t> node_map(pending_sites_.empty() ? 0 : nodes_.size());
    std::vector<f::InlineBaseException> inline_bases;
    std::vector<Segment> segments;
    lines.reserve(lines_.size());
    nodes.reserve(nodes_.size());
    node_starts.reserve(nodes_.size());
    for (FuncOut& fo : funcs_) {
      uint32_t seg_begin = static_cast<uint32_t>(segments.size());
      for (uint32_t k = 0; k < fo.seg_count; ++k) {
        Segment s = segments_[fo.seg_begin + k];
        Segment n = s;
        n.line_begin = static_cast<uint32_t>(lines.size());
        n.inline_begin = static_cast<uint32_t>(nodes.size());
        int64_t line_shift = int64_t{n.line_begin} - s.line_begin;
        int64_t node_shift = int64_t{n.inline_begin} - s.inline_begin;
        lines.insert(lines.end(), lines_.begin() + s.line_begin, lines_.begin() + s.line_end);
        for (uint32_t x = s.lexc_begin; x < s.lexc_end; ++x) {
          LineBaseRaw e = line_bases_[x];
          e.line_index = static_cast<uint32_t>(e.line_index + line_shift);
          line_bases.push_back(e);
        }
        for (uint32_t x = s.inline_begin; x < s.inline_end; ++x) {
          f::InlineNode node = nodes_[x];
          if (node.parent != f::kNone)
            node.parent = static_cast<uint32_t>(node.parent + node_shift);
          if (!node_map.empty()) node_map[x] = static_cast<uint32_t>(nodes.size());
          nodes.push_back(node);
          node_starts.push_back(node_starts_[x]);
        }
        for (uint32_t x = s.iexc_begin; x < s.iexc_end; ++x) {
          f::InlineBaseException e = inline_bases_[x];
          e.node_index = static_cast<uint32_t>(e.node_index + node_shift);
          inline_bases.push_back(e);
        }
        n.line_end = static_cast<uint32_t>(lines.size());
        n.inline_end = static_cast<uint32_t>(nodes.size());
        segments.push_back(n);
      }
      fo.seg_begin = seg_begin;
    }
    lines_.swap(lines);
    line_bases_.swap(line_bases);
    nodes_.swap(nodes);
    node_starts_.swap(node_starts);
    for (PendingSite& pending : pending_sites_) pending.node = node_map[pending.node];
    std::sort(pending_sites_.begin(), pending_sites_.end(),
              [](const PendingSite& a, const PendingSite& b) { return a.node < b.node; });
    sites_in_node_order_ = false;
    inline_bases_.swap(inline_bases);
    segments_.swap(segments);
  }

  // 16 bytes (a tiled 200 MB input has 400 k of them); a range's first inline node is its
  // segment's, or where the previous FUNC range's ended (written out with RangeEntries).
  struct Range {
    uint64_t start;
    uint32_t symbol;
    uint32_t seg;  // the FUNC segment it is, or kNone
  };

  // Breakpad's lookup as a piecewise-constant map: a FUNC covering the address wins, else the
  // nearest PUBLIC at or below it if that is above the nearest FUNC's start.
  std::vector<Range> Sweep(std::vector<f::SymbolRecord>* symbols) {
    std::sort(publics_.begin(), publics_.end(),
              [](const PublicOut& a, const PublicOut& b) { return a.address < b.address; });
    std::vector<uint32_t> public_symbol(publics_.size(), f::kNone);
    symbols->reserve(funcs_.size() + publics_.size());
    AdviseHugePages(symbols->data(), symbols->capacity() * sizeof(f::SymbolRecord));
    for (const FuncOut& fo : funcs_)
      symbols->push_back(f::SymbolRecord{fo.address, fo.name, fo.flags});
    std::vector<Range> out;
    out.reserve(2 * (segments_.size() + publics_.size()) + 1);
    AdviseHugePages(out.data(), out.capacity() * sizeof(Range));
    size_t fi = 0;  // next function whose start is > current point
    size_t pi = 0;  // next public whose address is > current point
    long cur_f = -1, cur_p = -1;
    // Candidate points from functions, generated lazily in ascending order.
    size_t gf = 0, gseg = 0;
    bool g_end = false;  // next candidate of function gf is its end + 1
    auto next_func_point = [&](uint64_t* at) -> bool {
      while (gf < funcs_.size()) {
        const FuncOut& fo = funcs_[gf];
        if (!g_end) {
          *at = segments_[fo.seg_begin + gseg].start;
          if (++gseg == fo.seg_count) g_end = true;
          return true;
        }
        uint64_t high = fo.address + (fo.size - 1);
        ++gf;
        gseg = 0;
        g_end = false;
        if (high != kU64Max) {
          *at = high + 1;
          return true;
        }
      }
      return false;
    };
    uint64_t fpoint = 0;
    bool have_f = next_func_point(&fpoint);
    uint32_t prev_symbol = f::kNone - 1;  // impossible value: forces the first entry
    int64_t prev_seg = -2;
    while (have_f || pi < publics_.size()) {
      uint64_t b;
      if (have_f && (pi >= publics_.size() || fpoint <= publics_[pi].address)) {
        b = fpoint;
      } else {
        b = publics_[pi].address;
      }
      while (have_f && fpoint <= b) have_f = next_func_point(&fpoint);
      while (fi < funcs_.size() && funcs_[fi].address <= b) cur_f = static_cast<long>(fi++);
      while (pi < publics_.size() && publics_[pi].address <= b) cur_p = static_cast<long>(pi++);
      uint32_t symbol = f::kNone;
      int64_t seg = -1;
      if (cur_f >= 0) {
        const FuncOut& fo = funcs_[cur_f];
        if (b - fo.address < fo.size) {
          symbol = static_cast<uint32_t>(cur_f);
          seg = static_cast<int64_t>(fo.seg_begin + (b - fo.address) / kSegmentSpan);
        }
      }
      if (symbol == f::kNone && cur_p >= 0 &&
          (cur_f < 0 || publics_[cur_p].address > funcs_[cur_f].address)) {
        if (public_symbol[cur_p] == f::kNone) {
          public_symbol[cur_p] = Count(symbols->size());
          const PublicOut& p = publics_[cur_p];
          symbols->push_back(f::SymbolRecord{p.address, p.name, p.flags | f::kSymbolPublic});
        }
        symbol = public_symbol[cur_p];
      }
      if (symbol == prev_symbol && seg == prev_seg) continue;
      prev_symbol = symbol;
      prev_seg = seg;
      if (out.empty() && symbol == f::kNone) continue;  // nothing below the first symbol
      out.push_back(Range{b, symbol, seg >= 0 ? static_cast<uint32_t>(seg) : f::kNone});
    }
    return out;
  }

  // Varint-codes the line entries lines_[begin, end) of the range starting at `range_start` into
  // `stream`, with a restart point in `skips` every kLineSkipEvery entries. `base_pos` walks
  // line_bases_ (sorted by line index) along with the ranges.
  void EncodeLines(uint64_t range_start, uint32_t begin, uint32_t end, size_t* base_pos,
                   ByteSink* stream, PodVector<f::LineSkip>* skips) {
    LineCoder coder(stream, skips);
    coder.BeginRange();
    for (uint32_t j = begin; j < end; ++j) {
      const LineRaw& l = lines_[j];
      const uint32_t file = l.file & ~kRawLineBase;
      if (file == kRawLineGap) {
        coder.Gap(l.offset);
        continue;
      }
      bool has_base = false;
      uint64_t base_distance = 0;
      if (l.file & kRawLineBase) {
        while (*base_pos < line_bases_.size() && line_bases_[*base_pos].line_index < j) ++*base_pos;
        if (*base_pos < line_bases_.size() && line_bases_[*base_pos].line_index == j) {
          has_base = true;
          base_distance = range_start + l.offset - line_bases_[*base_pos].base;
        }
      }
      coder.Line(l.offset, l.line, file, has_base, base_distance);
    }
  }

  Result<BuiltIndex> Assemble(uint64_t source_size, BuiltIndex out) {
    // Line records that named a FILE id not defined before them: look again now that every record
    // has been read (a FILE record may come after the lines using it).
    for (const auto& [index, id] : unresolved_lines_) {
      uint32_t file = files_by_id_.Find(id);
      if (file != f::kNone) lines_[index].file = (lines_[index].file & kRawLineBase) | file;
    }
    SortBlocks();
    // Call sites are numbered by first use in node order. Emission numbered them already when the
    // FUNCs came in address order and every origin and call-site FILE was known by then;
    // otherwise they are numbered again here, those not known then resolved now.
    if (!sites_in_node_order_ || !pending_sites_.empty()) RenumberSites();
    const SiteTable& site_table = site_table_;
    if (site_table.sites().size() > f::kSiteMask) too_large_ = true;
    std::vector<f::SymbolRecord> symbols;
    std::vector<Range> ranges = Sweep(&symbols);
    Count(ranges.size() + 1);
    Count(strings_.count() + 1);
    if (strings_.data().size() > f::kNone) too_large_ = true;
    if (too_large_)
      return TooLarge("symbol file has more records than the index format allows (2^32)");
    // String ids become (offset, size) references now that the string data is complete.
    for (f::SymbolRecord& sym : symbols) {
      const f::StringRef name = strings_.Ref(sym.name_offset);
      if (name.size > f::kSymbolNameSizeMask) return TooLarge("a symbol name of 1 GiB or more");
      sym.name_offset = name.offset;
      sym.name_size_flags |= name.size;
    }
    std::vector<f::InlineSite> sites;
    sites.reserve(site_table.sites().size());
    for (const SiteRaw& site : site_table.sites())
      sites.push_back(f::InlineSite{strings_.Ref(site.name), site.call_file, site.call_line});
    std::vector<f::StringRef> files;
    files.reserve(file_names_.size());
    for (uint32_t id : file_names_) files.push_back(strings_.Ref(id));

    // Line entries, varint-coded per range (docs/symbol-index-format.md), in range order. When
    // every FUNC's lines were coded as it ended and the FUNCs came in address order (what dump_syms
    // writes), stream_ already is that order; else the stream is put together again here.
    if (stream_.size() > f::kNone) return TooLarge("line table larger than 4 GiB");
    bool in_place = true;
    uint64_t pos = 0;
    uint32_t skip_pos = 0;
    for (const Range& r : ranges) {
      if (r.seg == f::kNone) continue;
      const Segment& seg = segments_[r.seg];
      if (!seg.encoded || seg.stream_begin != pos || seg.skip_begin != skip_pos) {
        in_place = false;
        break;
      }
      pos = seg.stream_end;
      skip_pos = seg.skip_end;
    }
    in_place = in_place && pos == stream_.size() && skip_pos == skips_.size();
    ByteSink rebuilt(in_place ? 0 : stream_.size() + lines_.size() * 4 + 64);
    PodVector<f::LineSkip> rebuilt_skips;
    ByteSink& stream = in_place ? stream_ : rebuilt;
    PodVector<f::LineSkip>& skips = in_place ? skips_ : rebuilt_skips;
    // Out of place (FUNCs out of order, lines coded late), the stream is put together again here
    // and each range's (stream, skip) position recorded; in place, each range's lines start where
    // the previous FUNC range's ended.
    std::vector<std::pair<uint32_t, uint32_t>> rebuilt_pos;
    if (!in_place) {
      rebuilt_pos.reserve(ranges.size());
      size_t base_pos = 0;
      for (const Range& r : ranges) {
        rebuilt_pos.emplace_back(static_cast<uint32_t>(stream.size()),
                                 static_cast<uint32_t>(skips.size()));
        if (r.seg == f::kNone) continue;
        const Segment& seg = segments_[r.seg];
        if (seg.encoded) {
          const uint64_t begin = stream.size(), bytes = seg.stream_end - seg.stream_begin;
          char* p = stream.Room(bytes);
          std::memcpy(p, stream_.data() + seg.stream_begin, bytes);
          stream.Commit(p + bytes);
          for (uint32_t k = seg.skip_begin; k < seg.skip_end; ++k) {
            f::LineSkip skip = skips_[k];
            skip.pos = static_cast<uint32_t>(skip.pos - seg.stream_begin + begin);
            skips.push_back(skip);
          }
        } else {
          EncodeLines(r.start, seg.line_begin, seg.line_end, &base_pos, &stream, &skips);
          line_count_ += seg.line_end - seg.line_begin;
        }
        if (stream.size() > f::kNone) return TooLarge("line table larger than 4 GiB");
      }
    }
    if (skips.size() >= f::kNone) return TooLarge("too many line restart points");
    const auto range_start = [&ranges](size_t i) { return ranges[i].start; };
    const uint32_t direct_shift =
        ranges.empty() ? 0 : DirectShift(ranges.front().start, ranges.back().start, ranges.size());
    const uint64_t direct_entries =
        ranges.empty() ? 0
                       : DirectBuckets(ranges.front().start, ranges.back().start, direct_shift) + 1;

    f::Header h{};
    std::memcpy(h.magic, f::kMagic, sizeof(h.magic));
    h.version = f::kIndexVersion;
    h.header_size = sizeof(f::Header);
    h.source_size = source_size;
    h.section_count = f::kSectionCount;
    h.module_os = strings_.Ref(module_os_);
    h.module_arch = strings_.Ref(module_arch_);
    h.module_id = strings_.Ref(module_id_);
    h.module_name = strings_.Ref(module_name_);
    h.code_id = strings_.Ref(code_id_);
    h.code_file = strings_.Ref(code_file_);
    h.parse_errors = out.stats.parse.errors;
    h.source_lines = out.stats.parse.lines;
    h.func_count = funcs_.size();
    h.public_count = publics_.size();
    h.string_bytes = strings_.data().size();
    h.direct_shift = direct_shift;

    std::string& bytes = out.bytes;
    auto vbytes = [](const auto& v) { return v.size() * sizeof(v[0]); };
    bytes.reserve(sizeof(f::Header) + 8 * (f::kSectionCount + 1) + vbytes(symbols) +
                  ranges.size() * (sizeof(uint64_t) + sizeof(f::RangeEntry)) +
                  sizeof(f::RangeEntry) + direct_entries * sizeof(uint32_t) + stream.size() +
                  vbytes(skips) + vbytes(node_starts_) + vbytes(nodes_) + vbytes(sites) +
                  vbytes(inline_bases_) + vbytes(inline_ranges_) + vbytes(files) +
                  strings_.data().size());
    AdviseHugePages(bytes.data(), bytes.capacity());
    bytes.assign(sizeof(f::Header), '\0');
    auto add = [&](f::Section s, const void* data, size_t size) {
      bytes.resize((bytes.size() + 7) & ~size_t{7}, '\0');
      h.section_sizes[s] = size;
      bytes.append(static_cast<const char*>(data), size);
    };
    auto add_vec = [&](f::Section s, const auto& v) { add(s, v.data(), v.size() * sizeof(v[0])); };
    // A section written record by record (SectionWriter) from the next 8-byte boundary.
    auto add_with = [&](f::Section s, const auto& write) {
      bytes.resize((bytes.size() + 7) & ~size_t{7}, '\0');
      const size_t at = bytes.size();
      write();
      h.section_sizes[s] = bytes.size() - at;
    };
    add_vec(f::kSymbols, symbols);
    add_with(f::kRangeStarts, [&] {
      SectionWriter<uint64_t> w(&bytes);
      for (const Range& r : ranges) w.push_back(r.start);
    });
    add_with(f::kRangeEntries, [&] {
      SectionWriter<f::RangeEntry> w(&bytes);
      uint32_t line_at = 0, skip_at = 0, inline_at = 0;
      for (size_t i = 0; i < ranges.size(); ++i) {
        const Range& r = ranges[i];
        if (!in_place) std::tie(line_at, skip_at) = rebuilt_pos[i];
        const Segment* seg = r.seg == f::kNone ? nullptr : &segments_[r.seg];
        if (seg != nullptr) inline_at = seg->inline_begin;
        w.push_back(f::RangeEntry{r.symbol, line_at, skip_at, inline_at});
        if (seg != nullptr) {
          inline_at = seg->inline_end;
          if (in_place) {
            line_at = static_cast<uint32_t>(seg->stream_end);
            skip_at = seg->skip_end;
          }
        }
      }
      w.push_back(f::RangeEntry{f::kNone, static_cast<uint32_t>(stream.size()),
                                static_cast<uint32_t>(skips.size()),
                                static_cast<uint32_t>(nodes_.size())});
    });
    add_with(f::kRangeDirect, [&] {
      if (ranges.empty()) return;
      SectionWriter<uint32_t> w(&bytes);
      WriteDirectTable(ranges.size(), range_start, direct_shift, &w);
    });
    add(f::kLineStream, stream.data(), stream.size());
    add_vec(f::kLineSkips, skips);
    add_vec(f::kInlineStarts, node_starts_);
    add_vec(f::kInlines, nodes_);
    add_vec(f::kInlineSites, sites);
    add_vec(f::kInlineBases, inline_bases_);
    add_vec(f::kInlineRanges, inline_ranges_);
    add_vec(f::kFiles, files);
    // The string data goes last: it is compressed straight into the file (no buffer of its own).
    bytes.resize((bytes.size() + 7) & ~size_t{7}, '\0');
    const size_t strings_at = bytes.size();
    bytes.resize(strings_at + strings_.data().size() - strings_.data().size() / 8);
    const size_t deflated =
        DeflateStrings(strings_.data(), options_.string_deflate_level, bytes.data() + strings_at);
    bytes.resize(strings_at + deflated);
    if (deflated != 0) {
      h.flags |= f::kStringsDeflated;
      h.section_sizes[f::kStringData] = deflated;
    } else {
      add(f::kStringData, strings_.data().data(), strings_.data().size());
    }
    bytes.resize((bytes.size() + 7) & ~size_t{7}, '\0');
    h.file_size = bytes.size();
    std::memcpy(bytes.data(), &h, sizeof(h));
    uint32_t crc = static_cast<uint32_t>(libdeflate_crc32(0, bytes.data(), bytes.size()));
    std::memcpy(bytes.data() + offsetof(f::Header, checksum), &crc, sizeof(crc));

    out.stats.funcs = funcs_.size();
    out.stats.publics = publics_.size();
    out.stats.lines = line_count_;
    out.stats.inline_nodes = nodes_.size();
    out.stats.strings = strings_.count();
    out.stats.index_bytes = bytes.size();
    return out;
  }

  struct ClippedLine {
    uint64_t start, high, base;
    int32_t line, file_id;
  };

  BuildOptions options_;
  bool too_large_ = false;
  bool too_wide_ = false;        // FUNCs span more than kMaxExtraSegments extra segments
  uint64_t extra_segments_ = 0;  // segments beyond the first, summed over FUNCs
  StringTable strings_;
  IdMap files_by_id_;
  std::vector<uint32_t> file_names_;  // file index -> string id
  IdMap origins_;                     // origin id -> string id

  bool have_module_ = false, have_code_id_ = false;
  uint32_t module_os_ = f::kNone, module_arch_ = f::kNone, module_id_ = f::kNone,
           module_name_ = f::kNone;
  uint32_t code_id_ = f::kNone, code_file_ = f::kNone;

  // FUNC acceptance (Breakpad's RangeMap over all functions).
  bool funcs_sorted_ = true, have_last_func_ = false;
  uint64_t last_func_high_ = 0;
  std::map<uint64_t, uint64_t> func_map_;

  // The FUNC being read.
  bool fast_lines_ = false, fast_have_prev_ = false;
  uint64_t fast_prev_high_ = 0;
  size_t fast_unresolved_begin_ = 0;
  size_t fast_stream_begin_ = 0, fast_skip_begin_ = 0;  // the FUNC's first coded entry
  bool cur_accepted_ = false;
  FuncOut cur_{};
  bool name_pending_ = false;  // cur_'s name not interned yet
  std::string_view pending_name_;
  uint32_t pending_hash_ = 0;
  int32_t last_nest_level_ = 0;
  PodVector<LineRecord> cur_lines_;  // every line record of the FUNC, for the general path
  PodVector<PendingInline> cur_inlines_;
  PodVector<AddressRange> cur_ranges_;

  // Scratch.
  std::vector<uint32_t> selected_;
  std::vector<ClippedLine> clipped_lines_;
  std::pmr::monotonic_buffer_resource tree_pool_;
  std::vector<TreeNode> tree_;
  std::vector<std::pair<uint32_t, uint32_t>> stack_;
  PodVector<FlatNode> flat_;
  PodVector<uint32_t> emitted_;
  PodVector<uint32_t> inline_site_;  // per INLINE of the FUNC: its site once emitted, or kNone
  struct SortedRange {
    uint64_t base, high;
    uint32_t inline_index, range_index, seq;
  };
  PodVector<SortedRange> sorted_ranges_;
  struct OpenRange {
    uint64_t high;
    uint32_t flat;  // flat index or kNone
  };
  PodVector<OpenRange> open_;

  // Output.
  std::vector<FuncOut> funcs_;
  std::vector<Segment> segments_;
  std::vector<LineRaw> lines_;  // of the FUNC being read, and of FUNCs not coded yet
  ByteSink stream_{0};          // coded line entries of the FUNCs read so far
  PodVector<f::LineSkip> skips_;
  LineCoder coder_{&stream_, &skips_};  // the current FUNC's entries on the fast path
  uint64_t line_count_ = 0;
  std::vector<std::pair<uint32_t, int32_t>>
      unresolved_lines_;  // line index, FILE id not yet defined
  std::vector<LineBaseRaw> line_bases_;
  std::vector<uint32_t> node_starts_;  // InlineStarts
  std::vector<f::InlineNode> nodes_;   // Inlines; sites numbered by site_table_ or pending
  SiteTable site_table_;
  std::vector<PendingSite> pending_sites_;  // by node index
  bool sites_in_node_order_ = true;         // false once SortBlocks reordered the nodes
  std::vector<f::InlineBaseException> inline_bases_;
  std::vector<f::InlineRange> inline_ranges_;
  bool publics_sorted_ = true;
  std::unordered_set<uint64_t> public_addresses_;
  std::vector<PublicOut> publics_;
};

}  // namespace

Result<BuiltIndex> BuildIndex(std::string_view sym_data, const BuildOptions& options) {
  auto builder = std::make_unique<Builder>(options);
  return builder->Build(sym_data);
}

Status WriteIndexFile(const std::string& path, std::string_view bytes) {
  static std::atomic<uint64_t> counter{0};
  std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Internal("creating " + tmp + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return Internal("writing " + tmp + ": " + std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Internal("writing " + tmp + ": " + std::strerror(err));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Internal("renaming " + tmp + ": " + std::strerror(err));
  }
  return Status::Ok();
}

}  // namespace sigil::symbolication
