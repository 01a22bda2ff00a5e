#include "upload/member_work.h"

namespace sigil::upload {

Status StorageError(const Status& s, std::string_view what, std::string_view key) {
  return Internal(std::string(what) + " " + std::string(key) + ": " + s.ToString());
}

void MemberScan::Finish(MemberWork& work) {
  if (hash_) work.md5 = md5_.FinishHex();
  if (is_sym_) {
    auto header = ParseSymHeader(prefix_, work.member->size <= prefix_.size());
    if (header.ok()) work.header = std::move(header).value();
  }
}

bool MemberWork::SameAs(const storage::ObjectInfo& info) const {
  auto meta = [&info](const char* k) -> std::string {
    auto it = info.metadata.find(k);
    return it == info.metadata.end() ? "" : it->second;
  };
  std::string size = std::to_string(member->size);
  if (compress)
    return meta("original_size") == size && !md5.empty() && meta("original_md5_hash") == md5;
  return meta("original_size") == size || info.size == member->size;
}

}  // namespace sigil::upload
