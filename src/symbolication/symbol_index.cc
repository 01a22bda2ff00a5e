#include "symbolication/symbol_index.h"

#include <fcntl.h>
#include <libdeflate.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>

namespace sigil::symbolication {
namespace {

namespace f = format;

Status Corrupt(const std::string& what) { return InvalidArgument("invalid symbol index: " + what); }

// First index in [lo, hi) whose key is > x (keys ascending). Branch-free halving (the compiler
// emits conditional moves), so the search costs memory latency but no mispredictions.
template <typename Key, typename GetKey>
inline uint64_t UpperBound(uint64_t lo, uint64_t hi, Key x, GetKey key) {
  uint64_t n = hi - lo;
  if (n == 0) return lo;
  uint64_t base = lo;
  while (n > 1) {
    uint64_t half = n / 2;
    base = (key(base + half) <= x) ? base + half : base;
    n -= half;
  }
  return base + (key(base) <= x ? 1 : 0);
}

// UpperBound over a plain u64 array, prefetching both possible next probes (memory-level
// parallelism for indexes larger than the cache).
inline uint64_t UpperBoundU64(const uint64_t* keys, uint64_t lo, uint64_t hi, uint64_t x) {
  uint64_t n = hi - lo;
  if (n == 0) return lo;
  const uint64_t* base = keys + lo;
  while (n > 1) {
    uint64_t half = n / 2;
    __builtin_prefetch(base + (n - half) / 2);
    __builtin_prefetch(base + half + (n - half) / 2);
    base = (base[half] <= x) ? base + half : base;
    n -= half;
  }
  return static_cast<uint64_t>(base - keys) + (*base <= x ? 1 : 0);
}

}  // namespace

void LookupResult::Clear() {
  found = false;
  function = {};
  function_base = 0;
  is_multiple = false;
  is_public = false;
  file = {};
  line = 0;
  has_line_record = false;
  line_base = 0;
  inlines.clear();
}

SymbolIndex::~SymbolIndex() {
  if (map_ != nullptr) ::munmap(map_, size_);
}

Result<std::unique_ptr<SymbolIndex>> SymbolIndex::Open(const std::string& path,
                                                       const OpenOptions& options) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound("symbol index not found: " + path);
    return Internal("opening " + path + ": " + std::strerror(errno));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return Internal("stat " + path + ": " + std::strerror(err));
  }
  if (st.st_size < static_cast<off_t>(sizeof(f::Header))) {
    ::close(fd);
    return Corrupt(path + " is too small (" + std::to_string(st.st_size) + " bytes)");
  }
  void* map = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return Internal("mmap " + path + ": " + std::strerror(errno));
  std::unique_ptr<SymbolIndex> index(new SymbolIndex());
  index->map_ = map;
  index->data_ = static_cast<const char*>(map);
  index->size_ = static_cast<uint64_t>(st.st_size);
  auto result = Init(std::move(index), options);
  if (!result.ok()) return result.status().WithContext(path);
  return result;
}

Result<std::unique_ptr<SymbolIndex>> SymbolIndex::FromBytes(std::string bytes,
                                                            const OpenOptions& options) {
  std::unique_ptr<SymbolIndex> index(new SymbolIndex());
  index->owned_ = std::move(bytes);
  index->data_ = index->owned_.data();
  index->size_ = index->owned_.size();
  return Init(std::move(index), options);
}

Result<std::unique_ptr<SymbolIndex>> SymbolIndex::Init(std::unique_ptr<SymbolIndex> index,
                                                       const OpenOptions& options) {
  SIGIL_RETURN_IF_ERROR(index->Validate(options));
  return index;
}

