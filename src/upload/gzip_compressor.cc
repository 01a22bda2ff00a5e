#include "upload/gzip_compressor.h"

#include <isa-l/igzip_lib.h>
#include <zlib.h>

#include <algorithm>
#include <vector>

namespace sigil::upload {
namespace {

constexpr size_t kOutChunk = 256 * 1024;
// Input is fed to the libraries in slices of this size (their counters are 32-bit).
constexpr size_t kInSlice = 1u << 30;

class IsalCompressor final : public GzipCompressor {
 public:
  IsalCompressor(int level, GzipSink sink) : sink_(std::move(sink)), out_(kOutChunk) {
    isal_deflate_init(&stream_);
    stream_.level = static_cast<uint32_t>(level);
    stream_.gzip_flag = IGZIP_GZIP;
    stream_.flush = NO_FLUSH;
    if (level > 0) {
      static constexpr uint32_t kLevelBuf[] = {0, ISAL_DEF_LVL1_DEFAULT, ISAL_DEF_LVL2_DEFAULT,
                                               ISAL_DEF_LVL3_DEFAULT};
      level_buf_.resize(kLevelBuf[level]);
      stream_.level_buf = level_buf_.data();
      stream_.level_buf_size = static_cast<uint32_t>(level_buf_.size());
    }
  }

  // isal_deflate validates the level (level 3 needs CPU support) and buffer on its first call.
  Status Init() { return Run({}, false); }

  Status Write(std::string_view data) override {
    bytes_in_ += data.size();
    while (!data.empty()) {
      size_t n = std::min(data.size(), kInSlice);
      SIGIL_RETURN_IF_ERROR(Run(data.substr(0, n), false));
      data.remove_prefix(n);
    }
    return Status::Ok();
  }

  Status Finish() override { return Run({}, true); }
  Backend backend() const override { return Backend::kIsal; }
  uint64_t bytes_in() const override { return bytes_in_; }

 private:
  Status Run(std::string_view data, bool last) {
    stream_.next_in = reinterpret_cast<uint8_t*>(const_cast<char*>(data.data()));
    stream_.avail_in = static_cast<uint32_t>(data.size());
    stream_.end_of_stream = last ? 1 : 0;
    do {
      stream_.next_out = out_.data();
      stream_.avail_out = static_cast<uint32_t>(out_.size());
      int rc = isal_deflate(&stream_);
      if (rc != COMP_OK) return Internal("isal_deflate failed (" + std::to_string(rc) + ")");
      size_t produced = out_.size() - stream_.avail_out;
      if (produced > 0) {
        SIGIL_RETURN_IF_ERROR(
            sink_(std::string_view(reinterpret_cast<const char*>(out_.data()), produced)));
      }
    } while (stream_.avail_in > 0 || stream_.avail_out == 0 ||
             (last && stream_.internal_state.state != ZSTATE_END));
    return Status::Ok();
  }

  GzipSink sink_;
  isal_zstream stream_;
  std::vector<uint8_t> level_buf_;
  std::vector<uint8_t> out_;
  uint64_t bytes_in_ = 0;
};

class ZlibCompressor final : public GzipCompressor {
 public:
  ZlibCompressor(GzipSink sink) : sink_(std::move(sink)), out_(kOutChunk) {}
  ~ZlibCompressor() override {
    if (initialised_) deflateEnd(&stream_);
  }

  Status Init(int level) {
    stream_ = {};
    // windowBits 15 + 16: gzip wrapper.
    if (deflateInit2(&stream_, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      return Internal("deflateInit2 failed");
    }
    initialised_ = true;
    return Status::Ok();
  }

  Status Write(std::string_view data) override {
    bytes_in_ += data.size();
    while (!data.empty()) {
      size_t n = std::min(data.size(), kInSlice);
      SIGIL_RETURN_IF_ERROR(Run(data.substr(0, n), Z_NO_FLUSH));
      data.remove_prefix(n);
    }
    return Status::Ok();
  }
  Status Finish() override { return Run({}, Z_FINISH); }
  Backend backend() const override { return Backend::kZlib; }
  uint64_t bytes_in() const override { return bytes_in_; }

 private:
  Status Run(std::string_view data, int flush) {
    stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    stream_.avail_in = static_cast<uInt>(data.size());
    int rc = Z_OK;
    do {
      stream_.next_out = out_.data();
      stream_.avail_out = static_cast<uInt>(out_.size());
      rc = deflate(&stream_, flush);
      if (rc == Z_STREAM_ERROR) return Internal("zlib deflate failed");
      size_t produced = out_.size() - stream_.avail_out;
      if (produced > 0) {
        SIGIL_RETURN_IF_ERROR(
            sink_(std::string_view(reinterpret_cast<const char*>(out_.data()), produced)));
      }
    } while (stream_.avail_in > 0 || stream_.avail_out == 0 ||
             (flush == Z_FINISH && rc != Z_STREAM_END));
    return Status::Ok();
  }

  GzipSink sink_;
  z_stream stream_{};
  bool initialised_ = false;
  std::vector<Bytef> out_;
  uint64_t bytes_in_ = 0;
};

Result<std::unique_ptr<GzipCompressor>> MakeZlib(int level, GzipSink sink) {
  auto z = std::make_unique<ZlibCompressor>(std::move(sink));
  SIGIL_RETURN_IF_ERROR(z->Init(level));
  return std::unique_ptr<GzipCompressor>(std::move(z));
}

}  // namespace

Result<std::unique_ptr<GzipCompressor>> MakeGzipCompressor(GzipCompressor::Backend backend,
                                                           int level, GzipSink sink) {
  if (backend == GzipCompressor::Backend::kZlib) {
    if (level < 1 || level > 9) return InvalidArgument("zlib compression level must be 1..9");
    return MakeZlib(level, std::move(sink));
  }
  if (level < ISAL_DEF_MIN_LEVEL || level > ISAL_DEF_MAX_LEVEL) {
    return InvalidArgument("ISA-L compression level must be 0..3");
  }
  auto isal = std::make_unique<IsalCompressor>(level, sink);
  if (isal->Init().ok()) return std::unique_ptr<GzipCompressor>(std::move(isal));
  return MakeZlib(std::min(9, 1 + 2 * level), std::move(sink));
}

std::string_view GzipHeader() {
  static constexpr char kHeader[] = {'\x1f', '\x8b', 8, 0, 0, 0, 0, 0, 0, '\xff'};
  return std::string_view(kHeader, sizeof kHeader);
}

std::string GzipTrailer(uint32_t crc, uint64_t uncompressed_size) {
  std::string out(8, '\0');
  auto size = static_cast<uint32_t>(uncompressed_size);
  for (int i = 0; i < 4; ++i) {
    out[i] = static_cast<char>((crc >> (8 * i)) & 0xff);
    out[4 + i] = static_cast<char>((size >> (8 * i)) & 0xff);
  }
  return out;
}

Result<std::string> GzipString(std::string_view data, GzipCompressor::Backend backend, int level) {
  std::string out;
  SIGIL_ASSIGN_OR_RETURN(auto gz, MakeGzipCompressor(backend, level, [&out](std::string_view c) {
                           out.append(c);
                           return Status::Ok();
                         }));
  SIGIL_RETURN_IF_ERROR(gz->Write(data));
  SIGIL_RETURN_IF_ERROR(gz->Finish());
  return out;
}

}  // namespace sigil::upload
