#include "upload/testing/zip_builder.h"

#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace sigil::upload::testing {
namespace {

void StoreLe(std::string& s, size_t at, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) s[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
uint64_t LoadLe(const std::string& s, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

// Calls fn(header_offset, is_central) for every local/central header of `name`.
template <typename Fn>
int ForEachHeader(const std::string& zip, const std::string& name, Fn fn) {
  int found = 0;
  for (size_t i = 0; i + 46 <= zip.size(); ++i) {
    uint64_t sig = LoadLe(zip, i, 4);
    if (sig == 0x04034b50) {
      size_t len = LoadLe(zip, i + 26, 2);
      if (i + 30 + len <= zip.size() && zip.compare(i + 30, len, name) == 0 && len == name.size()) {
        fn(i, false);
        ++found;
      }
    } else if (sig == 0x02014b50) {
      size_t len = LoadLe(zip, i + 28, 2);
      if (i + 46 + len <= zip.size() && zip.compare(i + 46, len, name) == 0 && len == name.size()) {
        fn(i, true);
        ++found;
      }
    }
  }
  return found;
}

}  // namespace

Status WriteZip(const std::string& path, const std::vector<ZipEntry>& entries) {
  int err = 0;
  ::unlink(path.c_str());
  zip_t* zip = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  if (zip == nullptr) return Internal("zip_open failed");
  for (const ZipEntry& e : entries) {
    zip_int64_t idx = -1;
    if (e.kind == ZipEntry::Kind::kDirectory) {
      idx = zip_dir_add(zip, e.name.c_str(), ZIP_FL_ENC_UTF_8);
    } else {
      zip_source_t* src = zip_source_buffer(zip, e.data.data(), e.data.size(), 0);
      idx = zip_file_add(zip, e.name.c_str(), src, ZIP_FL_ENC_UTF_8);
      if (idx < 0) zip_source_free(src);
    }
    if (idx < 0) {
      std::string m = zip_strerror(zip);
      zip_discard(zip);
      return Internal("adding " + e.name + ": " + m);
    }
    if (e.kind == ZipEntry::Kind::kFile) {
      zip_set_file_compression(zip, static_cast<zip_uint64_t>(idx),
                               e.deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0);
      if (e.encrypt && zip_file_set_encryption(zip, static_cast<zip_uint64_t>(idx), ZIP_EM_AES_256,
                                               "secret") != 0) {
        std::string m = zip_strerror(zip);
        zip_discard(zip);
        return Internal("encrypting " + e.name + ": " + m);
      }
    }
    if (e.kind == ZipEntry::Kind::kSymlink) {
      zip_file_set_external_attributes(zip, static_cast<zip_uint64_t>(idx), 0, ZIP_OPSYS_UNIX,
                                       (static_cast<zip_uint32_t>(S_IFLNK | 0777)) << 16);
    }
  }
  if (zip_close(zip) != 0) {
    std::string m = zip_strerror(zip);
    zip_discard(zip);
    return Internal("zip_close: " + m);
  }
  return Status::Ok();
}

Result<std::string> MakeZip(const std::vector<ZipEntry>& entries) {
  char tmpl[] = "/tmp/sigil-zip-XXXXXX";
  int fd = mkstemp(tmpl);
  if (fd < 0) return Internal("mkstemp failed");
  ::close(fd);
  Status s = WriteZip(tmpl, entries);
  std::string data = s.ok() ? ReadFileOrDie(tmpl) : "";
  ::unlink(tmpl);
  if (!s.ok()) return s;
  return data;
}

Status PatchCrc(std::string& zip, const std::string& name, uint32_t crc) {
  int n = ForEachHeader(
      zip, name, [&](size_t at, bool central) { StoreLe(zip, at + (central ? 16 : 14), crc, 4); });
  return n > 0 ? Status::Ok() : NotFound(name);
}

Status PatchUncompressedSize(std::string& zip, const std::string& name, uint32_t size) {
  int n = ForEachHeader(
      zip, name, [&](size_t at, bool central) { StoreLe(zip, at + (central ? 24 : 22), size, 4); });
  return n > 0 ? Status::Ok() : NotFound(name);
}

std::string MakeRawZip(const std::string& name, const std::string& data, uint16_t method,
                       uint32_t size, uint32_t crc) {
  auto put = [](std::string& s, uint64_t v, int bytes) {
    s.resize(s.size() + bytes);
    StoreLe(s, s.size() - bytes, v, bytes);
  };
  // Fields shared by the local and central headers, from "version needed" to "extra length".
  auto common = [&](std::string& s) {
    put(s, 20, 2);      // version needed
    put(s, 0, 2);       // flags
    put(s, method, 2);  // method
    put(s, 0, 2);       // time
    put(s, 0x21, 2);    // date: 1980-01-01
    put(s, crc, 4);
    put(s, data.size(), 4);
    put(s, size, 4);
    put(s, name.size(), 2);
    put(s, 0, 2);  // extra length
  };
  std::string zip;
  put(zip, 0x04034b50, 4);
  common(zip);
  zip += name;
  zip += data;
  size_t central_at = zip.size();
  put(zip, 0x02014b50, 4);
  put(zip, 20, 2);  // version made by
  common(zip);
  put(zip, 0, 2);  // comment length
  put(zip, 0, 2);  // disk number
  put(zip, 0, 2);  // internal attributes
  put(zip, 0, 4);  // external attributes
  put(zip, 0, 4);  // local header offset
  zip += name;
  size_t central_size = zip.size() - central_at;
  put(zip, 0x06054b50, 4);
  put(zip, 0, 2);
  put(zip, 0, 2);
  put(zip, 1, 2);
  put(zip, 1, 2);
  put(zip, central_size, 4);
  put(zip, central_at, 4);
  put(zip, 0, 2);
  return zip;
}

std::string RawDeflate(const std::string& data, int level) {
  z_stream z{};
  if (deflateInit2(&z, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2");
  }
  std::string out(deflateBound(&z, data.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_FINISH);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate");
  out.resize(z.total_out);
  return out;
}

uint32_t Crc32(const std::string& data) {
  return static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFileOrDie(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

Result<std::string> Gunzip(const std::string& gz) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) return Internal("inflateInit2");
  std::string out;
  char buf[65536];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  z.avail_in = static_cast<uInt>(gz.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&z);
      return InvalidArgument("not gzip");
    }
    out.append(buf, sizeof buf - z.avail_out);
  }
  inflateEnd(&z);
  return out;
}

}  // namespace sigil::upload::testing