Status SymbolIndex::Validate(const OpenOptions& options) {
  if (size_ < sizeof(f::Header))
    return Corrupt("file of " + std::to_string(size_) + " bytes has no header");
  if (reinterpret_cast<uintptr_t>(data_) % 8 != 0) return Corrupt("buffer is not 8-byte aligned");
  header_ = reinterpret_cast<const f::Header*>(data_);
  const f::Header& h = *header_;
  if (std::memcmp(h.magic, f::kMagic, sizeof(h.magic)) != 0)
    return Corrupt("bad magic (not a symbol index)");
  if (h.version != f::kIndexVersion) {
    return Corrupt("version " + std::to_string(h.version) + ", expected " +
                   std::to_string(f::kIndexVersion));
  }
  if (h.header_size != sizeof(f::Header) || h.section_count != f::kSectionCount) {
    return Corrupt("header size or section count mismatch");
  }
  if (h.file_size != size_) {
    return Corrupt("file is " + std::to_string(size_) + " bytes, header says " +
                   std::to_string(h.file_size) + " (truncated?)");
  }
  if (options.verify_checksum) {
    uint32_t zero = 0;
    const size_t at = offsetof(f::Header, checksum);
    uint32_t crc = static_cast<uint32_t>(libdeflate_crc32(0, data_, at));
    crc = static_cast<uint32_t>(libdeflate_crc32(crc, &zero, sizeof(zero)));
    crc = static_cast<uint32_t>(libdeflate_crc32(crc, data_ + at + sizeof(zero),
                                                 static_cast<size_t>(size_ - at - sizeof(zero))));
    if (crc != h.checksum) return Corrupt("checksum mismatch");
  }
  // Sections: aligned, inside the file, whole elements.
  static constexpr size_t kElem[f::kSectionCount] = {sizeof(f::SymbolRecord),
                                                     8,
                                                     sizeof(f::RangeEntry),
                                                     8,
                                                     sizeof(f::LineEntry),
                                                     sizeof(f::LineBaseException),
                                                     sizeof(f::InlineNode),
                                                     sizeof(f::InlineBaseException),
                                                     sizeof(f::InlineRange),
                                                     4,
                                                     8,
                                                     1};
  uint64_t counts[f::kSectionCount];
  for (uint32_t s = 0; s < f::kSectionCount; ++s) {
    const f::SectionEntry& e = h.sections[s];
    if (e.offset % 8 != 0 || e.offset < sizeof(f::Header) || e.offset > size_ ||
        e.size > size_ - e.offset || e.size % kElem[s] != 0) {
      return Corrupt("section " + std::to_string(s) + " out of bounds");
    }
    counts[s] = e.size / kElem[s];
  }
  auto at = [&](f::Section s) { return data_ + h.sections[s].offset; };
  symbols_ = reinterpret_cast<const f::SymbolRecord*>(at(f::kSymbols));
  symbols_count_ = counts[f::kSymbols];
  starts_ = reinterpret_cast<const uint64_t*>(at(f::kRangeStarts));
  ranges_count_ = counts[f::kRangeStarts];
  entries_ = reinterpret_cast<const f::RangeEntry*>(at(f::kRangeEntries));
  top_ = reinterpret_cast<const uint64_t*>(at(f::kRangeTop));
  top_count_ = counts[f::kRangeTop];
  lines_ = reinterpret_cast<const f::LineEntry*>(at(f::kLines));
  lines_count_ = counts[f::kLines];
  line_bases_ = reinterpret_cast<const f::LineBaseException*>(at(f::kLineBases));
  line_bases_count_ = counts[f::kLineBases];
  inlines_ = reinterpret_cast<const f::InlineNode*>(at(f::kInlines));
  inlines_count_ = counts[f::kInlines];
  inline_bases_ = reinterpret_cast<const f::InlineBaseException*>(at(f::kInlineBases));
  inline_bases_count_ = counts[f::kInlineBases];
  inline_ranges_ = reinterpret_cast<const f::InlineRange*>(at(f::kInlineRanges));
  inline_ranges_count_ = counts[f::kInlineRanges];
  files_ = reinterpret_cast<const uint32_t*>(at(f::kFiles));
  files_count_ = counts[f::kFiles];
  string_offsets_ = reinterpret_cast<const uint64_t*>(at(f::kStringOffsets));
  string_data_ = at(f::kStringData);
  string_data_size_ = h.sections[f::kStringData].size;

  if (counts[f::kStringOffsets] == 0) return Corrupt("no string offsets");
  strings_count_ = counts[f::kStringOffsets] - 1;
  if (string_offsets_[0] != 0) return Corrupt("string offsets do not start at 0");
  for (uint64_t i = 0; i < strings_count_; ++i) {
    if (string_offsets_[i + 1] < string_offsets_[i] || string_offsets_[i + 1] > string_data_size_) {
      return Corrupt("string offset " + std::to_string(i) + " out of bounds");
    }
  }
  auto string_ok = [&](uint32_t id) { return id == f::kNone || id < strings_count_; };
  for (uint32_t id :
       {h.module_os, h.module_arch, h.module_id, h.module_name, h.code_id, h.code_file}) {
    if (!string_ok(id)) return Corrupt("module string id out of bounds");
  }
  if (counts[f::kRangeEntries] != ranges_count_ + 1) return Corrupt("range entry count mismatch");
  if (top_count_ != (ranges_count_ + f::kRangeBlock - 1) / f::kRangeBlock)
    return Corrupt("range top mismatch");
  for (uint64_t k = 0; k < top_count_; ++k) {
    // The search relies on it: a block's first start is at or below any address sent there.
    if (top_[k] != starts_[k * f::kRangeBlock])
      return Corrupt("range top does not match range starts");
  }
  for (uint64_t i = 0; i < symbols_count_; ++i) {
    if (symbols_[i].name >= strings_count_) return Corrupt("symbol name out of bounds");
  }
  for (uint64_t i = 0; i <= ranges_count_; ++i) {
    const f::RangeEntry& e = entries_[i];
    if (e.symbol != f::kNone && e.symbol >= symbols_count_)
      return Corrupt("range symbol out of bounds");
    uint64_t next_line = i < ranges_count_ ? entries_[i + 1].line_begin : lines_count_;
    uint64_t next_inline = i < ranges_count_ ? entries_[i + 1].inline_begin : inlines_count_;
    if (e.line_begin > next_line || e.inline_begin > next_inline)
      return Corrupt("range slices out of order");
  }
  if (entries_[ranges_count_].line_begin != lines_count_ ||
      entries_[ranges_count_].inline_begin != inlines_count_) {
    return Corrupt("range sentinel mismatch");
  }
  for (uint64_t i = 0; i < lines_count_; ++i) {
    uint32_t file = lines_[i].file & f::kLineFileMask;
    if (file != f::kLineGap && file != f::kLineNoFile && file >= files_count_) {
      return Corrupt("line file out of bounds");
    }
  }
  for (uint64_t i = 0; i < inlines_count_; ++i) {
    const f::InlineNode& n = inlines_[i];
    if (n.parent != f::kNone && n.parent >= i) return Corrupt("inline parent out of order");
    if (n.name >= strings_count_) return Corrupt("inline name out of bounds");
    uint32_t file = n.call_file & f::kCallFileMask;
    if (file != f::kCallFileFromLine && file >= files_count_)
      return Corrupt("inline call file out of bounds");
  }
  for (uint64_t i = 0; i < inline_bases_count_; ++i) {
    const f::InlineBaseException& e = inline_bases_[i];
    if (e.range_begin > inline_ranges_count_ ||
        e.range_count > inline_ranges_count_ - e.range_begin) {
      return Corrupt("inline base ranges out of bounds");
    }
  }
  for (uint64_t i = 0; i < files_count_; ++i) {
    if (files_[i] >= strings_count_) return Corrupt("file name out of bounds");
  }
  return Status::Ok();
}

