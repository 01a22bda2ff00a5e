#include "download/object_body.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "storage/object_store.h"

namespace sigil::download {

struct ObjectBody::Inflater {
  z_stream zs{};
  std::vector<unsigned char> in = std::vector<unsigned char>(64 * 1024);
  bool input_done = false;
  bool stream_end = false;  // the last member ended and no input follows
  bool initialized = false;

  ~Inflater() {
    if (initialized) inflateEnd(&zs);
  }
};

ObjectBody::ObjectBody(storage::ObjectStore& store, std::string key, bool gunzip, uint64_t offset,
                       std::optional<uint64_t> length)
    : store_(store), key_(std::move(key)), gunzip_(gunzip), skip_(offset), remaining_(length) {}

ObjectBody::~ObjectBody() = default;

Status ObjectBody::Open() {
  opened_ = true;
  auto r = store_.Get(key_);
  if (!r.ok()) return r.status().WithContext("opening " + key_);
  reader_ = std::move(r).value();
  if (gunzip_) {
    inflater_ = std::make_unique<Inflater>();
    if (inflateInit2(&inflater_->zs, 16 + MAX_WBITS) != Z_OK)
      return Internal("inflateInit2 failed");
    inflater_->initialized = true;
  }
  return Status::Ok();
}

Result<size_t> ObjectBody::ReadStream(char* buf, size_t size) {
  if (!gunzip_) return reader_->Read(buf, size);
  Inflater& f = *inflater_;
  if (f.stream_end) return size_t{0};
  f.zs.next_out = reinterpret_cast<unsigned char*>(buf);
  const size_t cap = std::min<size_t>(size, size_t{1} << 30);
  f.zs.avail_out = static_cast<uInt>(cap);
  while (f.zs.avail_out > 0) {
    if (f.zs.avail_in == 0 && !f.input_done) {
      auto n = reader_->Read(reinterpret_cast<char*>(f.in.data()), f.in.size());
      if (!n.ok()) return n.status().WithContext("reading " + key_);
      if (*n == 0) {
        f.input_done = true;
      } else {
        f.zs.next_in = f.in.data();
        f.zs.avail_in = static_cast<uInt>(*n);
      }
    }
    int rc = inflate(&f.zs, Z_NO_FLUSH);
    if (rc == Z_STREAM_END) {
      // Another member may follow (concatenated gzip).
      if (f.zs.avail_in == 0) {
        auto n = reader_->Read(reinterpret_cast<char*>(f.in.data()), f.in.size());
        if (!n.ok()) return n.status().WithContext("reading " + key_);
        if (*n == 0) {
          f.input_done = true;
          f.stream_end = true;
          break;
        }
        f.zs.next_in = f.in.data();
        f.zs.avail_in = static_cast<uInt>(*n);
      }
      if (inflateReset(&f.zs) != Z_OK) return Internal("inflateReset failed");
      continue;
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR) {  // no progress possible: needs input
      if (f.input_done) return Internal("stored gzip data of " + key_ + " is truncated");
      continue;
    }
    return Internal("stored gzip data of " + key_ +
                    " is corrupt: " + (f.zs.msg ? f.zs.msg : "inflate error"));
  }
  return cap - f.zs.avail_out;
}

Result<size_t> ObjectBody::Read(char* buf, size_t size) {
  if (!opened_) SIGIL_RETURN_IF_ERROR(Open());
  if (!reader_) return Internal("object body of " + key_ + " failed to open");
  if (size == 0 || (remaining_ && *remaining_ == 0)) return size_t{0};
  // Drop the bytes before the window.
  while (skip_ > 0) {
    size_t chunk = static_cast<size_t>(std::min<uint64_t>(skip_, size));
    auto n = ReadStream(buf, chunk);
    if (!n.ok()) return n.status();
    if (*n == 0) return Internal(key_ + " ended before the requested range");
    skip_ -= *n;
  }
  size_t want = remaining_ ? static_cast<size_t>(std::min<uint64_t>(*remaining_, size)) : size;
  size_t got = 0;
  while (got < want) {
    auto n = ReadStream(buf + got, want - got);
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    got += *n;
  }
  if (remaining_) {
    if (got == 0) return Internal(key_ + " ended before the requested range");
    *remaining_ -= got;
  }
  return got;
}

}  // namespace sigil::download
