// Uploads and file uploads of the SQLite backend.
#include "common/clock.h"
#include "db/sqlite/sqlite_database_impl.h"

namespace sigil::db::sqlite {
namespace {

constexpr int64_t kMaxPage = 10000;

enum KeyKind : int64_t { kStored = 0, kSkipped = 1, kIgnored = 2 };

constexpr char kUploadQuery[] =
    "SELECT u.id, u.user_id, users.email, u.filename, u.size, u.bucket_name, u.download_url, "
    "u.redirect_urls, u.try_symbols, u.content_hash, u.created_at, u.completed_at "
    "FROM uploads u JOIN users ON users.id = u.user_id";

constexpr char kFileUploadColumns[] =
    "SELECT id, upload_id, bucket_name, key, size, compressed, is_update, debug_filename, "
    "debug_id, code_file, code_id, generator, created_at, completed_at FROM file_uploads ";

Result<Upload> ReadUpload(const Statement& stmt) {
  Upload u;
  u.id = stmt.Int(0);
  u.user_id = stmt.Int(1);
  u.user_email = stmt.Text(2);
  u.filename = stmt.Text(3);
  u.size = static_cast<uint64_t>(stmt.Int(4));
  u.bucket_name = stmt.Text(5);
  u.download_url = stmt.OptionalText(6);
  SIGIL_ASSIGN_OR_RETURN(u.redirect_urls, FromJsonList(stmt.Text(7), "uploads.redirect_urls"));
  u.try_symbols = stmt.Int(8) != 0;
  u.content_hash = stmt.Text(9);
  u.created_at = stmt.Int(10);
  u.completed_at = stmt.OptionalInt(11);
  return u;
}

// Fills the stored/skipped/ignored lists of `upload` from upload_keys.
Status ReadUploadKeys(Connection& conn, Upload& upload) {
  SIGIL_ASSIGN_OR_RETURN(
      Statement stmt,
      conn.Prepare("SELECT kind, key FROM upload_keys WHERE upload_id = ? ORDER BY id"));
  stmt.Bind(1, upload.id);
  while (true) {
    SIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return Status::Ok();
    switch (stmt.Int(0)) {
      case kStored:
        upload.stored_keys.push_back(stmt.Text(1));
        break;
      case kSkipped:
        upload.skipped_keys.push_back(stmt.Text(1));
        break;
      default:
        upload.ignored_keys.push_back(stmt.Text(1));
        break;
    }
  }
}

Status InsertKeys(Connection& conn, int64_t upload_id, KeyKind kind,
                  const std::vector<std::string>& keys) {
  for (const std::string& key : keys) {
    SIGIL_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("INSERT INTO upload_keys (upload_id, kind, key) VALUES (?, ?, ?)"));
    stmt.Bind(1, upload_id).Bind(2, int64_t{kind}).Bind(3, key);
    SIGIL_RETURN_IF_ERROR(stmt.Run());
  }
  return Status::Ok();
}

Status CheckUpload(Connection& conn, int64_t upload_id) {
  SIGIL_ASSIGN_OR_RETURN(Statement stmt, conn.Prepare("SELECT 1 FROM uploads WHERE id = ?"));
  stmt.Bind(1, upload_id);
  SIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
  return row ? Status::Ok() : NotFound("upload " + std::to_string(upload_id) + " not found");
}

FileUpload ReadFileUpload(const Statement& stmt) {
  FileUpload f;
  f.id = stmt.Int(0);
  f.upload_id = stmt.OptionalInt(1);
  f.bucket_name = stmt.Text(2);
  f.key = stmt.Text(3);
  f.size = static_cast<uint64_t>(stmt.Int(4));
  f.compressed = stmt.Int(5) != 0;
  f.update = stmt.Int(6) != 0;
  f.debug_filename = stmt.Text(7);
  f.debug_id = stmt.Text(8);
  f.code_file = stmt.Text(9);
  f.code_id = stmt.Text(10);
  f.generator = stmt.Text(11);
  f.created_at = stmt.Int(12);
  f.completed_at = stmt.OptionalInt(13);
  return f;
}

// Inserts one file_uploads row (created_at now when 0); its id.
Result<int64_t> InsertFileUpload(Connection& conn, const FileUpload& file) {
  SIGIL_ASSIGN_OR_RETURN(
      Statement stmt,
      conn.Prepare("INSERT INTO file_uploads (upload_id, bucket_name, key, size, compressed, "
                   "is_update, debug_filename, debug_id, code_file, code_id, generator, "
                   "created_at, completed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  stmt.BindOptional(1, file.upload_id)
      .Bind(2, file.bucket_name)
      .Bind(3, file.key)
      .Bind(4, static_cast<int64_t>(file.size))
      .Bind(5, int64_t{file.compressed ? 1 : 0})
      .Bind(6, int64_t{file.update ? 1 : 0})
      .Bind(7, file.debug_filename)
      .Bind(8, file.debug_id)
      .Bind(9, file.code_file)
      .Bind(10, file.code_id)
      .Bind(11, file.generator)
      .Bind(12, file.created_at != 0 ? file.created_at : NowMicros())
      .BindOptional(13, file.completed_at);
  SIGIL_RETURN_IF_ERROR(stmt.Run());
  return conn.LastInsertRowid();
}

}  // namespace

Result<int64_t> SqliteDatabase::CreateUpload(const Upload& upload) {
  int64_t id = 0;
  TimestampMicros created_at = upload.created_at != 0 ? upload.created_at : NowMicros();
  Status status = Write([&](Connection& conn) -> Status {
    SIGIL_ASSIGN_OR_RETURN(Statement user, conn.Prepare("SELECT 1 FROM users WHERE id = ?"));
    user.Bind(1, upload.user_id);
    SIGIL_ASSIGN_OR_RETURN(bool user_exists, user.Step());
    if (!user_exists) return NotFound("user " + std::to_string(upload.user_id) + " not found");
    SIGIL_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("INSERT INTO uploads (user_id, filename, size, bucket_name, download_url, "
                     "redirect_urls, try_symbols, content_hash, created_at, completed_at) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    stmt.Bind(1, upload.user_id)
        .Bind(2, upload.filename)
        .Bind(3, static_cast<int64_t>(upload.size))
        .Bind(4, upload.bucket_name)
        .BindOptional(5, upload.download_url)
        .Bind(6, ToJsonList(upload.redirect_urls))
        .Bind(7, int64_t{upload.try_symbols ? 1 : 0})
        .Bind(8, upload.content_hash)
        .Bind(9, created_at)
        .BindOptional(10, upload.completed_at);
    SIGIL_RETURN_IF_ERROR(stmt.Run());
    id = conn.LastInsertRowid();
    SIGIL_RETURN_IF_ERROR(InsertKeys(conn, id, kStored, upload.stored_keys));
    SIGIL_RETURN_IF_ERROR(InsertKeys(conn, id, kSkipped, upload.skipped_keys));
    return InsertKeys(conn, id, kIgnored, upload.ignored_keys);
  });
  if (!status.ok()) return status;
  return id;
}

Status SqliteDatabase::CompleteUpload(int64_t upload_id,
                                      const std::vector<std::string>& skipped_keys,
                                      const std::vector<std::string>& ignored_keys,
                                      TimestampMicros completed_at) {
  return Write([&](Connection& conn) -> Status {
    SIGIL_ASSIGN_OR_RETURN(Statement stmt,
                           conn.Prepare("UPDATE uploads SET completed_at = ? WHERE id = ?"));
    stmt.Bind(1, completed_at).Bind(2, upload_id);
    SIGIL_RETURN_IF_ERROR(stmt.Run());
    if (conn.Changes() == 0) return NotFound("upload " + std::to_string(upload_id) + " not found");
    SIGIL_ASSIGN_OR_RETURN(
        Statement clear, conn.Prepare("DELETE FROM upload_keys WHERE upload_id = ? AND kind <> 0"));
    clear.Bind(1, upload_id);
    SIGIL_RETURN_IF_ERROR(clear.Run());
    SIGIL_RETURN_IF_ERROR(InsertKeys(conn, upload_id, kSkipped, skipped_keys));
    return InsertKeys(conn, upload_id, kIgnored, ignored_keys);
  });
}

Result<Upload> SqliteDatabase::GetUpload(int64_t id) {
  Result<Upload> found = NotFound("upload " + std::to_string(id) + " not found");
  Status status = Read(
      [&](Connection& conn) -> Status {
        SIGIL_ASSIGN_OR_RETURN(Statement stmt,
                               conn.Prepare(std::string(kUploadQuery) + " WHERE u.id = ?"));
        stmt.Bind(1, id);
        SIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
        if (!row) return Status::Ok();
        SIGIL_ASSIGN_OR_RETURN(Upload upload, ReadUpload(stmt));
        SIGIL_RETURN_IF_ERROR(ReadUploadKeys(conn, upload));
        found = std::move(upload);
        return Status::Ok();
      },
      /*snapshot=*/true);
  if (!status.ok()) return status;
  return found;
}

Result<std::vector<Upload>> SqliteDatabase::ListUploads(int64_t limit, int64_t offset) {
  if (limit < 1 || limit > kMaxPage) {
    return InvalidArgument("limit must be between 1 and " + std::to_string(kMaxPage));
  }
  if (offset < 0) return InvalidArgument("offset must not be negative");
  std::vector<Upload> uploads;
  Status status = Read(
      [&](Connection& conn) -> Status {
        uploads.clear();
        {
          SIGIL_ASSIGN_OR_RETURN(
              Statement stmt,
              conn.Prepare(std::string(kUploadQuery) +
                           " ORDER BY u.created_at DESC, u.id DESC LIMIT ? OFFSET ?"));
          stmt.Bind(1, limit).Bind(2, offset);
          while (true) {
            SIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
            if (!row) break;
            SIGIL_ASSIGN_OR_RETURN(Upload upload, ReadUpload(stmt));
            uploads.push_back(std::move(upload));
          }
        }
        for (Upload& upload : uploads) SIGIL_RETURN_IF_ERROR(ReadUploadKeys(conn, upload));
        return Status::Ok();
      },
      /*snapshot=*/true);
  if (!status.ok()) return status;
  return uploads;
}

Result<int64_t> SqliteDatabase::AddFileUpload(const FileUpload& file) {
  int64_t id = 0;
  Status status = Write([&](Connection& conn) -> Status {
    if (file.upload_id) SIGIL_RETURN_IF_ERROR(CheckUpload(conn, *file.upload_id));
    SIGIL_ASSIGN_OR_RETURN(id, InsertFileUpload(conn, file));
    return Status::Ok();
  });
  if (!status.ok()) return status;
  return id;
}

Result<std::vector<int64_t>> SqliteDatabase::RecordStoredFiles(
    int64_t upload_id, const std::vector<FileUpload>& files) {
  std::vector<int64_t> ids;
  Status status = Write([&](Connection& conn) -> Status {
    ids.clear();
    SIGIL_RETURN_IF_ERROR(CheckUpload(conn, upload_id));
    std::vector<std::string> keys;
    for (FileUpload file : files) {
      file.upload_id = upload_id;
      SIGIL_ASSIGN_OR_RETURN(int64_t id, InsertFileUpload(conn, file));
      ids.push_back(id);
      keys.push_back(file.key);
    }
    return InsertKeys(conn, upload_id, kStored, keys);
  });
  if (!status.ok()) return status;
  return ids;
}

Result<std::vector<FileUpload>> SqliteDatabase::ListFileUploads(int64_t upload_id) {
  std::vector<FileUpload> files;
  Status status = Read([&](Connection& conn) -> Status {
    SIGIL_ASSIGN_OR_RETURN(Statement stmt, conn.Prepare(std::string(kFileUploadColumns) +
                                                        "WHERE upload_id = ? ORDER BY id"));
    stmt.Bind(1, upload_id);
    while (true) {
      SIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return Status::Ok();
      files.push_back(ReadFileUpload(stmt));
    }
  });
  if (!status.ok()) return status;
  return files;
}

Result<FileUpload> SqliteDatabase::FindLatestFileUpload(const char* where, const std::string& a,
                                                        const std::string& b,
                                                        const std::string& what) {
  Result<FileUpload> found = NotFound(what + " not found");
  if (a.empty() || b.empty()) return found;  // an empty field would match unrelated rows
  Status status = Read([&](Connection& conn) -> Status {
    SIGIL_ASSIGN_OR_RETURN(Statement stmt,
                           conn.Prepare(std::string(kFileUploadColumns) + where +
                                        " ORDER BY created_at DESC, id DESC LIMIT 1"));
    stmt.Bind(1, a).Bind(2, b);
    SIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (row) found = ReadFileUpload(stmt);
    return Status::Ok();
  });
  if (!status.ok()) return status;
  return found;
}

Result<FileUpload> SqliteDatabase::FindSymbolByDebugId(const std::string& debug_filename,
                                                       const std::string& debug_id) {
  return FindLatestFileUpload("WHERE debug_filename = ? AND debug_id = ?", debug_filename, debug_id,
                              "symbol " + debug_filename + "/" + debug_id);
}

Result<FileUpload> SqliteDatabase::FindSymbolByCodeId(const std::string& code_file,
                                                      const std::string& code_id) {
  return FindLatestFileUpload("WHERE code_file = ? AND code_id = ?", code_file, code_id,
                              "symbol with code file " + code_file + "/" + code_id);
}

}  // namespace sigil::db::sqlite
