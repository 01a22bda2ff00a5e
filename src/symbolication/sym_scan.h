// Fast-path scanners of the .sym parser (internal to sym_parser.cc and sym_parser_impl.h).
//
// Each accepts only text that the general, strtoull/strtol-faithful path would read to the same
// values (plain digits, single spaces) and reports failure otherwise; the caller then takes the
// general path. Block scanners read a whole block at their position and so need that many readable
// bytes below `limit` (the end of the text); they fall back to byte loops otherwise.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string_view>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "symbolication/sym_parser.h"

namespace sigil::symbolication::scan {

constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();

inline bool IsHexDigit(char ch) {
  const unsigned c = static_cast<unsigned char>(ch);
  return c - '0' < 10 || (c | 0x20) - 'a' < 6;
}

// Plain-digit loops: no sign, no "0x", no leading space.
inline bool PlainHex(const char*& p, const char* e, size_t max_digits, uint64_t* out) {
  const char* start = p;
  uint64_t x = 0;
  while (p < e) {
    unsigned c = static_cast<unsigned char>(*p);
    unsigned d;
    if (c - '0' < 10) {
      d = c - '0';
    } else if ((c | 0x20) - 'a' < 6) {
      d = (c | 0x20) - 'a' + 10;
    } else {
      break;
    }
    x = (x << 4) | d;
    ++p;
  }
  size_t n = static_cast<size_t>(p - start);
  if (n == 0 || n > max_digits || x == kU64Max) return false;
  *out = x;
  return true;
}

inline bool PlainDec(const char*& p, const char* e, uint32_t* out) {
  const char* start = p;
  uint32_t x = 0;
  while (p < e && static_cast<unsigned>(*p - '0') < 10) {
    x = x * 10 + static_cast<uint32_t>(*p - '0');
    ++p;
  }
  size_t n = static_cast<size_t>(p - start);
  if (n == 0 || n > 9) return false;
  *out = x;
  return true;
}

// The same scanners without a loop over the digits (whose data-dependent exit is mispredicted
// about once per number): SSE2 classifies 16 bytes at once for hex, SWAR 8 bytes for decimal.
// `e` bounds the number (the end of its line or of the text); the block at p must be readable up
// to `limit`; a block that is all digits (the number may go on) takes the loop.
inline bool PlainHexFast(const char*& p, const char* e, const char* limit, size_t max_digits,
                         uint64_t* out) {
#if defined(__SSE2__) && defined(__x86_64__)
  if (limit - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // Byte classes by unsigned range checks: '0'..'9' is v - '0' <= 9, 'a'..'f' / 'A'..'F' is
    // (v | 0x20) - 'a' <= 5 (x <= k as min(x, k) == x).
    const __m128i dv = _mm_sub_epi8(v, _mm_set1_epi8('0'));
    const __m128i av = _mm_sub_epi8(_mm_or_si128(v, _mm_set1_epi8(0x20)), _mm_set1_epi8('a'));
    const __m128i digit = _mm_cmpeq_epi8(_mm_min_epu8(dv, _mm_set1_epi8(9)), dv);
    const __m128i alpha = _mm_cmpeq_epi8(_mm_min_epu8(av, _mm_set1_epi8(5)), av);
    const unsigned hex = static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(digit, alpha)));
    size_t n = static_cast<size_t>(__builtin_ctz(~hex));  // leading hex digits, <= 16
    if (n < 16) {
      n = std::min(n, static_cast<size_t>(e - p));
      if (n == 0 || n > max_digits) return false;
      // Nibble values (garbage past the digits is masked to 4 bits and shifted out below).
      const __m128i nib =
          _mm_and_si128(_mm_or_si128(_mm_and_si128(digit, dv),
                                     _mm_andnot_si128(digit, _mm_add_epi8(av, _mm_set1_epi8(10)))),
                        _mm_set1_epi8(0x0F));
      // Pairs of nibbles into bytes (first digit high), then 8 bytes, most significant first.
      const __m128i bytes = _mm_or_si128(
          _mm_slli_epi16(_mm_and_si128(nib, _mm_set1_epi16(0xFF)), 4), _mm_srli_epi16(nib, 8));
      const uint64_t all = __builtin_bswap64(
          static_cast<uint64_t>(_mm_cvtsi128_si64(_mm_packus_epi16(bytes, bytes))));
      const uint64_t x = all >> (4 * (16 - n));
      if (x == kU64Max) return false;
      *out = x;
      p += n;
      return true;
    }
  }
