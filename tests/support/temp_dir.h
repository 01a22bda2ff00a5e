// test::TempDir: a fresh directory (mkdtemp under $TMPDIR or /tmp) removed recursively on
// destruction. Plus small file helpers for tests.
#pragma once

#include <string>
#include <string_view>

namespace sigil::test {

class TempDir {
 public:
  // Creates "<$TMPDIR or /tmp>/<prefix>-XXXXXX". Aborts the test binary if that fails (nothing
  // useful can run without it).
  explicit TempDir(std::string_view prefix = "sigil-test");
  ~TempDir();  // removes the directory and everything in it
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name (name may contain '/').
  std::string Join(std::string_view name) const;
  // Writes `content` to Join(name) (creating parent directories); returns that path.
  std::string WriteFile(std::string_view name, std::string_view content) const;

 private:
  std::string path_;
};

// Whole-file helpers; ReadFile returns "" when the file cannot be read (check FileExists first).
std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, std::string_view content);
bool FileExists(const std::string& path);

}  // namespace sigil::test
