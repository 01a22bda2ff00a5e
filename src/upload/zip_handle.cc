#include "upload/zip_handle.h"

namespace sigil::upload {

Result<ZipHandle> ZipHandle::Open(const ArchiveFile& archive) {
  // libzip reads "to the end of the file" for a length of 0, so an empty range is refused here.
  if (archive.length == 0) return InvalidArgument("File is not a zip file");
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_file_create(archive.path.c_str(), archive.offset,
                                                static_cast<zip_int64_t>(archive.length), &error);
  if (source == nullptr) {
    std::string message = zip_error_strerror(&error);
    zip_error_fini(&error);
    return Internal("opening archive " + archive.path + ": " + message);
  }
  zip_t* zip = zip_open_from_source(source, ZIP_RDONLY, &error);
  if (zip == nullptr) {
    zip_source_free(source);
    zip_error_fini(&error);
    return InvalidArgument("File is not a zip file");
  }
  zip_error_fini(&error);
  return ZipHandle(zip);
}

}  // namespace sigil::upload