#endif
  return PlainHex(p, e, max_digits, out);
}

inline bool PlainDecFast(const char*& p, const char* e, const char* limit, uint32_t* out) {
  if (limit - p >= 8) {
    uint64_t w;
    std::memcpy(&w, p, sizeof(w));
    // Bit 7 of each byte that is not '0'..'9'. Exact up to the first such byte, which is all
    // that is used: bytes before it are digits, so no carry or borrow reaches it.
    const uint64_t non_digit =
        ((w + 0x4646464646464646ull) | (w - 0x3030303030303030ull)) & 0x8080808080808080ull;
    if (non_digit != 0) {
      size_t n = static_cast<size_t>(__builtin_ctzll(non_digit)) / 8;
      n = std::min(n, static_cast<size_t>(e - p));
      if (n == 0) return false;
      // Right-align the n digits (leading zero digits), then the 8-digit SWAR conversion.
      uint64_t d = (w - 0x3030303030303030ull) << (8 * (8 - n));
      d = (d * 10) + (d >> 8);
      d = (((d & 0x000000FF000000FFull) * (100 + (1000000ull << 32))) +
           (((d >> 16) & 0x000000FF000000FFull) * (1 + (10000ull << 32)))) >>
          32;
      *out = static_cast<uint32_t>(d);
      p += n;
      return true;
    }
  }
  return PlainDec(p, e, out);
}

// A whole line record "<hex> <hex> <dec> <dec>" starting at p, ended by '\n' or the end of the text
// `e` (a CR after it sends the line to the general path). Returns the end of the line (its '\n' or
// e), or nullptr when the line needs the general path (which then reads it again from the start).
inline const char* ScanLineRecord(const char* p, const char* e, LineRecord* r) {
  uint32_t line, file;
  if (!PlainHexFast(p, e, e, 16, &r->address) || p == e || *p++ != ' ') return nullptr;
  if (!PlainHexFast(p, e, e, 16, &r->size) || p == e || *p++ != ' ') return nullptr;
  if (!PlainDecFast(p, e, e, &line) || p == e || *p++ != ' ') return nullptr;
  if (!PlainDecFast(p, e, e, &file) || (p != e && *p != '\n')) return nullptr;
  r->line = static_cast<int32_t>(line);
  r->file_id = static_cast<int32_t>(file);
  return p;
}

// The same record as one line `l` (the general loop's split, any line ending).
inline bool FastLineRecord(std::string_view l, const char* limit, LineRecord* r) {
  const char* p = l.data();
  const char* e = p + l.size();
  uint32_t line, file;
  if (!PlainHexFast(p, e, limit, 16, &r->address) || p == e || *p++ != ' ') return false;
  if (!PlainHexFast(p, e, limit, 16, &r->size) || p == e || *p++ != ' ') return false;
  if (!PlainDecFast(p, e, limit, &line) || p == e || *p++ != ' ') return false;
  if (!PlainDecFast(p, e, limit, &file) || p != e) return false;
  r->line = static_cast<int32_t>(line);
  r->file_id = static_cast<int32_t>(file);
  return true;
}

// Next CR or LF in [p, e), or e; inline SSE2 beats a memchr call on short lines.
inline const char* FindLineEnd(const char* p, const char* e) {
#if defined(__SSE2__)
  const __m128i lf = _mm_set1_epi8('\n');
  const __m128i cr = _mm_set1_epi8('\r');
  while (e - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const int m = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, lf), _mm_cmpeq_epi8(v, cr)));
    if (m != 0) return p + __builtin_ctz(static_cast<unsigned>(m));
    p += 16;
  }