std::string_view SymbolIndex::String(uint32_t id) const {
  if (id >= strings_count_) return {};
  return std::string_view(string_data_ + string_offsets_[id],
                          string_offsets_[id + 1] - string_offsets_[id]);
}

std::string_view SymbolIndex::File(uint32_t index) const {
  return index < files_count_ ? String(files_[index]) : std::string_view();
}

uint64_t SymbolIndex::LineBase(uint32_t line_index, uint64_t fallback) const {
  uint64_t i = UpperBound(0, line_bases_count_, line_index,
                          [&](uint64_t k) { return line_bases_[k].line_index; });
  if (i > 0 && line_bases_[i - 1].line_index == line_index) return line_bases_[i - 1].base;
  return fallback;
}

uint64_t SymbolIndex::InlineBase(uint32_t node_index, uint64_t address, uint64_t fallback) const {
  uint64_t i = UpperBound(0, inline_bases_count_, node_index,
                          [&](uint64_t k) { return inline_bases_[k].node_index; });
  if (i == 0 || inline_bases_[i - 1].node_index != node_index) return fallback;
  const f::InlineBaseException& e = inline_bases_[i - 1];
  for (uint32_t k = 0; k < e.range_count; ++k) {
    const f::InlineRange& r = inline_ranges_[e.range_begin + k];
    if (address >= r.address && address < r.address + r.size) return r.address;
  }
  return 0;  // Breakpad: the module base when no listed range contains the address
}

