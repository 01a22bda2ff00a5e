#include "upload/staged_object.h"

#include <algorithm>

namespace sigil::upload {

bool MemoryBudget::TryReserve(uint64_t n) {
  uint64_t used = used_.load(std::memory_order_relaxed);
  do {
    if (used + n > limit_) return false;
  } while (!used_.compare_exchange_weak(used, used + n, std::memory_order_relaxed));
  return true;
}

StagedObject::StagedObject(MemoryBudget& budget, std::string tmp_dir, uint64_t max_in_memory)
    : budget_(budget), tmp_dir_(std::move(tmp_dir)), max_in_memory_(max_in_memory) {}

StagedObject::StagedObject(MemoryBudget& budget, std::unique_ptr<storage::PendingObject> pending)
    : budget_(budget), max_in_memory_(0), pending_(std::move(pending)) {}

StagedObject::~StagedObject() { budget_.Release(reserved_); }

void StagedObject::Expect(uint64_t bytes) {
  if (pending_ || file_ || bytes <= reserved_ || bytes > max_in_memory_) return;
  if (!budget_.TryReserve(bytes - reserved_)) return;
  reserved_ = bytes;
  memory_.reserve(bytes);
}

Status StagedObject::Append(std::string_view data) {
  size_ += data.size();
  if (pending_) return pending_->Append(data);
  if (!file_) {
    uint64_t need = memory_.size() + data.size();
    if (need <= max_in_memory_) {
      if (need <= reserved_) {
        memory_.append(data);
        return Status::Ok();
      }
      // Reserve in steps so the budget is not consulted for every chunk.
      uint64_t want = std::min<uint64_t>(max_in_memory_, std::max<uint64_t>(need, reserved_ * 2));
      if (budget_.TryReserve(want - reserved_)) {
        reserved_ = want;
        memory_.append(data);
        return Status::Ok();
      }
    }
    // Spill to a temp file.
    SIGIL_ASSIGN_OR_RETURN(TempFile file, TempFile::Create(tmp_dir_, "stage-"));
    file_.emplace(std::move(file));
    SIGIL_RETURN_IF_ERROR(file_->Append(memory_));
    std::string().swap(memory_);
    budget_.Release(reserved_);
    reserved_ = 0;
  }
  return file_->Append(data);
}

Status StagedObject::Finish() {
  if (pending_) return pending_->Finish();
  if (file_) return file_->Close();
  return Status::Ok();
}

}  // namespace sigil::upload
