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
#include <iterator>

#include "symbolication/sorted_search.h"

namespace sigil::symbolication {
namespace {

namespace f = format;
using search::GuessPosition;
using search::UpperBound;
using search::UpperBoundArray;
using search::UpperBoundFrom;

Status Corrupt(const std::string& what) { return InvalidArgument("invalid symbol index: " + what); }

// Reads a LEB128 varint of at most 10 bytes below `end`; false when it runs past `end`.
inline bool ReadVarint(const uint8_t** p, const uint8_t* end, uint64_t* v) {
  const uint8_t* q = *p;
  if (q < end && *q < 0x80) {  // the common one-byte case
    *v = *q;
    *p = q + 1;
    return true;
  }
  if (end - q >= 2 && q[1] < 0x80) {  // two bytes (q < end, q[0] >= 0x80)
    *v = (q[0] & 0x7Fu) | (uint64_t{q[1]} << 7);
    *p = q + 2;
    return true;
  }
  uint64_t x = 0;
  for (int shift = 0; shift < 70 && q < end; shift += 7) {
    const uint8_t b = *q++;
    x |= uint64_t{b & 0x7Fu} << shift;
    if (b < 0x80) {
      *v = x;
      *p = q;
      return true;
    }
  }
  return false;
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
  index->large_ = index->size_ >= options.batch_prefetch_min_bytes;
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
                                                     4,
                                                     1,
                                                     sizeof(f::LineSkip),
                                                     4,
                                                     sizeof(f::InlineNode),
                                                     sizeof(f::InlineSite),
                                                     sizeof(f::InlineBaseException),
                                                     sizeof(f::InlineRange),
                                                     sizeof(f::StringRef),
                                                     1};
  // Sections: in order, each at the next 8-byte boundary, inside the file, whole elements.
  uint64_t counts[f::kSectionCount];
  uint64_t offsets[f::kSectionCount];
  uint64_t end = sizeof(f::Header);
  for (uint32_t s = 0; s < f::kSectionCount; ++s) {
    const uint64_t bytes = h.section_sizes[s];
    if (end > size_ || bytes > size_ - end || bytes % kElem[s] != 0)
      return Corrupt("section " + std::to_string(s) + " out of bounds");
    offsets[s] = end;
    counts[s] = bytes / kElem[s];
    end = (end + bytes + 7) & ~uint64_t{7};
  }
  if (end != size_) return Corrupt("sections do not end at the end of the file");
  auto at = [&](f::Section s) { return data_ + offsets[s]; };
  symbols_ = reinterpret_cast<const f::SymbolRecord*>(at(f::kSymbols));
  symbols_count_ = counts[f::kSymbols];
  starts_ = reinterpret_cast<const uint64_t*>(at(f::kRangeStarts));
  ranges_count_ = counts[f::kRangeStarts];
  entries_ = reinterpret_cast<const f::RangeEntry*>(at(f::kRangeEntries));
  direct_ = reinterpret_cast<const uint32_t*>(at(f::kRangeDirect));
  direct_shift_ = h.direct_shift;
  line_stream_ = reinterpret_cast<const uint8_t*>(at(f::kLineStream));
  line_stream_size_ = counts[f::kLineStream];
  skips_ = reinterpret_cast<const f::LineSkip*>(at(f::kLineSkips));
  skips_count_ = counts[f::kLineSkips];
  inline_starts_ = reinterpret_cast<const uint32_t*>(at(f::kInlineStarts));
  inlines_ = reinterpret_cast<const f::InlineNode*>(at(f::kInlines));
  inlines_count_ = counts[f::kInlines];
  sites_ = reinterpret_cast<const f::InlineSite*>(at(f::kInlineSites));
  sites_count_ = counts[f::kInlineSites];
  inline_bases_ = reinterpret_cast<const f::InlineBaseException*>(at(f::kInlineBases));
  inline_bases_count_ = counts[f::kInlineBases];
  inline_ranges_ = reinterpret_cast<const f::InlineRange*>(at(f::kInlineRanges));
  inline_ranges_count_ = counts[f::kInlineRanges];
  files_ = reinterpret_cast<const f::StringRef*>(at(f::kFiles));
  files_count_ = counts[f::kFiles];
  string_data_ = at(f::kStringData);
  string_data_size_ = h.section_sizes[f::kStringData];
  if ((h.flags & ~f::kStringsDeflated) != 0) return Corrupt("unknown flags");
  SIGIL_RETURN_IF_ERROR(InflateStrings());