#endif
  while (p < e && *p != '\n' && *p != '\r') ++p;
  return p;
}

// First ' ' in [p, e), or e; reads whole 16-byte blocks while they lie below `limit`.
inline const char* FindSpace(const char* p, const char* e, const char* limit) {
#if defined(__SSE2__)
  const __m128i sp = _mm_set1_epi8(' ');
  while (p < e && limit - p >= 16) {
    const unsigned m = static_cast<unsigned>(_mm_movemask_epi8(
        _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), sp)));
    if (m != 0) return std::min(p + __builtin_ctz(m), e);
    p += 16;
  }
#endif
  while (p < e && *p != ' ') ++p;
  return std::min(p, e);
}

// The n-th (n >= 1) ' ' in [p, e) when every field before it is non-empty, i.e. [p, e) does not
// start with a space and no two spaces up to it are adjacent; nullptr otherwise (no n-th space,
// or an empty field: the caller then takes the general path). Then Breakpad's Tokenize(), which
// splits on runs of spaces, finds exactly the fields [p, n-th space) split at each space, and the
// rest of the line after it.
inline const char* NthSingleSpace(const char* p, const char* e, const char* limit, unsigned n) {
  if (p == e || *p == ' ') return nullptr;
  unsigned carry = 0;  // 1 when the byte before p is a space
#if defined(__SSE2__) && defined(__x86_64__)
  const __m128i sp = _mm_set1_epi8(' ');
  while (p < e && limit - p >= 16) {
    unsigned m = static_cast<unsigned>(_mm_movemask_epi8(
        _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), sp)));
    if (e - p < 16) m &= (1u << (e - p)) - 1;
    const unsigned doubled = m & ((m << 1) | carry);
    carry = m >> 15;
    for (; m != 0; m &= m - 1) {
      const unsigned bit = m & (0u - m);
      if ((bit & doubled) != 0) return nullptr;
      if (--n == 0) return p + __builtin_ctz(bit);
    }
    p += 16;
  }
#endif
  for (; p < e; ++p) {
    const unsigned space = *p == ' ' ? 1u : 0u;
    if (space & carry) return nullptr;
    if (space != 0 && --n == 0) return p;
    carry = space;
  }
  return nullptr;
}

// "<dec> <name>" with a single space, the number without sign or "0x" (up to 9 digits).
inline bool IdAndName(std::string_view rest, const char* limit, int32_t* id,
                      std::string_view* name) {
  const char* p = rest.data();
  const char* e = p + rest.size();
  uint32_t value;
  if (!PlainDecFast(p, e, limit, &value) || p == e || *p++ != ' ' || p == e) return false;
  *id = static_cast<int32_t>(value);
  *name = std::string_view(p, static_cast<size_t>(e - p));
  return true;
}

// "FILE <dec> <name>" after "FILE ".
inline bool FastFileRecord(std::string_view rest, const char* limit, FileRecord* r) {
  return IdAndName(rest, limit, &r->id, &r->name);
}

// "INLINE_ORIGIN <dec> <name>" after "INLINE_ORIGIN ", the name starting with neither a digit,
// '-' nor a space (so that it cannot be the old form's file id).
inline bool FastInlineOriginRecord(std::string_view rest, const char* limit,
                                   InlineOriginRecord* r) {
  if (!IdAndName(rest, limit, &r->id, &r->name)) return false;
  const char c = r->name[0];
  return static_cast<unsigned>(c - '0') >= 10 && c != '-' && c != ' ';
}

// "[m ]<hex>... <name>" with single spaces (what dump_syms writes): the `m` flag, N numbers (the
// last one, the parameter size, of at most 15 digits) and the name after them.
template <size_t N>
inline bool FlagNumbersName(std::string_view rest, const char* limit, bool* is_multiple,
                            uint64_t (&numbers)[N], std::string_view* name) {
  const char* p = rest.data();
  const char* e = p + rest.size();
  *is_multiple = rest.size() > 2 && p[0] == 'm' && p[1] == ' ';
  if (*is_multiple) p += 2;
  for (size_t i = 0; i < N; ++i) {
    if (!PlainHexFast(p, e, limit, i + 1 < N ? 16 : 15, &numbers[i]) || p == e || *p++ != ' ')
      return false;
  }
  if (p == e) return false;
  *name = std::string_view(p, static_cast<size_t>(e - p));
  return true;
}

