#include "db/database.h"

#include "common/hashing.h"

namespace sigil::db {

std::string MissingSymbolHash(const MissingSymbolHit& hit) {
  std::string joined;
  for (const std::string* f :
       {&hit.debug_file, &hit.debug_id, &hit.filename, &hit.code_file, &hit.code_id}) {
    joined += *f;  // empty fields still contribute their separator so fields cannot shift
    joined += '|';
  }
  return Sha256Hex(joined);
}

}  // namespace sigil::db
