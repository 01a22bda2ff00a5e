// Uploads and file uploads of the PostgreSQL backend.
#include "common/clock.h"
#include "db/postgres/pg_database_impl.h"

namespace sigil::db::postgres {
namespace {

constexpr int64_t kMaxPage = 10000;

enum KeyKind : int64_t { kStored = 0, kSkipped = 1, kIgnored = 2 };

// One statement per upload row, its lists included, so a read sees one snapshot.
constexpr char kUploadQuery[] =
    "SELECT u.id, u.user_id, users.email, u.filename, u.size, u.bucket_name, u.download_url, "
    "u.redirect_urls, u.try_symbols, u.content_hash, u.created_at, u.completed_at, "
    "ARRAY(SELECT k.key FROM upload_keys k WHERE k.upload_id = u.id AND k.kind = 0 ORDER BY k.id), "
    "ARRAY(SELECT k.key FROM upload_keys k WHERE k.upload_id = u.id AND k.kind = 1 ORDER BY k.id), "
    "ARRAY(SELECT k.key FROM upload_keys k WHERE k.upload_id = u.id AND k.kind = 2 ORDER BY k.id) "
    "FROM uploads u JOIN users ON users.id = u.user_id";

constexpr char kFileUploadColumns[] =
    "SELECT id, upload_id, bucket_name, key, size, compressed, is_update, debug_filename, "
    "debug_id, code_file, code_id, generator, created_at, completed_at FROM file_uploads ";

Result<Upload> ReadUpload(const PgResult& r, int row) {
  Upload u;
  u.id = r.Int(row, 0);
  u.user_id = r.Int(row, 1);
  u.user_email = r.Text(row, 2);
  u.filename = r.Text(row, 3);
  u.size = static_cast<uint64_t>(r.Int(row, 4));
  u.bucket_name = r.Text(row, 5);
  u.download_url = r.OptionalText(row, 6);
  SIGIL_ASSIGN_OR_RETURN(u.redirect_urls, r.TextArray(row, 7));
  u.try_symbols = r.Bool(row, 8);
  u.content_hash = r.Text(row, 9);
  u.created_at = r.Int(row, 10);
  u.completed_at = r.OptionalInt(row, 11);
  SIGIL_ASSIGN_OR_RETURN(u.stored_keys, r.TextArray(row, 12));
  SIGIL_ASSIGN_OR_RETURN(u.skipped_keys, r.TextArray(row, 13));
  SIGIL_ASSIGN_OR_RETURN(u.ignored_keys, r.TextArray(row, 14));
  return u;
}

// Appends `keys` of one kind, in order.
Status InsertKeys(PgConnection& conn, int64_t upload_id, KeyKind kind,
                  const std::vector<std::string>& keys) {
  if (keys.empty()) return Status::Ok();
  return conn
      .Query(
          "INSERT INTO upload_keys (upload_id, kind, key) "
          "SELECT $1, $2, k FROM unnest($3::text[]) WITH ORDINALITY AS t(k, n) ORDER BY n",
          Params().Add(upload_id).Add(int64_t{kind}).AddTextArray(keys))
      .status();
}

// Inserts one file_uploads row (created_at now when 0) in one statement, only if its upload (when
// given) exists (kNotFound otherwise); its id.
Result<int64_t> InsertFileUpload(PgConnection& conn, const FileUpload& file) {
  TimestampMicros created_at = file.created_at != 0 ? file.created_at : NowMicros();
  SIGIL_ASSIGN_OR_RETURN(
      PgResult r,
      conn.Query("INSERT INTO file_uploads (upload_id, bucket_name, key, size, compressed, "
                 "is_update, debug_filename, debug_id, code_file, code_id, generator, "
                 "created_at, completed_at) "
                 "SELECT $1::bigint, $2::text, $3::text, $4::bigint, $5::boolean, $6::boolean, "
                 "$7::text, $8::text, $9::text, $10::text, $11::text, $12::bigint, $13::bigint "
                 "WHERE $1::bigint IS NULL OR EXISTS (SELECT 1 FROM uploads WHERE id = $1::bigint) "
                 "RETURNING id",
                 Params()
                     .Add(file.upload_id)
                     .Add(file.bucket_name)
                     .Add(file.key)
                     .Add(static_cast<int64_t>(file.size))
                     .Add(file.compressed)
                     .Add(file.update)
                     .Add(file.debug_filename)
                     .Add(file.debug_id)
                     .Add(file.code_file)
                     .Add(file.code_id)
                     .Add(file.generator)
                     .Add(created_at)
                     .Add(file.completed_at)));
  if (r.rows() == 0) return NotFound("upload " + std::to_string(*file.upload_id) + " not found");
  return r.Int(0, 0);
}

FileUpload ReadFileUpload(const PgResult& r, int row) {
  FileUpload f;
  f.id = r.Int(row, 0);
  f.upload_id = r.OptionalInt(row, 1);
  f.bucket_name = r.Text(row, 2);
  f.key = r.Text(row, 3);
  f.size = static_cast<uint64_t>(r.Int(row, 4));
  f.compressed = r.Bool(row, 5);
  f.update = r.Bool(row, 6);
  f.debug_filename = r.Text(row, 7);
  f.debug_id = r.Text(row, 8);
  f.code_file = r.Text(row, 9);
  f.code_id = r.Text(row, 10);
  f.generator = r.Text(row, 11);
  f.created_at = r.Int(row, 12);
  f.completed_at = r.OptionalInt(row, 13);
  return f;
}

}  // namespace

Result<int64_t> PostgresDatabase::CreateUpload(const Upload& upload) {
  int64_t id = 0;
  TimestampMicros created_at = upload.created_at != 0 ? upload.created_at : NowMicros();
  Status status = Write([&](PgConnection& conn) -> Status {
    SIGIL_ASSIGN_OR_RETURN(PgResult user, conn.Query("SELECT 1 FROM users WHERE id = $1",
                                                     Params().Add(upload.user_id)));
    if (user.rows() == 0) return NotFound("user " + std::to_string(upload.user_id) + " not found");
    SIGIL_ASSIGN_OR_RETURN(
        PgResult r,
        conn.Query("INSERT INTO uploads (user_id, filename, size, bucket_name, download_url, "
                   "redirect_urls, try_symbols, content_hash, created_at, completed_at) "
                   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                   Params()
                       .Add(upload.user_id)
                       .Add(upload.filename)
                       .Add(static_cast<int64_t>(upload.size))
                       .Add(upload.bucket_name)
                       .Add(upload.download_url)
                       .AddTextArray(upload.redirect_urls)
                       .Add(upload.try_symbols)
                       .Add(upload.content_hash)
                       .Add(created_at)
                       .Add(upload.completed_at)));
    id = r.Int(0, 0);
    SIGIL_RETURN_IF_ERROR(InsertKeys(conn, id, kStored, upload.stored_keys));
    SIGIL_RETURN_IF_ERROR(InsertKeys(conn, id, kSkipped, upload.skipped_keys));
    return InsertKeys(conn, id, kIgnored, upload.ignored_keys);
  });
  SIGIL_RETURN_IF_ERROR(status);
  return id;
}

Status PostgresDatabase::CompleteUpload(int64_t upload_id,
                                        const std::vector<std::string>& skipped_keys,
                                        const std::vector<std::string>& ignored_keys,
                                        TimestampMicros completed_at) {
  return Write([&](PgConnection& conn) -> Status {
    SIGIL_ASSIGN_OR_RETURN(PgResult r,
                           conn.Query("UPDATE uploads SET completed_at = $1 WHERE id = $2",
                                      Params().Add(completed_at).Add(upload_id)));
    if (r.affected() == 0) return NotFound("upload " + std::to_string(upload_id) + " not found");
    SIGIL_RETURN_IF_ERROR(conn.Query("DELETE FROM upload_keys WHERE upload_id = $1 AND kind <> 0",
                                     Params().Add(upload_id))
                              .status());
    SIGIL_RETURN_IF_ERROR(InsertKeys(conn, upload_id, kSkipped, skipped_keys));
    return InsertKeys(conn, upload_id, kIgnored, ignored_keys);
  });
}

Result<Upload> PostgresDatabase::GetUpload(int64_t id) {
  Result<Upload> found = NotFound("upload " + std::to_string(id) + " not found");
  Status status = Read([&](PgConnection& conn) -> Status {
    SIGIL_ASSIGN_OR_RETURN(
        PgResult r, conn.Query(std::string(kUploadQuery) + " WHERE u.id = $1", Params().Add(id)));
    if (r.rows() > 0) found = ReadUpload(r, 0);
    return Status::Ok();
  });
  SIGIL_RETURN_IF_ERROR(status);
  return found;
}

Result<std::vector<Upload>> PostgresDatabase::ListUploads(int64_t limit, int64_t offset) {
  if (limit < 1 || limit > kMaxPage) {
    return InvalidArgument("limit must be between 1 and " + std::to_string(kMaxPage));
  }
  if (offset < 0) return InvalidArgument("offset must not be negative");
  std::vector<Upload> uploads;
  Status status = Read([&](PgConnection& conn) -> Status {
    uploads.clear();
    SIGIL_ASSIGN_OR_RETURN(
        PgResult r, conn.Query(std::string(kUploadQuery) +
                                   " ORDER BY u.created_at DESC, u.id DESC LIMIT $1 OFFSET $2",
                               Params().Add(limit).Add(offset)));
    for (int i = 0; i < r.rows(); ++i) {
      SIGIL_ASSIGN_OR_RETURN(Upload upload, ReadUpload(r, i));
      uploads.push_back(std::move(upload));
    }
    return Status::Ok();
  });
  SIGIL_RETURN_IF_ERROR(status);
  return uploads;
}

Result<int64_t> PostgresDatabase::AddFileUpload(const FileUpload& file) {
  int64_t id = 0;
  Status status = WriteOne([&](PgConnection& conn) -> Status {
    SIGIL_ASSIGN_OR_RETURN(id, InsertFileUpload(conn, file));
    return Status::Ok();
  });
  SIGIL_RETURN_IF_ERROR(status);
  return id;
}

Result<std::vector<int64_t>> PostgresDatabase::RecordStoredFiles(
    int64_t upload_id, const std::vector<FileUpload>& files) {
  std::vector<int64_t> ids;
  Status status = Write([&](PgConnection& conn) -> Status {
    ids.clear();
    // Each row's insert checks the upload too; this says so for an empty list as well.
    SIGIL_ASSIGN_OR_RETURN(
        PgResult r, conn.Query("SELECT 1 FROM uploads WHERE id = $1", Params().Add(upload_id)));
    if (r.rows() == 0) return NotFound("upload " + std::to_string(upload_id) + " not found");
    std::vector<std::string> keys;
    for (FileUpload file : files) {
      file.upload_id = upload_id;
      SIGIL_ASSIGN_OR_RETURN(int64_t id, InsertFileUpload(conn, file));
      ids.push_back(id);
      keys.push_back(file.key);
    }
    return InsertKeys(conn, upload_id, kStored, keys);
  });
  SIGIL_RETURN_IF_ERROR(status);
  return ids;
}

Result<std::vector<FileUpload>> PostgresDatabase::ListFileUploads(int64_t upload_id) {
  std::vector<FileUpload> files;
  Status status = Read([&](PgConnection& conn) -> Status {
    files.clear();
    SIGIL_ASSIGN_OR_RETURN(
        PgResult r, conn.Query(std::string(kFileUploadColumns) + "WHERE upload_id = $1 ORDER BY id",
                               Params().Add(upload_id)));
    for (int i = 0; i < r.rows(); ++i) files.push_back(ReadFileUpload(r, i));
    return Status::Ok();
  });
  SIGIL_RETURN_IF_ERROR(status);
  return files;
}

Result<FileUpload> PostgresDatabase::FindLatestFileUpload(const char* where, const std::string& a,
                                                          const std::string& b,
                                                          const std::string& what) {
  Result<FileUpload> found = NotFound(what + " not found");
  if (a.empty() || b.empty()) return found;  // an empty field would match unrelated rows
  Status status = Read([&](PgConnection& conn) -> Status {
    SIGIL_ASSIGN_OR_RETURN(PgResult r, conn.Query(std::string(kFileUploadColumns) + where +
                                                      " ORDER BY created_at DESC, id DESC LIMIT 1",
                                                  Params().Add(a).Add(b)));
    if (r.rows() > 0) found = ReadFileUpload(r, 0);
    return Status::Ok();
  });
  SIGIL_RETURN_IF_ERROR(status);
  return found;
}

Result<FileUpload> PostgresDatabase::FindSymbolByDebugId(const std::string& debug_filename,
                                                         const std::string& debug_id) {
  return FindLatestFileUpload("WHERE debug_filename = $1 AND debug_id = $2", debug_filename,
                              debug_id, "symbol " + debug_filename + "/" + debug_id);
}

Result<FileUpload> PostgresDatabase::FindSymbolByCodeId(const std::string& code_file,
                                                        const std::string& code_id) {
  return FindLatestFileUpload("WHERE code_file = $1 AND code_id = $2", code_file, code_id,
                              "symbol with code file " + code_file + "/" + code_id);
}

}  // namespace sigil::db::postgres