// "FUNC [m ]<hex> <hex> <hex> <name>" after "FUNC ".
inline bool FastFuncRecord(std::string_view rest, const char* limit, FuncRecord* r) {
  uint64_t numbers[3];
  if (!FlagNumbersName(rest, limit, &r->is_multiple, numbers, &r->name)) return false;
  r->address = numbers[0];
  r->size = numbers[1];
  return true;
}

// "PUBLIC [m ]<hex> <hex> <name>" after "PUBLIC ".
inline bool FastPublicRecord(std::string_view rest, const char* limit, PublicRecord* r) {
  uint64_t numbers[2];
  if (!FlagNumbersName(rest, limit, &r->is_multiple, numbers, &r->name)) return false;
  r->address = numbers[0];
  return true;
}

// Spaces in [p, e): SSE2 compares summed with psadbw, 16 bytes at a time (no popcount call); the
// last block is read whole when the text goes on that far (`limit`), its bytes past e masked off.
inline size_t CountSpaces(const char* p, const char* e, const char* limit) {
  size_t spaces = 0;
#if defined(__SSE2__) && defined(__x86_64__)
  const __m128i sp = _mm_set1_epi8(' ');
  const __m128i zero = _mm_setzero_si128();
  __m128i sum = zero;
  for (; e - p >= 16; p += 16) {
    const __m128i eq = _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), sp);
    sum = _mm_add_epi64(sum, _mm_sad_epu8(_mm_sub_epi8(zero, eq), zero));
  }
  spaces = static_cast<size_t>(_mm_cvtsi128_si64(sum)) +
           static_cast<size_t>(_mm_cvtsi128_si64(_mm_unpackhi_epi64(sum, sum)));
  if (p < e && limit - p >= 16) {
    const unsigned m = static_cast<unsigned>(_mm_movemask_epi8(
        _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), sp)));
    unsigned below = m & ((1u << (e - p)) - 1);  // e - p < 16
    for (; below != 0; below &= below - 1) ++spaces;
    return spaces;
  }
#endif
  for (; p < e; ++p) spaces += *p == ' ';
  return spaces;
}

// "<dec> <dec> [<dec>] <dec> (<hex> <hex>)+" with single spaces, at most 511 fields.
inline bool FastInlineRecord(std::string_view rest, const char* limit, InlineRecord* r) {
  const char* p = rest.data();
  const char* e = p + rest.size();
  uint32_t dec[4];
  uint64_t hex[2];
  r->ranges.clear();
  // Count fields first: parity decides the form.
  const size_t fields = CountSpaces(p, e, limit) + 1;
  if (fields < 5 || fields > 511) return false;
  r->has_call_site_file = fields % 2 == 0;
  const size_t ndec = r->has_call_site_file ? 4 : 3;
  for (size_t i = 0; i < ndec; ++i) {
    if (!PlainDecFast(p, e, limit, &dec[i]) || p == e || *p++ != ' ') return false;
  }
  while (p < e) {
    if (!PlainHexFast(p, e, limit, 16, &hex[0]) || p == e || *p++ != ' ') return false;
    if (!PlainHexFast(p, e, limit, 16, &hex[1])) return false;
    if (p < e && *p++ != ' ') return false;
    r->ranges.push_back(AddressRange{hex[0], hex[1]});
    if (p == e && rest.back() == ' ') return false;
  }
  r->nest_level = static_cast<int32_t>(dec[0]);
  r->call_site_line = static_cast<int32_t>(dec[1]);
  r->call_site_file_id = r->has_call_site_file ? static_cast<int32_t>(dec[2]) : 0;
  r->origin_id = static_cast<int32_t>(dec[ndec - 1]);
  return !r->ranges.empty();
}

}  // namespace sigil::symbolication::scan