  // Every string reference lies inside the (inflated) string data; the error names the record.
  auto check_string = [&](f::StringRef ref, const char* what, uint64_t index) {
    if (uint64_t{ref.offset} + ref.size <= string_data_size_) return Status::Ok();
    return Corrupt(std::string(what) + " " + std::to_string(index) + " (offset " +
                   std::to_string(ref.offset) + ", size " + std::to_string(ref.size) +
                   ") ends past the string data (" + std::to_string(string_data_size_) + " bytes)");
  };
  const f::StringRef module_strings[] = {h.module_os,   h.module_arch, h.module_id,
                                         h.module_name, h.code_id,     h.code_file};
  for (uint64_t i = 0; i < std::size(module_strings); ++i) {
    SIGIL_RETURN_IF_ERROR(check_string(module_strings[i], "module string", i));
  }
  if (counts[f::kRangeEntries] != ranges_count_ + 1) return Corrupt("range entry count mismatch");
  // The direct table: one entry per bucket (at most one bucket per range) and a last one; each
  // names a range starting at or below its bucket's start, ascending, so the search below it
  // always ends inside the table.
  if (ranges_count_ == 0) {
    if (counts[f::kRangeDirect] != 0) return Corrupt("range direct table mismatch");
  } else {
    const uint64_t span = starts_[ranges_count_ - 1] - starts_[0];
    if (direct_shift_ > 63 || (span >> direct_shift_) >= ranges_count_ ||
        counts[f::kRangeDirect] != (span >> direct_shift_) + 2) {
      return Corrupt("range direct table mismatch");
    }
    buckets_ = counts[f::kRangeDirect] - 1;
    for (uint64_t b = 0; b <= buckets_; ++b) {
      const uint32_t v = direct_[b];
      if (v >= ranges_count_ || (b > 0 && v < direct_[b - 1]))
        return Corrupt("range direct entry out of bounds");
      if (b < buckets_ && starts_[v] > starts_[0] + (b << direct_shift_))
        return Corrupt("range direct entry above its bucket");
    }
    if (direct_[buckets_] != ranges_count_ - 1) return Corrupt("range direct table mismatch");
  }
  for (uint64_t i = 0; i < symbols_count_; ++i) {
    const f::SymbolRecord& sym = symbols_[i];
    SIGIL_RETURN_IF_ERROR(
        check_string(f::StringRef{sym.name_offset, sym.name_size_flags & f::kSymbolNameSizeMask},
                     "symbol name", i));
  }
  if (entries_[ranges_count_].line_pos != line_stream_size_ ||
      entries_[ranges_count_].skip_begin != skips_count_ ||
      entries_[ranges_count_].inline_begin != inlines_count_) {
    return Corrupt("range sentinel mismatch");
  }
  for (uint64_t i = 0; i <= ranges_count_; ++i) {
    const f::RangeEntry& e = entries_[i];
    if (e.symbol != f::kNone && e.symbol >= symbols_count_)
      return Corrupt("range symbol out of bounds");
    if (i == ranges_count_) break;
    const f::RangeEntry& next = entries_[i + 1];
    if (e.line_pos > next.line_pos || e.skip_begin > next.skip_begin ||
        e.inline_begin > next.inline_begin || next.line_pos > line_stream_size_ ||
        next.skip_begin > skips_count_ || next.inline_begin > inlines_count_) {
      return Corrupt("range slices out of order");
    }
    // Restart points inside their range's bytes (the decoder stops at the range end in any case).
    for (uint32_t k = e.skip_begin; k < next.skip_begin; ++k) {
      if (skips_[k].pos < e.line_pos || skips_[k].pos > next.line_pos)
        return Corrupt("line skip out of its range");
    }
    // An inline node's parent precedes it in its own range's block, so the lookups' parent walk
    // ends and never strays into another function's nodes.
    for (uint32_t k = e.inline_begin; k < next.inline_begin; ++k) {
      uint32_t parent = inlines_[k].parent;
      if (parent != f::kNone && (parent >= k || parent < e.inline_begin)) {
        return Corrupt("inline node " + std::to_string(k) + ": parent " + std::to_string(parent) +
                       " is not an earlier node of its range");
      }
    }
  }
  // Line entries are not checked here: the decoder stays inside its range's bytes and every file
  // index it yields goes through File(), which answers "" when out of bounds.
  if (counts[f::kInlineStarts] != inlines_count_) {
    return Corrupt("inline start count mismatch: " + std::to_string(counts[f::kInlineStarts]) +
                   " starts for " + std::to_string(inlines_count_) + " inline nodes");
  }
  for (uint64_t i = 0; i < inlines_count_; ++i) {
    const f::InlineNode& n = inlines_[i];
    if ((n.site & f::kSiteMask) >= sites_count_) return Corrupt("inline site out of bounds");
  }
  for (uint64_t i = 0; i < sites_count_; ++i) {
    const f::InlineSite& site = sites_[i];
    SIGIL_RETURN_IF_ERROR(check_string(site.name, "inline name", i));
    if (site.call_file != f::kCallFileFromLine && site.call_file >= files_count_)
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
    SIGIL_RETURN_IF_ERROR(check_string(files_[i], "file name", i));
  }
  return Status::Ok();
}

// A deflated string section is inflated once, at open (strings are read by id, in no order).
// The size comes from the header and is bounded by DEFLATE's best ratio (1032:1) over the
// compressed bytes, so a small crafted file cannot make the loader allocate much.
Status SymbolIndex::InflateStrings() {
  const f::Header& h = *header_;
  if ((h.flags & f::kStringsDeflated) == 0) {
    if (h.string_bytes != string_data_size_) return Corrupt("string data size mismatch");
    return Status::Ok();
  }
  if (h.string_bytes > 1032 * string_data_size_ + 64 || h.string_bytes > f::kNone)
    return Corrupt("string data size out of bounds");
  strings_inflated_.resize(h.string_bytes);
  libdeflate_decompressor* d = libdeflate_alloc_decompressor();
  if (d == nullptr) return Internal("out of memory allocating a decompressor");
  size_t actual = 0;
  libdeflate_result res =
      libdeflate_deflate_decompress(d, string_data_, string_data_size_, strings_inflated_.data(),
                                    strings_inflated_.size(), &actual);
  libdeflate_free_decompressor(d);
  if (res != LIBDEFLATE_SUCCESS || actual != strings_inflated_.size())
    return Corrupt("string data does not inflate");
  string_data_ = strings_inflated_.data();
  string_data_size_ = strings_inflated_.size();
  return Status::Ok();
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

uint64_t SymbolIndex::Bucket(uint64_t address) const {
  return std::min<uint64_t>((address - starts_[0]) >> direct_shift_, buckets_ - 1);
}

uint64_t SymbolIndex::FindRange(uint64_t address) const {
  if (ranges_count_ == 0 || address < starts_[0]) return kNoRange;
  // The bucket's entries bound the search to the few ranges that start inside it.
  const uint64_t b = Bucket(address);
  const uint64_t lo = direct_[b], hi = uint64_t{direct_[b + 1]} + 1;
  return (large_ ? UpperBoundArray(starts_, lo, hi, address)
                 : UpperBound(lo, hi, address, [&](uint64_t k) { return starts_[k]; })) -
         1;
}

bool SymbolIndex::Lookup(uint64_t address, LookupResult* r) const {
  r->Clear();
  const uint64_t idx = FindRange(address);
  return idx != kNoRange && Resolve(idx, address, r);
}

uint64_t SymbolIndex::Span(uint64_t idx) const {
  const uint64_t span = idx + 1 < ranges_count_ ? starts_[idx + 1] - starts_[idx] : 0;
  return span == 0 || span > 0xFFFFFFFFull ? uint64_t{1} << 32 : span;
}

uint64_t SymbolIndex::FindSkip(uint64_t idx, uint32_t off, uint64_t span) const {
  const uint64_t lo = entries_[idx].skip_begin, hi = entries_[idx + 1].skip_begin;
  if (lo == hi) return lo;
  return UpperBoundFrom(lo, hi, GuessPosition(lo, hi, off, span), off,
                        [&](uint64_t k) { return skips_[k].offset; });
}

uint64_t SymbolIndex::FindNode(uint64_t idx, uint32_t off, uint64_t span) const {
  const uint64_t lo = entries_[idx].inline_begin, hi = entries_[idx + 1].inline_begin;
  if (lo == hi) return lo;
  return UpperBoundFrom(lo, hi, GuessPosition(lo, hi, off, span), off,
                        [&](uint64_t k) { return inline_starts_[k]; });
}

bool SymbolIndex::Resolve(uint64_t idx, uint64_t address, LookupResult* r, uint64_t skip,
                          uint64_t node_hint) const {
  const f::RangeEntry& e = entries_[idx];
  if (e.symbol == f::kNone) return false;
  const f::SymbolRecord& sym = symbols_[e.symbol];
  r->found = true;
  r->function = std::string_view(string_data_ + sym.name_offset,
                                 sym.name_size_flags & f::kSymbolNameSizeMask);
  r->function_base = sym.address;
  r->is_multiple = (sym.name_size_flags & f::kSymbolMultiple) != 0;
  r->is_public = (sym.name_size_flags & f::kSymbolPublic) != 0;
  if (r->is_public) return true;

  const uint64_t range_start = starts_[idx];
  const uint64_t off64 = address - range_start;
  const uint32_t off = off64 > 0xFFFFFFFFull ? 0xFFFFFFFFu : static_cast<uint32_t>(off64);

  // Line record: the last entry at or below the offset (a gap entry means none). Start at the
  // last restart point at or below it, decode forward.
  const f::RangeEntry& next = entries_[idx + 1];
  const uint64_t span = skip != kNoRange && node_hint != kNoRange ? 0 : Span(idx);
  const uint64_t si = skip != kNoRange ? skip : FindSkip(idx, off, span);
  const uint8_t* p = line_stream_ + (si > e.skip_begin ? skips_[si - 1].pos : e.line_pos);
  const uint8_t* const end = line_stream_ + next.line_pos;
  uint64_t offset = 0, base_distance = 0;
  uint32_t line = 0, file = 0;
  bool covered = false;
  while (p < end) {
    uint64_t head;
    if (!ReadVarint(&p, end, &head)) break;
    const uint64_t at = offset + (head >> 3);
    if (at > off || at < offset) break;
    offset = at;
    if (head & f::kLineGap) {
      covered = false;
      continue;
    }
    uint64_t zz = 0, v = 0;
    if (!ReadVarint(&p, end, &zz)) break;
    line += static_cast<uint32_t>((zz >> 1) ^ (0 - (zz & 1)));
    if ((head & f::kLineFile) && !ReadVarint(&p, end, &v)) break;
    if (head & f::kLineFile) file = static_cast<uint32_t>(v);
    base_distance = 0;
    if ((head & f::kLineBase) && !ReadVarint(&p, end, &base_distance)) break;
    covered = true;
  }
  if (covered) {
    r->has_line_record = true;
    r->line = static_cast<int32_t>(line);
    r->file = file == f::kLineNoFile ? std::string_view() : File(file);
    r->line_base = range_start + offset - base_distance;
  }

  // Inlines: the last node starting at or below the offset, then its ancestors that cover it,
  // innermost first. The innermost gets the line record's file/line, each outer one the call site
  // of the one inside it, the function itself the call site of the outermost.
  const uint64_t ni = node_hint != kNoRange ? node_hint : FindNode(idx, off, span);
  if (ni > e.inline_begin) {
    const std::string_view line_file = r->file;
    std::string_view call_file = r->file;
    int32_t call_line = r->line;
    for (uint64_t n = ni - 1;;) {
      const f::InlineNode& node = inlines_[n];
      if (node.high >= off) {
        const f::InlineSite& site = sites_[node.site & f::kSiteMask];
        const uint64_t base = range_start + inline_starts_[n];
        r->inlines.push_back(InlineFrame{String(site.name),
                                         (node.site & f::kInlineBaseFlag)
                                             ? InlineBase(static_cast<uint32_t>(n), address, base)
                                             : base,
                                         call_file, call_line});
        call_file = site.call_file == f::kCallFileFromLine ? line_file : File(site.call_file);
        call_line = site.call_line;
      }
      if (node.parent >= n) break;  // kNone (checked at open: an earlier node of the range)
      n = node.parent;
    }
    r->file = call_file;
    r->line = call_line;
  }
  return true;
}

}  // namespace sigil::symbolication