bool SymbolIndex::Lookup(uint64_t address, LookupResult* r) const {
  r->Clear();
  if (ranges_count_ == 0 || address < starts_[0]) return false;
  // Two-level search: the top layer (every kRangeBlock-th start) narrows to one block.
  uint64_t t = UpperBoundU64(top_, 0, top_count_, address) - 1;
  uint64_t lo = t * f::kRangeBlock;
  uint64_t hi = std::min<uint64_t>(lo + f::kRangeBlock, ranges_count_);
  uint64_t idx = UpperBoundU64(starts_, lo, hi, address) - 1;
  const f::RangeEntry& e = entries_[idx];
  if (e.symbol == f::kNone) return false;
  const f::SymbolRecord& sym = symbols_[e.symbol];
  r->found = true;
  r->function = String(sym.name);
  r->function_base = sym.address;
  r->is_multiple = (sym.flags & f::kSymbolMultiple) != 0;
  r->is_public = (sym.flags & f::kSymbolPublic) != 0;
  if (r->is_public) return true;

  const uint64_t range_start = starts_[idx];
  const uint64_t off64 = address - range_start;
  const uint32_t off = off64 > 0xFFFFFFFFull ? 0xFFFFFFFFu : static_cast<uint32_t>(off64);
  const f::RangeEntry& next = entries_[idx + 1];

  // Line record: the last entry at or below the offset (a gap entry means none).
  uint64_t li =
      UpperBound(e.line_begin, next.line_begin, off, [&](uint64_t k) { return lines_[k].offset; });
  if (li > e.line_begin) {
    const f::LineEntry& l = lines_[li - 1];
    uint32_t file = l.file & f::kLineFileMask;
    if (file != f::kLineGap) {
      r->has_line_record = true;
      r->line = l.line;
      r->file = file == f::kLineNoFile ? std::string_view() : File(file);
      uint64_t base = range_start + l.offset;
      r->line_base =
          (l.file & f::kLineBaseFlag) ? LineBase(static_cast<uint32_t>(li - 1), base) : base;
    }
  }

  // Inlines: the last node starting at or below the offset, then its ancestors that cover it.
  uint64_t ni = UpperBound(e.inline_begin, next.inline_begin, off,
                           [&](uint64_t k) { return inlines_[k].start; });
  if (ni > e.inline_begin) {
    uint64_t n = ni - 1;
    for (;;) {
      const f::InlineNode& node = inlines_[n];
      if (node.high >= off) {
        InlineFrame frame;
        frame.function = String(node.name);
        uint64_t base = range_start + node.start;
        frame.function_base = (node.call_file & f::kInlineBaseFlag)
                                  ? InlineBase(static_cast<uint32_t>(n), address, base)
                                  : base;
        r->inlines.push_back(frame);
      }
      if (node.parent == f::kNone || node.parent < e.inline_begin || node.parent >= n) break;
      n = node.parent;
    }
    if (!r->inlines.empty()) {
      // Innermost gets the line record's file/line; each outer one the call site of the one inside
      // it; the function itself the call site of the outermost. Walk the chain again for the call
      // sites.
      std::string_view file = r->file;
      int32_t line = r->line;
      size_t k = 0;
      uint64_t m = ni - 1;
      for (;;) {
        const f::InlineNode& node = inlines_[m];
        if (node.high >= off) {
          uint32_t cf = node.call_file & f::kCallFileMask;
          std::string_view call_file = cf == f::kCallFileFromLine ? r->file : File(cf);
          r->inlines[k].file = file;
          r->inlines[k].line = line;
          file = call_file;
          line = node.call_line;
          ++k;
        }
        if (node.parent == f::kNone || node.parent < e.inline_begin || node.parent >= m) break;
        m = node.parent;
      }
      r->file = file;
      r->line = line;
    }
  }
  return true;
}

}  // namespace sigil::symbolication
